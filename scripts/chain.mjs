#!/usr/bin/env node
/**
 * `npm run chain` (a local Hardhat chain on loopback). The port is 8545 unless `--port N` (as in
 * `npm run chain -- --port 8546`) or CHAIN_PORT says otherwise; remember to point the services at it
 * (CHAIN_RPC_URL=http://127.0.0.1:N).
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";

const args = process.argv.slice(2);
const i = args.findIndex((a) => a === "--port" || a.startsWith("--port="));
const given = i < 0 ? process.env.CHAIN_PORT : args[i].includes("=") ? args[i].slice("--port=".length) : args[i + 1];
const port = Number(given ?? 8545);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`error: the chain's port must be a number from 1 to 65535 (got ${given}) (ERR_INVALID_INPUT)\n`);
  process.exit(2);
}
const rest = i < 0 ? args : args.filter((_, k) => k !== i && (args[i].includes("=") || k !== i + 1));
const hardhat = createRequire(import.meta.url).resolve("hardhat/internal/cli/bootstrap");
const child = spawn(process.execPath, [hardhat, "node", "--hostname", "127.0.0.1", "--port", String(port), ...rest], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
