/**
 * `npm run bench`: figures measured side by side with a baseline in the same run, printed as a table and
 * written to bench/results.json. Every loop is bounded in time and count; traffic stays on loopback.
 */
import { cpus, totalmem, platform, release } from "node:os";
import { generateKeyPairSync, randomBytes, sign, verify } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { createAgent } from "@veramo/core";
import { KeyManager, MemoryKeyStore, MemoryPrivateKeyStore } from "@veramo/key-manager";
import { KeyManagementSystem } from "@veramo/kms-local";
import { DIDManager, MemoryDIDStore } from "@veramo/did-manager";
import { KeyDIDProvider, getDidKeyResolver } from "@veramo/did-provider-key";
import { DIDResolverPlugin } from "@veramo/did-resolver";
import { CredentialPlugin } from "@veramo/credential-w3c";
import { CredentialProviderJWT } from "@veramo/credential-jwt";
import {
  AnchorQueue,
  AnchorRegistryClient,
  LevelDatabase,
  MemoryDocumentStore,
  REPO_ROOT,
  buildEvidenceBundle,
  devAccountKey,
  fetchJson,
  HolderWallet,
  issueIdentityCredential,
  jwkFromDidKey,
  keyObjectSigner,
  didKeyFromPublicKey,
  fromB64url,
  receiptHash,
  resolveChain,
  selectDisclosures,
  bindPresentation,
  verifyEvidenceBundle,
  verifySdJwtPresentation,
  type Transport,
} from "@realname/agent";
import { startEmbeddedChain, startService } from "../scripts/lib/devnet.js";

interface Figure { name: string; unit: string; ours: number; baseline: number; baselineName: string; ratio: number; target?: string; met?: boolean; note?: string; shortfall?: string }
const figures: Figure[] = [];
const quick = process.argv.includes("--quick");
const SECONDS = quick ? 0.5 : 2;

/** Runs `fn` repeatedly for a bounded time (and count), returns operations per second. */
async function rate(fn: () => unknown, seconds = SECONDS, maxOps = 1_000_000): Promise<number> {
  for (let i = 0; i < 20; i++) await fn(); // warm-up
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let n = 0;
  while (n < maxOps && process.hrtime.bigint() < deadline) {
    await fn();
    n++;
  }
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}
const add = (f: Omit<Figure, "ratio" | "met"> & { targetRatio?: number; targetMax?: boolean }) => {
  const ratio = f.ours / f.baseline;
  const met = f.targetRatio === undefined ? undefined : f.targetMax ? ratio <= f.targetRatio : ratio >= f.targetRatio;
  const { targetRatio: _t, targetMax: _m, ...rest } = f;
  // When a target is missed, say by how much: the ratio reached as a share of the ratio required.
  const shortfall = met === false && f.targetRatio ? `missed: reached ${(ratio / f.targetRatio * 100).toFixed(0)}% of the target ratio ${f.targetRatio.toFixed(3)}` : undefined;
  figures.push({ ...rest, ratio: Math.round(ratio * 1000) / 1000, met, ...(shortfall ? { shortfall } : {}) } as Figure);
  console.log(`  measured ${f.name}: ${f.ours.toFixed(1)} ${f.unit} vs ${f.baselineName} ${f.baseline.toFixed(1)}`);
};

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const did = didKeyFromPublicKey(fromB64url(publicKey.export({ format: "jwk" }).x as string));
  return { privateKey, publicKey, did, signer: keyObjectSigner(privateKey) };
}

async function inProcess() {
  console.log("in-process figures…");
  const issuer = keyPair();
  const holder = keyPair();
  const data = Buffer.from("x".repeat(200));
  const rawSign = await rate(() => sign(null, data, issuer.privateKey));
  const sig = sign(null, data, issuer.privateKey);
  const rawVerify = await rate(() => verify(null, data, issuer.publicKey, sig));

  const claims = { real_name_verified: true as const, age_over_18: true, family_name: "张", given_name: "三", full_name: "张三", id_number: "110105199003071239", birth_date: "1990-03-07" };
  const now = new Date();
  const issue = () => issueIdentityCredential({ issuerDid: issuer.did, vct: "https://issuer.example/vct/realname-identity/v1", signer: issuer.signer, holderJwk: jwkFromDidKey(holder.did), claims, now, validForSeconds: 86400, status: { idx: 7, uri: "http://127.0.0.1:1/status-lists/1" } });
  const issuance = await rate(issue);

  // Veramo baseline: an agent with in-memory stores, credentials as JWT (did-jwt-vc underneath).
  const veramo = createAgent<any>({
    plugins: [
      new KeyManager({ store: new MemoryKeyStore(), kms: { local: new KeyManagementSystem(new MemoryPrivateKeyStore()) } }),
      new DIDManager({ store: new MemoryDIDStore(), defaultProvider: "did:key", providers: { "did:key": new KeyDIDProvider({ defaultKms: "local" }) } }),
      new DIDResolverPlugin({ ...getDidKeyResolver() }),
      new CredentialPlugin([new CredentialProviderJWT()]),
    ],
  });
  const vIssuer = await veramo.didManagerCreate({ provider: "did:key", kms: "local", options: { keyType: "Ed25519" } });
  const vHolder = await veramo.didManagerCreate({ provider: "did:key", kms: "local", options: { keyType: "Ed25519" } });
  const vcArgs = { credential: { issuer: { id: vIssuer.did }, credentialSubject: { id: vHolder.did, ...claims } }, proofFormat: "jwt" };
  const veramoIssue = await rate(() => veramo.createVerifiableCredential(vcArgs), SECONDS, 5000);
  add({ name: "credentials issued per second (SD-JWT VC, 7 disclosures + decoys)", unit: "ops/s", ours: issuance, baseline: rawSign, baselineName: "raw Ed25519 signatures (node:crypto)", target: "≥ 0.4 × raw sign", targetRatio: 0.4, note: "each credential also draws 12 salts and hashes 8 disclosures and 4 decoys inside @sd-jwt/sd-jwt-vc, which dominates one signature" });
  add({ name: "credentials issued per second vs Veramo", unit: "ops/s", ours: issuance, baseline: veramoIssue, baselineName: "Veramo createVerifiableCredential (JWT)" });

  // Verification: a key-bound presentation of the full credential, every RFC 9901 check.
  const credential = await issue();
  const { presented, sdHash } = await selectDisclosures(credential, ["real_name_verified", "full_name", "id_number"]);
  const aud = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
  const presentation = await bindPresentation({ presented, sdHash, audience: aud, nonce: "bench-nonce-0123456789ab", now, signer: holder.signer });
  const check = () => {
    const r = verifySdJwtPresentation({ presentation, trustedIssuers: [issuer.did], audience: aud, nonce: "bench-nonce-0123456789ab", now: () => now, allowedClaims: ["real_name_verified", "full_name", "id_number"] });
    if (!r.verified) throw new Error(JSON.stringify(r.errors));
  };
  const verification = await rate(check);
  const vc = (await veramo.createVerifiableCredential(vcArgs)).proof.jwt;
  const vp = (await veramo.createVerifiablePresentation({ presentation: { holder: vHolder.did, verifiableCredential: [vc] }, proofFormat: "jwt", challenge: "n", domain: aud })).proof.jwt;
  const veramoVerify = await rate(async () => {
    const p = await veramo.verifyPresentation({ presentation: vp, challenge: "n", domain: aud });
    const c = await veramo.verifyCredential({ credential: vc });
    if (!p.verified || !c.verified) throw new Error("veramo baseline failed");
  }, SECONDS, 5000);
  // The whole of what the merchant's service checks per answer, in process: presentation, consent receipt
  // bound into the key binding, every consent field against the request (status excluded: it needs a list).
  const merchant = keyPair();
  const requestJwt = "bench-request-object";
  const request = { request_id: "bench-request-1", merchant_name: "Bench", level: "full" as const, purpose: "bench", retention_days: 1, claims: ["full_name", "id_number"], age_over_18: false, iss: merchant.did, client_id: `decentralized_identifier:${merchant.did}`, credential_id: "realname_identity", nonce: "bench-nonce-0123456789ab", response_uri: "http://127.0.0.1/r", iat: Math.floor(now.getTime() / 1000), exp: Math.floor(now.getTime() / 1000) + 600 };
  const { createConsentReceipt, verifyGrantResponse, sha256B64url, sha256Hex } = await import("@realname/agent");
  const consent = await createConsentReceipt({ consentTimestamp: now.toISOString(), jurisdiction: "CN", controller: { id: merchant.did, name: "Bench" }, purpose: "bench", level: "full", claimNames: ["real_name_verified", "full_name", "id_number"], retentionDays: 1, presentationHash: sdHash, requestHash: sha256Hex(requestJwt), expiresAt: now.toISOString() }, holder, now);
  const grantPresentation = await bindPresentation({ presented, sdHash, audience: request.client_id, nonce: request.nonce, now, signer: holder.signer, extraClaims: { receipt_hash: sha256B64url(consent.jwt) } });
  const fullGrant = await rate(async () => {
    const r = await verifyGrantResponse({ response: { presentation: grantPresentation, consentReceipt: consent.jwt }, request, requestJwt, trustedIssuers: [issuer.did], expectedVct: "https://issuer.example/vct/realname-identity/v1", now });
    if (!r.verified) throw new Error(JSON.stringify(r.errors));
  });
  add({ name: "grant answers verified per second in process (presentation + consent receipt + bindings)", unit: "ops/s", ours: fullGrant, baseline: rawVerify, baselineName: "raw Ed25519 verifies (node:crypto)", note: "two signatures to check per answer (issuer, key binding) plus the consent receipt's: 0.33 is the limit" });
  add({ name: "presentations verified per second (all checks, in process)", unit: "ops/s", ours: verification, baseline: rawVerify, baselineName: "raw Ed25519 verifies (node:crypto)", target: "≥ 0.35 × raw verify (0.5 is the limit)", targetRatio: 0.35 });
  add({ name: "presentations verified per second vs Veramo", unit: "ops/s", ours: verification, baseline: veramoVerify, baselineName: "Veramo verifyPresentation + verifyCredential (JWT)", target: "≥ 5 × Veramo", targetRatio: 5 });
  return { verification, fullGrant };
}

async function services(inProcessVerification: number, inProcessGrant: number) {
  console.log("services, chain and HTTP figures…");
  const chain = await startEmbeddedChain(0);
  const work = mkdtempSync(join(tmpdir(), "bench-"));
  const deploymentFile = join(work, "deployment.json");
  const { deployment } = await resolveChain({ rpcUrl: chain.url, deploymentFile, deployIfMissing: true });
  const ADMIN = randomBytes(16).toString("hex");
  const issuer = await startService("issuer-service", { DATA_DIR: join(work, "issuer"), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: deploymentFile, ISSUER_PASSPHRASE: "bench", ISSUER_DATA_KEY: "33".repeat(32), ADMIN_TOKEN: ADMIN, ANCHOR_DEV_ACCOUNT: "2" });
  const verifier = await startService("verifier-service", { DATA_DIR: join(work, "verifier"), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: deploymentFile, ANCHOR_DEV_ACCOUNT: "1", MERCHANT_NAME: "Bench Shop", MERCHANT_PASSPHRASE: "bench", TRUSTED_ISSUERS: issuer.did, ISSUER_URL: issuer.url, RATE_LIMIT_PER_MINUTE: "10000000", REQUEST_VALIDITY_SECONDS: "600" });
  const admin = (path: string, body: unknown, method = "POST") => fetchJson(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN}` } });
  try {
    await admin("/admin/merchants", { did: verifier.did, name: "Bench Shop", maxLevel: "full", purposes: ["bench"], fullClaims: ["full_name"], origins: [new URL(verifier.url).origin] }, "PUT");
    const wallet = await HolderWallet.open({ dir: join(work, "wallet"), pin: "0000" });
    await admin("/admin/devices", { deviceId: "bench", label: "bench", publicJwk: (await wallet.deviceKey()).publicJwk });
    await wallet.register(issuer.url, { fullName: "张三", idNumber: "110105199003071239", portrait: readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-live.jpg")) }, { deviceId: "bench", confirm: async () => true, batchSize: 2 });

    // Pre-built answers (each to its own request and nonce), then replayed by concurrent HTTP clients.
    const N = quick ? 300 : 2000;
    const bodies: Array<{ path: string; body: string }> = [];
    for (let i = 0; i < N; i++) {
      const created = await fetchJson<{ authorizationRequest: string; requestId: string }>(`${verifier.url}/requests`, { body: { level: "verified", purpose: "bench" } });
      const preview = await wallet.preview(created.authorizationRequest);
      const capture: Transport = async (url, body) => {
        bodies.push({ path: new URL(url).pathname, body: JSON.stringify(body) });
        throw Object.assign(new Error("captured"), { code: "CAPTURED" });
      };
      await wallet.answer(preview, { transport: capture }).catch(() => undefined);
    }
    await wallet.close();
    let next = 0;
    let peakRss = 0;
    const sampler = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${verifier.child.pid}/status`, "utf8"));
        if (m) peakRss = Math.max(peakRss, Number(m[1]) * 1024);
      } catch {
        /* process gone */
      }
    }, 200);
    const result = await autocannon({
      url: verifier.url,
      connections: 8,
      amount: N,
      requests: [{ method: "POST", headers: { "content-type": "application/json" }, setupRequest: (req: any) => ({ ...req, path: bodies[next]!.path, body: bodies[next++]!.body }) }],
    });
    clearInterval(sampler);
    const ok = result["2xx"];
    const httpRate = ok / (result.duration || 1);
    // Baseline as the issue names it: in-process presentation verification. The service does more per
    // answer (consent receipt, status, LevelDB, two receipts queued), which the note beside the figure says.
    add({ name: `presentations verified per second over HTTP (8 clients, ${N} answers, ${result.errors + result.non2xx} errors)`, unit: "ops/s", ours: httpRate, baseline: inProcessVerification, baselineName: "in-process presentation verification", target: "≥ 0.8 × in-process", targetRatio: 0.8, note: `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; the service also verifies the consent receipt (did-jwt-vc), checks status, writes LevelDB and queues two receipts per answer` });
    add({ name: "grant answers over HTTP vs the same checks in process", unit: "ops/s", ours: httpRate, baseline: inProcessGrant, baselineName: "in-process grant verification (no storage, no receipt signing)", note: "the difference is the service's own work: LevelDB writes, the grant receipt, two receipts queued, HTTP" });
    figures.push({ name: "latency over HTTP p50 / p99", unit: "ms", ours: result.latency.p50, baseline: result.latency.p99, baselineName: "p99", ratio: Math.round((result.latency.p50 / Math.max(1, result.latency.p99)) * 1000) / 1000 });
    figures.push({ name: "verifier peak RSS under the HTTP load", unit: "MiB", ours: Math.round(peakRss / 1048576), baseline: Math.round(process.memoryUsage().rss / 1048576), baselineName: "bench process RSS", ratio: Math.round((peakRss / process.memoryUsage().rss) * 1000) / 1000 });
  } finally {
    await verifier.stop();
    await issuer.stop();
  }

  // Anchoring: 10,000 receipts through the durable queue (batches of 256, sent together) vs one anchor() per receipt.
  console.log("anchoring figures…");
  const db = await LevelDatabase.open(join(work, "queue"));
  const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deployment.address, privateKey: devAccountKey(4) });
  const receipts = quick ? 2000 : 10_000;
  const queue = new AnchorQueue({ store: db.store("q"), registry, maxBatchSize: 256, maxAgeMs: 60_000 });
  const blockBefore = await registry.provider.getBlockNumber();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < receipts; i++) await queue.enqueue(receiptHash(`bench-${i}`));
  await queue.flush();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let gas = 0n;
  for (let b = blockBefore + 1; b <= (await registry.provider.getBlockNumber()); b++) {
    const block = await registry.provider.getBlock(b, true);
    for (const tx of block!.prefetchedTransactions) gas += (await registry.provider.getTransactionReceipt(tx.hash))!.gasUsed;
  }
  const single = 200;
  const t1 = process.hrtime.bigint();
  let singleGas = 0n;
  for (let i = 0; i < single; i++) {
    const tx = await registry.contract.anchor(receiptHash(`single-${i}`).padStart(66, "0x"), 1);
    singleGas += (await tx.wait()).gasUsed;
  }
  const singleSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  add({ name: `receipts anchored per second end to end (${receipts} queued → confirmed)`, unit: "receipts/s", ours: receipts / seconds, baseline: single / singleSeconds, baselineName: "one anchor transaction per receipt", target: "≥ 10 ×", targetRatio: 10 });
  add({ name: "gas per receipt", unit: "gas", ours: Number(gas) / receipts, baseline: Number(singleGas) / single, baselineName: "one anchor transaction per receipt", target: "≤ 1/64 of a single anchor", targetRatio: 1 / 64, targetMax: true });

  await db.close();
  registry.close();
  await chain.close();
}

async function evidence() {
  console.log("evidence figures…");
  const chain = await startEmbeddedChain(0);
  const work = mkdtempSync(join(tmpdir(), "bench-ev-"));
  const { deployment } = await resolveChain({ rpcUrl: chain.url, deploymentFile: join(work, "d.json"), deployIfMissing: true });
  const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deployment.address, privateKey: devAccountKey(3) });
  const { createConsentReceipt, createGrantReceipt } = await import("@realname/agent");
  const holder = keyPair();
  const merchant = keyPair();
  const now = new Date();
  const consent = await createConsentReceipt({ consentTimestamp: now.toISOString(), jurisdiction: "CN", controller: { id: merchant.did, name: "Shop" }, purpose: "bench", level: "verified", claimNames: ["real_name_verified"], retentionDays: 1, presentationHash: "x", requestHash: "y", expiresAt: now.toISOString() }, holder, now);
  const grant = await createGrantReceipt({ grantTimestamp: now.toISOString(), consentReceiptId: consent.record.receiptId, consentReceiptHash: receiptHash(consent.jwt), level: "verified", claimNames: ["real_name_verified"], retentionUntil: now.toISOString() }, holder.did, merchant, now);
  const queue = new AnchorQueue({ store: new MemoryDocumentStore() as never, registry });
  await queue.enqueue(receiptHash(consent.jwt));
  await queue.enqueue(receiptHash(grant.jwt));
  await queue.flush();
  const proof = async (jwt: string) => {
    const r = (await queue.get(receiptHash(jwt)))!;
    return { salt: r.salt, proof: r.proof!, root: r.root! };
  };
  const bundle = await buildEvidenceBundle({ consentReceipt: consent.jwt, grantReceipt: grant.jwt, proofs: { consent: await proof(consent.jwt), grant: await proof(grant.jwt) }, registry });
  const full = await rate(async () => {
    if (!(await verifyEvidenceBundle(bundle, { registry })).verified) throw new Error("bundle failed");
  }, SECONDS, 2000);
  const offline = await rate(() => verifyEvidenceBundle(bundle, {}), SECONDS, 5000);
  add({ name: "evidence bundles verified per second (offline + on-chain checks)", unit: "bundles/s", ours: full, baseline: offline, baselineName: "offline checks only (signatures, Merkle paths)" });
  registry.close();
  await chain.close();
}

const started = Date.now();
const { verification, fullGrant } = await inProcess();
await services(verification, fullGrant);
await evidence();

const machine = { node: process.version, platform: `${platform()} ${release()}`, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), quick, seconds: Math.round((Date.now() - started) / 1000) };
writeFileSync(join(REPO_ROOT, "bench", "results.json"), JSON.stringify({ machine, figures }, null, 2) + "\n");
const pad = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + "…" : s.padEnd(n));
console.log(`\n${pad("figure", 62)} ${pad("ours", 12)} ${pad("baseline", 12)} ${pad("ratio", 8)} target`);
for (const f of figures) {
  const verdict = f.met === undefined ? "" : f.met ? "met" : `MISSED, ${f.shortfall}`;
  console.log(`${pad(f.name, 62)} ${pad(f.ours.toFixed(1), 12)} ${pad(f.baseline.toFixed(1), 12)} ${pad(String(f.ratio), 8)} ${f.target ? `${f.target} ${verdict}` : ""}`);
}
console.log(`\nbench/results.json written (${machine.cpus} cores, ${machine.node}, ${machine.seconds}s)`);
process.exit(0);
