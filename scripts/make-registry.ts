/**
 * `npm run make-registry -- --count 5000 --out DIR [--seed N] [--pool N] [--portraits DIR] [--drawn] [--embed]`:
 * writes DIR/registry.ndjson (one person per line, valid GB 11643 ID numbers) and DIR/portraits/ (the
 * shared pool of registry photos: the real faces of test/fixtures/faces by default, drawn faces with --drawn,
 * which the face model does not detect; see scripts/lib/registry-fixture.ts). Start the issuer with
 * IDENTITY_REGISTRY_FILE=DIR/registry.ndjson.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { makeRegistryFixture } from "./lib/registry-fixture.js";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "2000" },
    out: { type: "string", default: "registry-fixture" },
    seed: { type: "string" },
    pool: { type: "string" },
    portraits: { type: "string" },
    drawn: { type: "boolean", default: false },
    embed: { type: "boolean", default: false },
  },
});
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1 || count > 1_000_000) {
  process.stderr.write("--count must be a whole number from 1 to 1000000\n");
  process.exit(2);
}
const started = Date.now();
const fixture = await makeRegistryFixture({
  count,
  outDir: resolve(values.out!),
  ...(values.seed ? { seed: Number(values.seed) } : {}),
  ...(values.pool ? { poolSize: Number(values.pool) } : {}),
  ...(values.portraits ? { portraitDir: resolve(values.portraits) } : {}),
  drawn: values.drawn,
  embed: values.embed,
});
process.stdout.write(JSON.stringify({ event: "registry-written", file: fixture.file, people: fixture.people.length, ms: Date.now() - started }) + "\n");
