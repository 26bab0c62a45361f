/**
 * What durability costs: the same genuine answers sent to verifiers that differ only in their store —
 * LevelDB synced (the default: every acknowledged write fdatasync'd, concurrent answers sharing one sync),
 * LevelDB unsynced (STORE_SYNC=0, the baseline: page cache only) and PostgreSQL (synchronous_commit on).
 * Throughput is completed 200s over elapsed time, from concurrent clients that each send the next answer as
 * soon as the previous one is answered.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchJson, HolderWallet, PgDatabase, REPO_ROOT, resolveChain, type Transport } from "@realname/agent";
import { startEmbeddedChain, startService, type ServiceProcess } from "../scripts/lib/devnet.js";

export interface DurabilityFigures {
  answers: number;
  clients: number;
  durableLevel: number;
  unsyncedLevel: number;
  durablePg?: number;
}

/** Sends every body with `clients` concurrent senders: completed 200s and the time they took. */
async function drive(base: string, bodies: Array<{ path: string; body: string }>, clients: number): Promise<{ ok: number; seconds: number; errors: number; firstError: string }> {
  let next = 0;
  let ok = 0;
  let errors = 0;
  let firstError = "";
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        const res = await fetch(`${base}${bodies[i]!.path}`, { method: "POST", headers: { "content-type": "application/json" }, body: bodies[i]!.body });
        const text = await res.text();
        if (res.status === 200) ok++;
        else if (errors++ === 0) firstError = `${res.status} ${text.slice(0, 200)}`;
      }
    }),
  );
  return { ok, seconds: Number(process.hrtime.bigint() - start) / 1e9, errors, firstError };
}

export async function durabilityFigures(options: { answers: number; clients: number; databaseUrl?: string }): Promise<DurabilityFigures> {
  const chain = await startEmbeddedChain(0);
  const work = mkdtempSync(join(tmpdir(), "bench-durable-"));
  const deploymentFile = join(work, "deployment.json");
  await resolveChain({ rpcUrl: chain.url, deploymentFile, deployIfMissing: true });
  const ADMIN = randomBytes(16).toString("hex");
  const services: ServiceProcess[] = [];
  const schema = `bench_${process.pid}_${randomBytes(3).toString("hex")}`;
  try {
    const issuer = await startService("issuer-service", { DATA_DIR: join(work, "issuer"), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: deploymentFile, ISSUER_PASSPHRASE: "bench", ISSUER_DATA_KEY: "35".repeat(32), ADMIN_TOKEN: ADMIN, ANCHOR_DEV_ACCOUNT: "2", RISK_MAX_PER_ADDRESS: "100000", RISK_MAX_PER_ID_NUMBER: "100000" });
    services.push(issuer);
    const admin = (path: string, body: unknown, method = "POST") => fetchJson(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN}` } });
    const verifierEnv = (name: string, account: number) => ({ DATA_DIR: join(work, name), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: deploymentFile, ANCHOR_DEV_ACCOUNT: String(account), MERCHANT_NAME: name, MERCHANT_PASSPHRASE: "bench", TRUSTED_ISSUERS: issuer.did, ISSUER_URL: issuer.url, RATE_LIMIT_PER_MINUTE: "10000000", REQUEST_VALIDITY_SECONDS: "900" });
    const variants: Array<{ name: keyof DurabilityFigures; env: Record<string, string> }> = [
      { name: "durableLevel", env: verifierEnv("durable", 1) },
      { name: "unsyncedLevel", env: { ...verifierEnv("unsynced", 3), STORE_SYNC: "0" } },
      ...(options.databaseUrl ? [{ name: "durablePg" as const, env: { ...verifierEnv("pg", 4), DATABASE_URL: options.databaseUrl, DATABASE_SCHEMA: schema } }] : []),
    ];
    const verifiers = [];
    for (const v of variants) {
      const service = await startService("verifier-service", v.env);
      services.push(service);
      await admin("/admin/merchants", { did: service.did, name: v.env.MERCHANT_NAME, maxLevel: "full", purposes: ["bench"], fullClaims: ["full_name"], origins: [new URL(service.url).origin] }, "PUT");
      verifiers.push({ ...v, service });
    }
    const wallet = await HolderWallet.open({ dir: join(work, "wallet"), pin: "0000" });
    await admin("/admin/devices", { deviceId: "bench", label: "bench", publicJwk: (await wallet.deviceKey()).publicJwk });
    await wallet.register(issuer.url, { fullName: "张三", idNumber: "110105199003071239", portrait: readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-live.jpg")) }, { deviceId: "bench", confirm: async () => true, batchSize: 10 });
    const prepare = async (base: string, count: number) => {
      const bodies: Array<{ path: string; body: string }> = [];
      for (let i = 0; i < count; i++) {
        // Each answer takes a fresh credential: wait for the wallet's own refresh, or fetch a batch when empty.
        await wallet.backgroundRefresh;
        if ((await wallet.credentialsLeft()) === 0) await wallet.refreshBatch(10);
        const created = await fetchJson<{ authorizationRequest: string }>(`${base}/requests`, { body: { level: "verified", purpose: "bench" } });
        const preview = await wallet.preview(created.authorizationRequest);
        const capture: Transport = async (url, body) => {
          bodies.push({ path: new URL(url).pathname, body: JSON.stringify(body) });
          throw Object.assign(new Error("captured"), { code: "CAPTURED" });
        };
        await wallet.answer(preview, { transport: capture }).catch((e) => {
          if (e.code !== "CAPTURED") throw e;
        });
      }
      return bodies;
    };
    // A consent is accepted only within the clock skew of its moment: answers are prepared in rounds of
    // `round` and sent at once; a figure is its completed answers over the time spent sending them.
    const round = 40;
    const out: DurabilityFigures = { answers: options.answers, clients: options.clients, durableLevel: 0, unsyncedLevel: 0 };
    const totals = verifiers.map(() => ({ ok: 0, seconds: 0 }));
    for (let sent = 0; sent < options.answers; sent += round) {
      for (const [k, v] of verifiers.entries()) {
        const bodies = await prepare(v.service.url, Math.min(round, options.answers - sent));
        const { ok, seconds, errors, firstError } = await drive(v.service.url, bodies, options.clients);
        if (errors > 0) throw new Error(`${v.name}: ${errors} answers not accepted, the first: ${firstError}`);
        totals[k]!.ok += ok;
        totals[k]!.seconds += seconds;
      }
    }
    await wallet.close();
    for (const [k, v] of verifiers.entries()) out[v.name] = totals[k]!.ok / totals[k]!.seconds;
    return out;
  } finally {
    await Promise.allSettled(services.map((s) => s.stop()));
    await chain.close().catch(() => undefined);
    if (options.databaseUrl) {
      const db = await PgDatabase.open(options.databaseUrl, { schema });
      await db.dropSchema();
      await db.close();
    }
    rmSync(work, { recursive: true, force: true });
  }
}
