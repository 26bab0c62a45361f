#!/usr/bin/env node
/**
 * `npm run build` (also the root `prepare` step of `npm install`, and run before `npm test`): bundles the
 * command lines, the services and the demo into plain JavaScript under dist/, so nothing compiles TypeScript
 * when it starts (tsx took 2-7 s per CLI command). Our own code is bundled (one file per entry plus shared
 * chunks, so a command's lazy `import()` loads only its chunk); npm packages stay external and load from
 * node_modules as usual (native ones, sharp and classic-level, cannot be bundled anyway).
 */
import { build } from "esbuild";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ENTRY_POINTS = {
  "cli/wallet": "agent/src/cli/wallet.ts",
  "cli/notary": "agent/src/cli/notary.ts",
  "cli/verify": "agent/src/cli/verify.ts",
  "issuer-service/server": "issuer-service/src/server.ts",
  "verifier-service/server": "verifier-service/src/server.ts",
  "scripts/demo": "scripts/demo.ts",
  "scripts/deploy": "scripts/deploy.ts",
};

const outdir = join(root, "dist");

/** Builds dist/ from scratch (esbuild: ~0.2 s). */
export async function buildDist() {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(Object.entries(ENTRY_POINTS).map(([out, src]) => [out, join(root, src)])),
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    // Workspace packages are our code: bundle them (their package.json points at TypeScript sources).
    alias: { "@realname/agent": join(root, "agent", "src", "index.ts") },
    chunkNames: "chunks/[name]-[hash]",
    sourcemap: "linked",
    logLevel: "warning",
  });
  mkdirSync(outdir, { recursive: true });
  writeFileSync(join(outdir, "package.json"), '{ "type": "module" }\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await buildDist();
  if (!process.argv.includes("--quiet")) process.stdout.write(`built dist/ in ${Date.now() - started} ms\n`);
}
