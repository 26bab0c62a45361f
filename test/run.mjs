// `npm test`: every test file runs in its own mocha process, a few at a time.
//
// Why a process per file: the files start real chains, servers, Chromium and a face model; one process per file
// means no file can inherit another's leftovers (a patched global, a half-closed server, a module-level cache),
// so a failure always reproduces with the file alone. Why a few at once: most of a file's time is spent waiting
// on child processes, the chain and the browser, so two or three files share two cores well.
//
// Usage: node test/run.mjs [--jobs=N] [file-or-substring ...]
//   TEST_JOBS=N sets the concurrency too (default: the number of cores, at least 2).
// Each file's output is printed whole when it finishes (never interleaved); a summary ends the run, and the
// durations are kept in test/.timings.json (not committed) so the next run starts the longest files first.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { buildDist } from "../scripts/build.mjs";

const root = join(import.meta.dirname, "..");
const timingsFile = join(root, "test", ".timings.json");

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path));
    else if (name.endsWith(".test.ts")) out.push(relative(root, path));
  }
  return out.sort();
}

const args = process.argv.slice(2);
const jobsArg = args.find((a) => a.startsWith("--jobs="));
const jobs = Math.max(1, Number(jobsArg?.slice(7) ?? process.env.TEST_JOBS ?? Math.max(2, availableParallelism())));
// No file takes near this; a hung one must not eat CI's whole budget.
const fileLimitSeconds = Number(process.env.TEST_FILE_LIMIT_SECONDS ?? 600);
const filters = args.filter((a) => !a.startsWith("--"));
let files = testFiles(join(root, "test"));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (!files.length) {
  console.error(`no test file matches ${filters.join(" ")}`);
  process.exit(2);
}

const previous = existsSync(timingsFile) ? JSON.parse(readFileSync(timingsFile, "utf8")) : {};
// Longest first (as last measured), so the run does not end waiting on one long file started last.
files.sort((a, b) => (previous[b] ?? 60_000) - (previous[a] ?? 60_000));

await buildDist();

// Detached groups outlive an interrupted runner unless it stops them.
const running = new Set();
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const pid of running) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {}
    }
    process.exit(130);
  });
}

const mocha = join(root, "node_modules", "mocha", "bin", "mocha.js");
function runFile(file) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [mocha, "--no-config", "--import=tsx", "--extension", "ts", "--timeout", "120000", "--exit", "--color", file],
      // Its own process group, so that a file stuck past its limit is stopped with everything it started.
      { cwd: root, env: { ...process.env, FORCE_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    running.add(child.pid);
    const limit = setTimeout(() => {
      chunks.push(Buffer.from(`\n[test/run.mjs] ${file} still running after ${fileLimitSeconds} s: stopped (TEST_FILE_LIMIT_SECONDS)\n`));
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, fileLimitSeconds * 1000);
    const chunks = [];
    child.stdout.on("data", (c) => chunks.push(c));
    child.stderr.on("data", (c) => chunks.push(c));
    child.on("close", (code, signal) => {
      clearTimeout(limit);
      running.delete(child.pid);
      const output = Buffer.concat(chunks).toString();
      const passing = Number(/(\d+) passing/.exec(output)?.[1] ?? 0);
      const failing = Number(/(\d+) failing/.exec(output)?.[1] ?? 0);
      const pending = Number(/(\d+) pending/.exec(output)?.[1] ?? 0);
      resolve({ file, code: code ?? 1, signal, output, ms: Date.now() - started, passing, failing, pending });
    });
  });
}

const started = Date.now();
const results = [];
const queue = [...files];
async function worker() {
  for (let file = queue.shift(); file; file = queue.shift()) {
    const result = await runFile(file);
    results.push(result);
    process.stdout.write(`\n━━ ${file} (${(result.ms / 1000).toFixed(1)} s)\n${result.output}`);
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));

const timings = { ...previous };
for (const r of results) timings[r.file] = r.ms;
try {
  writeFileSync(timingsFile, JSON.stringify(timings, null, 2) + "\n");
} catch {
  // a read-only checkout still gets its results
}

const failed = results.filter((r) => r.code !== 0);
const total = (key) => results.reduce((n, r) => n + r[key], 0);
console.log(`\n━━ summary: ${files.length} files, ${jobs} at a time, ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`   ${total("passing")} passing, ${total("failing")} failing, ${total("pending")} pending`);
for (const r of results.sort((a, b) => b.ms - a.ms).slice(0, 8)) console.log(`   ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.file}`);
for (const r of failed) {
  const why = r.signal ? `killed by ${r.signal}` : r.failing ? `${r.failing} failing` : `exit code ${r.code}`;
  console.log(`   FAILED ${r.file}: ${why}`);
}
process.exit(failed.length ? 1 : 0);
