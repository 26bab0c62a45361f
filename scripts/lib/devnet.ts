/**
 * Development network orchestration shared by the demo and the end-to-end tests: an embedded Hardhat
 * chain served over real JSON-RPC, and the services started as real processes from their compiled `server.ts`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { REPO_ROOT } from "@realname/agent";

export interface EmbeddedChain {
  url: string;
  close(): Promise<void>;
}

/** Starts Hardhat's in-process network behind a JSON-RPC HTTP server on loopback (`port` 0: a free one). */
export async function startEmbeddedChain(port = 0): Promise<EmbeddedChain> {
  // Hardhat requires hardhat.config.ts (CommonJS TypeScript): compiled, this code runs under plain node, so
  // the config's loader is registered here, only when a chain is embedded.
  const { register } = await import("tsx/cjs/api");
  register();
  const { default: hre } = await import("hardhat");
  const { TASK_NODE_CREATE_SERVER } = await import("hardhat/builtin-tasks/task-names.js");
  const server = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port, provider: hre.network.provider });
  const { port: actual } = await server.listen();
  return { url: `http://127.0.0.1:${actual}`, close: () => server.close() };
}

export interface ServiceProcess {
  url: string;
  did: string;
  child: ChildProcess;
  /** Everything the service wrote (logs): tests scan it for personal data. */
  output: string[];
  stop(): Promise<void>;
}

// Whatever happens to the parent (a failed assertion, an uncaught error), its services die with it.
const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

/**
 * Starts a service as a child process, compiled (dist/, built by `npm install`, `npm run build` and before
 * `npm test`), as it runs in production, and waits for its "listening" line.
 */
export async function startService(name: "issuer-service" | "verifier-service", env: Record<string, string>, timeoutMs = 60_000, execArgv: string[] = []): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...execArgv, join(REPO_ROOT, "dist", name, "server.js")], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const output: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  child.stderr!.on("data", (d) => output.push(String(d)));
  const ready = new Promise<{ url: string; did: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in ${timeoutMs} ms:\n${output.join("")}`)), timeoutMs);
    lines.on("line", (line) => {
      output.push(line);
      try {
        const event = JSON.parse(line);
        if (event.event === "listening") {
          clearTimeout(timer);
          resolve({ url: event.url, did: event.did });
        }
      } catch {
        /* a non-JSON line */
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      // What it said last (why it stopped) may still be in its pipes at "exit": report it once they close.
      child.once("close", () => reject(new Error(`${name} exited with ${code}:\n${output.join("\n")}`)));
    });
  });
  const { url, did } = await ready;
  child.removeAllListeners("exit");
  return {
    url,
    did,
    child,
    output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** A free loopback port (for processes that must be told their port in advance). */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** `hardhat node` as its own process (so it can be killed and restarted empty, like a developer's chain). */
export async function startHardhatNodeProcess(port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, "node_modules", "hardhat", "internal", "cli", "bootstrap.js"), "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hardhat node did not start:\n${output.join("")}`)), 60_000);
    child.stdout!.on("data", (d) => {
      output.push(String(d));
      if (/Started HTTP and WebSocket JSON-RPC server/.test(output.join(""))) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`hardhat node exited ${code}:\n${output.join("")}`)));
  });
  child.removeAllListeners("exit");
  child.stdout!.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}
