import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository's root: the nearest folder above this module that holds `hardhat.config.ts`. Found by
 * walking up rather than by a fixed number of `..`, because the same code runs from `agent/src/` (tests,
 * tsx) and bundled from `dist/` (the compiled command lines and services), at different depths.
 */
function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "hardhat.config.ts"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no hardhat.config.ts above ${from}: not run from inside the repository`);
  }
}

export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
