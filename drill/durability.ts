/**
 * Durability drills: (1) the verifier traced with strace shows every acknowledged answer's LevelDB log
 * writes synced (fdatasync/fsync) before its HTTP response is written; (2) three verifier replicas on one
 * PostgreSQL database behind one address, the anchoring one killed with -9 under load: every acknowledged
 * receipt is anchored exactly once and another replica takes the anchoring over.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { AnchorRegistryClient, fetchJson, receiptHash, REPO_ROOT, type Transport } from "@realname/agent";
import { freePort } from "../scripts/lib/devnet.js";
import type { Stack } from "./stack.js";

/** A service started as `[...prefix, node, server.ts]`, its log lines, and whether it is still running. */
interface Service {
  url: string;
  did: string;
  child: ChildProcess;
  lines: Array<{ at: number; line: string }>;
  stop(): Promise<void>;
}

function startServiceWith(prefix: string[], env: Record<string, string>, timeoutMs = 90_000): Promise<Service> {
  const argv = [...prefix, process.execPath, "--import", "tsx", join(REPO_ROOT, "verifier-service", "src", "server.ts")];
  // Its own process group: stopping strace's tracee and strace together, never anything else.
  const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, env: { ...process.env, PORT: "0", ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const lines: Array<{ at: number; line: string }> = [];
  const errors: string[] = [];
  child.stderr!.on("data", (d) => errors.push(String(d)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => child.exitCode === null && process.kill(-child.pid!, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`verifier did not start:\n${errors.join("")}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      lines.push({ at: Date.now(), line });
      if (!line.includes('"listening"')) return;
      const event = JSON.parse(line) as { url: string; did: string };
      clearTimeout(timer);
      resolve({ url: event.url, did: event.did, child, lines, stop });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`verifier exited with ${code}:\n${errors.join("")}`));
    });
  });
}

export interface SyncOrderReport {
  /** 2xx HTTP responses written by the service during the trace. */
  responses: number;
  /** Of them, responses written while a LevelDB log write was not yet synced. */
  responsesBeforeSync: number;
  logWrites: number;
  syncs: number;
}

/**
 * Reads an `strace -f -ttt -yy` trace: LevelDB log writes (`NNNNNN.log`), their fsync/fdatasync, and HTTP
 * responses written to TCP sockets. A log write counts as synced only by a sync of its file that started
 * after the write returned; a response that starts while any log write is unsynced is a violation.
 */
export function checkSyncOrder(trace: string): SyncOrderReport {
  const report: SyncOrderReport = { responses: 0, responsesBeforeSync: 0, logWrites: 0, syncs: 0 };
  /** Per log file: writes completed, and the number of them a finished sync covered. */
  const written = new Map<string, number>();
  const synced = new Map<string, number>();
  let writesInFlight = 0;
  /** Calls split by -f into "<unfinished ...>" and "<... resumed>", per thread. */
  const open = new Map<string, { call: string; file?: string; covers?: number }>();
  const logFile = (args: string) => /^\d+<([^>]*\/\d+\.log)>/.exec(args)?.[1];
  const dirty = () => writesInFlight > 0 || [...written].some(([file, n]) => (synced.get(file) ?? 0) < n);
  const finish = (call: string, file: string | undefined, covers: number | undefined) => {
    if (!file) return;
    if (call === "write" || call === "writev" || call === "pwrite64") {
      writesInFlight--;
      written.set(file, (written.get(file) ?? 0) + 1);
      report.logWrites++;
    } else {
      report.syncs++;
      synced.set(file, Math.max(synced.get(file) ?? 0, covers ?? 0));
    }
  };
  for (const line of trace.split("\n")) {
    const m = /^(\d+)\s+[\d.]+\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, tid, rest] = m as unknown as [string, string, string];
    const resumed = /^<\.\.\. (\w+) resumed>/.exec(rest);
    if (resumed) {
      const pending = open.get(tid);
      open.delete(tid);
      if (pending) finish(pending.call, pending.file, pending.covers);
      continue;
    }
    const call = /^(\w+)\((.*)$/.exec(rest);
    if (!call) continue;
    const [, name, args] = call as unknown as [string, string, string];
    const unfinished = rest.endsWith("<unfinished ...>");
    const file = logFile(args);
    if ((name === "write" || name === "writev") && /<TCP:/.test(args.slice(0, 120)) && /"HTTP\/1\.1 2\d\d /.test(args)) {
      report.responses++;
      if (dirty()) report.responsesBeforeSync++;
      continue;
    }
    if (!file) continue;
    const isWrite = name === "write" || name === "writev" || name === "pwrite64";
    const isSync = name === "fdatasync" || name === "fsync";
    if (!isWrite && !isSync) continue;
    if (isWrite) writesInFlight++;
    const covers = isSync ? (written.get(file) ?? 0) : undefined;
    if (unfinished) open.set(tid, { call: name, file, covers });
    else finish(name, file, covers);
  }
  return report;
}

/**
 * Restarts the stack's verifier under strace (background sweeps and batch closing pushed out of the way, so
 * the only writes are the answers'), sends `answers` genuine answers one after another, and checks the trace.
 * `sync: false` is the control run (STORE_SYNC=0): the same check must then find violations.
 */
export async function syncOrderDrill(s: Stack, answers: number, options: { sync: boolean; traceFile: string }): Promise<SyncOrderReport & { acknowledged: number }> {
  const port = new URL(s.verifier.url).port;
  await s.verifier.stop();
  const quiet = { EXPIRY_SWEEP_MS: "3600000", RETENTION_SWEEP_MS: "3600000", ANCHOR_BATCH_AGE_MS: "3600000", ANCHOR_BATCH_SIZE: "100000", ANCHOR_AUDIT_MS: "3600000" };
  const strace = ["strace", "-f", "-qq", "-ttt", "-yy", "-s", "24", "-e", "trace=write,writev,pwrite64,fsync,fdatasync", "-o", options.traceFile];
  const traced = await startServiceWith(strace, { ...s.verifierEnv, ...quiet, PORT: port, ...(options.sync ? {} : { STORE_SYNC: "0" }) });
  let acknowledged = 0;
  try {
    const prepared = [];
    for (let n = 0; n < answers; n++) prepared.push(await s.captureAnswer("verified"));
    for (const a of prepared) {
      const r = await fetch(a.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(a.body) });
      await r.arrayBuffer();
      if (r.status === 200) acknowledged++;
    }
  } finally {
    await traced.stop();
    await s.restartVerifier();
  }
  return { ...checkSyncOrder(readFileSync(options.traceFile, "utf8")), acknowledged };
}

/** One address in front of the replicas: round robin over the live ones; a dead one's requests get a 502. */
export async function startBalancer(): Promise<{ url: string; server: Server; replicas: string[] }> {
  const replicas: string[] = [];
  let next = 0;
  const server = createServer((req, res) => {
    const target = new URL(replicas[next++ % replicas.length]!);
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, replicas };
}

export interface ReplicaReport {
  replicas: number;
  acknowledged: number;
  anchoredOnce: number;
  missing: number;
  /** Roots that the chain shows more than one anchoring event for. */
  rootsAnchoredTwice: number;
  /** The same answer sent to two replicas at once: how many were accepted twice. */
  doubleAccepted: number;
  killedLeader: boolean;
  takeoverMs: number;
}

/**
 * Three verifier replicas on one PostgreSQL schema (DATABASE_URL) behind one address; answers under load;
 * the replica holding the anchoring lease killed with -9 in the middle. Counts every acknowledged receipt
 * anchored exactly once, single use across replicas, and how long until another replica anchors.
 */
export async function replicaDrill(s: Stack, answers: number, databaseUrl: string, schema: string): Promise<ReplicaReport> {
  const balancer = await startBalancer();
  const env = {
    ...s.verifierEnv,
    DATA_DIR: join(s.work, `replicas-${schema}`),
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schema,
    PUBLIC_URL: balancer.url,
    ANCHOR_DEV_ACCOUNT: "3",
    ANCHOR_BATCH_AGE_MS: "200",
    ANCHOR_BATCH_SIZE: "16",
    MERCHANT_NAME: "Replica Shop",
  };
  const replicas: Service[] = [];
  // Each replica's own address (its "listening" line names the shared PUBLIC_URL, the balancer's).
  const startReplica = async () => {
    const port = await freePort();
    const replica = await startServiceWith([], { ...env, PORT: String(port) });
    return { ...replica, url: `http://127.0.0.1:${port}` };
  };
  try {
    // The first replica creates the merchant's keys in the database; the others start on them.
    replicas.push(await startReplica());
    replicas.push(...(await Promise.all([startReplica(), startReplica()])));
    balancer.replicas.push(...replicas.map((r) => r.url));
    const did = replicas[0]!.did;
    if (replicas.some((r) => r.did !== did)) throw new Error("the replicas disagree on the merchant's DID");
    await s.admin("/admin/merchants", { did, name: "Replica Shop", maxLevel: "full", purposes: ["drill"], fullClaims: ["full_name", "id_number"], origins: [new URL(balancer.url).origin] }, "PUT");

    const capture = async () => {
      await s.ensureCredential();
      const created = await fetchJson<{ authorizationRequest: string }>(`${balancer.url}/requests`, { body: { level: "verified", purpose: "drill", claims: [] } });
      const preview = await s.wallet.preview(created.authorizationRequest);
      let captured!: { url: string; body: unknown };
      const transport: Transport = async (url, body) => {
        captured = { url, body };
        throw Object.assign(new Error("captured"), { code: "CAPTURED" });
      };
      await s.wallet.answer(preview, { transport }).catch((e) => {
        if (e.code !== "CAPTURED") throw e;
      });
      return captured as { url: string; body: { consentReceipt: string } };
    };
    const prepared = [];
    for (let n = 0; n < answers; n++) prepared.push(await capture());

    // Single use across replicas: a few answers sent to two replicas directly, at the same moment.
    let doubleAccepted = 0;
    const twice = prepared.splice(0, 3);
    const acknowledged: string[] = [];
    for (const [k, a] of twice.entries()) {
      const path = new URL(a.url).pathname;
      const statuses = await Promise.all([replicas[k % 3]!, replicas[(k + 1) % 3]!].map(async (r) => {
        const res = await fetch(`${r.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(a.body) });
        const json = (await res.json()) as { grantReceipt?: string };
        if (res.status === 200) acknowledged.push(receiptHash(a.body.consentReceipt), receiptHash(json.grantReceipt!));
        return res.status;
      }));
      if (statuses.filter((x) => x === 200).length > 1) doubleAccepted++;
    }

    // Load through the balancer, the anchoring replica killed with -9 once a third of the answers are in.
    const leaderOf = () => {
      let leader: Service | undefined;
      let at = 0;
      for (const r of replicas) for (const { at: t, line } of r.lines) if (line.includes('"anchoring-lease"') && line.includes('"held":true') && t >= at && r.child.exitCode === null && r.child.signalCode === null) [leader, at] = [r, t];
      return leader;
    };
    let killedAt = 0;
    let killed: Service | undefined;
    let sent = 0;
    const send = async (a: { url: string; body: { consentReceipt: string } }) => {
      try {
        const res = await fetch(`${balancer.url}${new URL(a.url).pathname}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(a.body) });
        const json = (await res.json().catch(() => ({}))) as { grantReceipt?: string };
        if (res.status === 200) acknowledged.push(receiptHash(a.body.consentReceipt), receiptHash(json.grantReceipt!));
      } catch {
        /* cut off with the killed replica: not acknowledged */
      }
      if (++sent === Math.floor(prepared.length / 3)) {
        killed = leaderOf();
        if (killed) {
          killedAt = Date.now();
          process.kill(-killed.child.pid!, "SIGKILL");
          const gone = killed.url;
          balancer.replicas.splice(balancer.replicas.indexOf(gone), 1);
        }
      }
    };
    const queue = [...prepared];
    await Promise.all(Array.from({ length: 6 }, async () => {
      for (let a = queue.shift(); a; a = queue.shift()) await send(a);
    }));

    // Every acknowledged receipt anchored, read through any live replica; then each root checked on chain.
    const registry = await AnchorRegistryClient.connect({ rpcUrl: s.chain.url, address: s.deployment.address });
    const deadline = Date.now() + 90_000;
    let anchoredOnce = 0;
    const roots = new Set<string>();
    while (Date.now() < deadline) {
      anchoredOnce = 0;
      roots.clear();
      for (const h of acknowledged) {
        const rec = await fetchJson<{ status: string; root?: string }>(`${balancer.url}/anchors/${h}`).catch(() => undefined);
        if (rec?.status === "anchored") {
          anchoredOnce++;
          roots.add(rec.root!);
        }
      }
      if (anchoredOnce === acknowledged.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    let missing = acknowledged.length - anchoredOnce;
    let rootsAnchoredTwice = 0;
    for (const root of roots) {
      const events = await registry.contract.queryFilter(registry.contract.filters.RootAnchored(root));
      if (events.length === 0) missing++;
      if (events.length > 1) rootsAnchoredTwice++;
    }
    registry.close();
    const takeover = replicas.filter((r) => r !== killed).flatMap((r) => r.lines).filter(({ at, line }) => at >= killedAt && line.includes('"anchoring-lease"') && line.includes('"held":true'));
    return {
      replicas: replicas.length,
      acknowledged: acknowledged.length,
      anchoredOnce,
      missing,
      rootsAnchoredTwice,
      doubleAccepted,
      killedLeader: killed !== undefined,
      takeoverMs: takeover[0] ? takeover[0].at - killedAt : -1,
    };
  } finally {
    await Promise.allSettled(replicas.map((r) => r.stop()));
    balancer.server.close();
  }
}
