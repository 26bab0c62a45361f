/**
 * Drills under attack, load and faults, plus a privacy scan. Each returns a report; `npm run drill` runs
 * them at full length, `npm test` in a short form. All loops are bounded in count and time.
 */
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import autocannon from "autocannon";
import { b64url, fetchJson, fromB64url, receiptHash, REPO_ROOT, sha256Hex, signJws, AnchorRegistryClient, deployAnchorRegistry, devAccountKey, HolderWallet } from "@realname/agent";
import { publicKeyFromDidKey } from "@realname/agent";
import { startEmbeddedChain } from "../scripts/lib/devnet.js";
import { PERSON, type Stack } from "./stack.js";
import { makeEvidenceBundle, newKey } from "./forge.js";
import { Wallet } from "ethers";

const exec = promisify(execFile);

async function send(url: string, init: { method?: string; body?: string | Buffer; type?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(url, { method: init.method ?? (init.body === undefined ? "GET" : "POST"), headers: { ...(init.type ? { "content-type": init.type } : {}), ...init.headers }, body: init.body as BodyInit | undefined });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

export interface AttackReport {
  cases: number;
  refusedWithCode: number;
  serverErrors: Array<{ name: string; status: number }>;
  accepted: string[];
  servicesAlive: boolean;
}

/** At least 50 malformed or malicious inputs at every endpoint and command line: each refused with its code. */
export async function attackDrill(s: Stack): Promise<AttackReport> {
  const v = s.verifier.url;
  const i = s.issuer.url;
  const base = await s.captureAnswer("verified");
  const parts = base.body.presentation.split("~");
  const [jwtH, jwtP] = parts[0]!.split(".");
  const swapDisclosure = () => {
    const p = [...parts];
    const [salt] = JSON.parse(fromB64url(p[1]!).toString());
    p[1] = b64url(Buffer.from(JSON.stringify([salt, "real_name_verified", "yes"])));
    return p.join("~");
  };
  const other = await s.captureAnswer("verified");
  const json = (o: unknown) => JSON.stringify(o);
  const resp = `${v}/requests/${base.requestId}/response`;
  let deep = "1";
  for (let d = 0; d < 5000; d++) deep = `[${deep}]`;
  const attacker = await signJws({ typ: "kb+jwt", alg: "EdDSA" }, { iat: 1, aud: "x", nonce: "y", sd_hash: "z" }, async () => b64url(Buffer.alloc(64)));
  const cases: Array<{ name: string; url: string; method?: string; body?: string | Buffer; type?: string; headers?: Record<string, string> }> = [
    { name: "alg none issuer JWT", url: resp, body: json({ ...base.body, presentation: [`${b64url(Buffer.from('{"alg":"none","typ":"dc+sd-jwt"}'))}.${jwtP}.`, ...parts.slice(1)].join("~") }), type: "application/json" },
    { name: "key confusion (issuer JWT with a holder's signature)", url: resp, body: json({ ...base.body, presentation: [`${jwtH}.${jwtP}.${b64url(Buffer.alloc(64, 7))}`, ...parts.slice(1)].join("~") }), type: "application/json" },
    { name: "tampered disclosure", url: resp, body: json({ ...base.body, presentation: swapDisclosure() }), type: "application/json" },
    { name: "duplicated disclosure", url: resp, body: json({ ...base.body, presentation: [parts[0], parts[1], ...parts.slice(1)].join("~") }), type: "application/json" },
    { name: "missing key binding", url: resp, body: json({ ...base.body, presentation: parts.slice(0, -1).join("~") + "~" }), type: "application/json" },
    { name: "forged key binding", url: resp, body: json({ ...base.body, presentation: [...parts.slice(0, -1), attacker].join("~") }), type: "application/json" },
    { name: "answer made for another request (wrong nonce)", url: resp, body: json(other.body), type: "application/json" },
    { name: "consent receipt of another answer", url: resp, body: json({ ...base.body, consentReceipt: other.body.consentReceipt }), type: "application/json" },
    { name: "garbage consent receipt", url: resp, body: json({ ...base.body, consentReceipt: "a.b.c" }), type: "application/json" },
    { name: "pseudonym proof on a verified grant", url: resp, body: json({ ...base.body, pairwiseProof: "a.b.c" }), type: "application/json" },
    { name: "oversized presentation", url: resp, body: json({ ...base.body, presentation: "A".repeat(200_000) }), type: "application/json" },
    { name: "deeply nested JSON", url: resp, body: `{"presentation":${deep}}`, type: "application/json" },
    { name: "wrong content type", url: resp, body: "hello", type: "text/plain" },
    { name: "no content type", url: resp, body: json(base.body) },
    { name: "form: vp_token not JSON", url: resp, body: `state=${base.requestId}&vp_token=%7Bnope`, type: "application/x-www-form-urlencoded" },
    { name: "form: wrong state", url: resp, body: `state=x&vp_token=%7B%7D`, type: "application/x-www-form-urlencoded" },
    { name: "form: two presentations", url: resp, body: new URLSearchParams({ state: base.requestId, vp_token: json({ realname_identity: [base.body.presentation, base.body.presentation] }), consent_receipt: base.body.consentReceipt }).toString(), type: "application/x-www-form-urlencoded" },
    { name: "empty JSON body", url: resp, body: "{}", type: "application/json" },
    { name: "JSON null", url: resp, body: "null", type: "application/json" },
    { name: "JSON array", url: resp, body: "[]", type: "application/json" },
    { name: "__proto__ keys", url: resp, body: '{"__proto__":{"admin":true},"presentation":"a~","consentReceipt":"b"}', type: "application/json" },
    { name: "numbers for strings", url: resp, body: json({ presentation: 1, consentReceipt: 2 }), type: "application/json" },
    { name: "invalid UTF-8", url: resp, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), type: "application/json" },
    { name: "bad JSON", url: resp, body: "{presentation:", type: "application/json" },
    { name: "request id not a uuid", url: `${v}/requests/..%2F..%2Fetc/response`, body: json(base.body), type: "application/json" },
    { name: "unknown request id", url: `${v}/requests/00000000-0000-0000-0000-000000000000/response`, body: json(base.body), type: "application/json" },
    { name: "create request: unknown level", url: `${v}/requests`, body: json({ level: "everything", purpose: "x" }), type: "application/json" },
    { name: "create request: full without claims", url: `${v}/requests`, body: json({ level: "full", purpose: "x" }), type: "application/json" },
    { name: "create request: 5000-char purpose", url: `${v}/requests`, body: json({ level: "verified", purpose: "p".repeat(5000) }), type: "application/json" },
    { name: "result without the transaction secret", url: `${v}/requests/${base.requestId}/result` },
    { name: "login: garbage proof", url: `${v}/login/challenges/00000000-0000-0000-0000-000000000000/response`, body: json({ proof: "a.b.c" }), type: "application/json" },
    { name: "withdrawal: garbage receipt", url: `${v}/grants/00000000-0000-0000-0000-000000000000/withdrawal`, body: json({ withdrawalReceipt: "x" }), type: "application/json" },
    { name: "notary receipts without a signature", url: `${v}/notary/receipts?grantId=00000000-0000-0000-0000-000000000000` },
    { name: "notary receipts with a garbage signature", url: `${v}/notary/receipts?from=2020-01-01T00:00:00Z`, headers: { authorization: "NotaryDID a.b.c" } },
    { name: "anchors: not a hash", url: `${v}/anchors/zzz` },
    { name: "issuer: empty registration", url: `${i}/registrations`, body: "{}", type: "application/json" },
    { name: "issuer: registration with an unknown device", url: `${i}/registrations`, body: json({ fullName: "张三", idNumber: PERSON.idNumber, portrait: Buffer.from([0xff, 0xd8, 0xff, 0, 1, 2]).toString("base64"), nonce: "n".repeat(22), deviceProof: "a.b.c" }), type: "application/json" },
    { name: "issuer: registration, bad ID check digit", url: `${i}/registrations`, body: json({ fullName: "张三", idNumber: "110105199003071238", portrait: "AAAA", nonce: "n".repeat(22), deviceProof: "x" }), type: "application/json" },
    { name: "issuer: oversized portrait", url: `${i}/registrations`, body: json({ portrait: "A".repeat(5_000_000) }), type: "application/json" },
    { name: "issuer: confirmation of an unknown registration", url: `${i}/registrations/00000000-0000-0000-0000-000000000000/confirmation`, body: json({ confirm: true }), type: "application/json" },
    { name: "issuer: token with an unknown code", url: `${i}/token`, body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=x", type: "application/x-www-form-urlencoded" },
    { name: "issuer: token with another grant type", url: `${i}/token`, body: "grant_type=client_credentials", type: "application/x-www-form-urlencoded" },
    { name: "issuer: token as JSON", url: `${i}/token`, body: "{}", type: "application/json" },
    { name: "issuer: credential without a token", url: `${i}/credential`, body: "{}", type: "application/json" },
    { name: "issuer: credential with a garbage token", url: `${i}/credential`, body: "{}", type: "application/json", headers: { authorization: "Bearer a.b.c" } },
    { name: "issuer: offer that does not exist", url: `${i}/offers/00000000-0000-0000-0000-000000000000` },
    { name: "issuer: offer id not a uuid", url: `${i}/offers/%00` },
    { name: "issuer: attestation alg none", url: `${i}/attested-identities`, body: json({ attestation: `${b64url(Buffer.from('{"alg":"none","typ":"identity-attestation+jwt"}'))}.${b64url(Buffer.from("{}"))}.` }), type: "application/json" },
    { name: "issuer: refresh with garbage", url: `${i}/refresh`, body: json({ presentation: "a~", nonce: "n".repeat(22) }), type: "application/json" },
    { name: "issuer: admin without a token", url: `${i}/admin/status`, body: json({ indexes: [1], status: "revoked" }), type: "application/json" },
    { name: "issuer: admin with a wrong token", url: `${i}/admin/blacklist`, body: json({ kind: "person", idNumber: PERSON.idNumber, reason: "x" }), type: "application/json", headers: { authorization: "Bearer guess" } },
    { name: "issuer: snapshot not a hash", url: `${i}/status-lists/1/snapshots/..%2F..` },
    { name: "issuer: unknown path", url: `${i}/etc/passwd` },
    { name: "issuer: jwt-vc-issuer metadata for a path that is not the issuer's", url: `${i}/.well-known/jwt-vc-issuer/..%2F..%2Fetc` },
    { name: "issuer: credential naming an unknown configuration (garbage token first)", url: `${i}/credential`, body: json({ credential_configuration_id: "x".repeat(5000) }), type: "application/json", headers: { authorization: "Bearer a.b.c" } },
    // The checkout page (HTML: the code rides in data-error-code, the person reads words).
    { name: "checkout: post from another site", url: `${v}/checkout`, body: "offer=x", type: "application/x-www-form-urlencoded", headers: { origin: "http://evil.example" } },
    { name: "checkout: unknown offer", url: `${v}/checkout`, body: "offer=everything", type: "application/x-www-form-urlencoded", headers: { origin: v } },
    { name: "checkout: 100 form fields", url: `${v}/checkout`, body: Array.from({ length: 100 }, (_, n) => `f${n}=1`).join("&"), type: "application/x-www-form-urlencoded", headers: { origin: v } },
    { name: "checkout: oversized form", url: `${v}/checkout`, body: `offer=${"a".repeat(40_000)}`, type: "application/x-www-form-urlencoded", headers: { origin: v } },
    { name: "checkout: another browser's result", url: `${v}/checkout/${base.requestId}` },
    { name: "checkout: id not a uuid", url: `${v}/checkout/..%2F..%2Fetc` },
    { name: "checkout: login of another browser", url: `${v}/checkout/login/00000000-0000-0000-0000-000000000000/status` },
    // The strict SD-JWT verifier (issue 13): one spelling per token, valid UTF-8, unique member names.
    { name: "key-binding signature in non-canonical base64url (same bytes)", url: resp, body: json({ ...base.body, presentation: [...parts.slice(0, -1), ((kb: string) => kb.slice(0, -1) + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(kb.slice(-1)) ^ 1])(parts[parts.length - 1]!)].join("~") }), type: "application/json" },
    { name: "disclosure not valid UTF-8", url: resp, body: json({ ...base.body, presentation: [parts[0], b64url(Buffer.concat([Buffer.from('["salt-0123456789abcdef","real_name_verified","'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"]')])), ...parts.slice(1)].join("~") }), type: "application/json" },
    { name: "issuer JWT header with duplicate member names", url: resp, body: json({ ...base.body, presentation: [`${b64url(Buffer.from('{"alg":"EdDSA","typ":"JWT","typ":"dc+sd-jwt"}'))}.${jwtP}.${parts[0]!.split(".")[2]}`, ...parts.slice(1)].join("~") }), type: "application/json" },
    // OpenID4VP 1.0 (issue 13): a plain answer (no consent receipt) whose key binding names another request's terms and nonce, and declines that are not this request's.
    { name: "plain answer: another request's presentation (its transaction_data hash and nonce)", url: resp, body: new URLSearchParams({ state: base.requestId, vp_token: json({ realname_identity: [other.body.presentation] }) }).toString(), type: "application/x-www-form-urlencoded" },
    { name: "decline: another request's state", url: resp, body: new URLSearchParams({ error: "access_denied", state: other.requestId }).toString(), type: "application/x-www-form-urlencoded" },
    { name: "decline: malformed error code", url: resp, body: new URLSearchParams({ error: 'access_denied"\\', state: base.requestId }).toString(), type: "application/x-www-form-urlencoded" },
    // Issue 13, algorithm confusion (EdDSA and ES256 both accepted): the key decides the algorithm, not the header.
    ...algConfusionCases(base.body.presentation).map((c) => ({ name: c.name, url: resp, body: json({ ...base.body, presentation: c.presentation }), type: "application/json" })),
  ];
  const report: AttackReport = { cases: 0, refusedWithCode: 0, serverErrors: [], accepted: [], servicesAlive: false };
  for (const c of cases) {
    const r = await send(c.url, c);
    report.cases++;
    const code = r.json?.error?.code ?? r.json?.code ?? (typeof r.json?.error === "string" ? r.json.error : undefined) ?? /data-error-code="(ERR_[A-Z_]+)"/.exec(r.text)?.[1];
    if (r.status >= 500) report.serverErrors.push({ name: c.name, status: r.status });
    else if (r.status < 400) report.accepted.push(c.name);
    else if (typeof code === "string") report.refusedWithCode++;
  }
  // The accepted answer, then its replay: accepted once.
  const ok = await send(resp, { body: json(base.body), type: "application/json" });
  const replay = await send(resp, { body: json(base.body), type: "application/json" });
  report.cases += 2;
  if (ok.status !== 200) report.accepted.push(`genuine answer refused (${ok.status})`);
  else report.refusedWithCode++;
  if (replay.status === 409 && replay.json?.error?.code === "ERR_NONCE_REUSED") report.refusedWithCode++;
  else report.accepted.push("replay");

  // Command lines: garbage in, a code and an exit code out, never a stack trace.
  const bin = (name: string) => join(REPO_ROOT, "node_modules", ".bin", name);
  const garbage = join(s.work, "garbage.json");
  writeFileSync(garbage, "{ not json");
  const emptyBundle = join(s.work, "empty-bundle.json");
  writeFileSync(emptyBundle, "{}");
  const cli: Array<{ name: string; cmd: string; args: string[]; env?: Record<string, string> }> = [
    { name: "notary verify: not JSON", cmd: "notary", args: ["verify", garbage, "--json"] },
    { name: "notary verify: empty object", cmd: "notary", args: ["verify", emptyBundle, "--json"] },
    { name: "notary verify: missing file", cmd: "notary", args: ["verify", join(s.work, "nope.json"), "--json"] },
    { name: "notary report: not a bundle", cmd: "notary", args: ["report", emptyBundle, "--out", join(s.work, "r.html"), "--json"] },
    { name: "verify: garbage presentation", cmd: "verify", args: ["--presentation", garbage, "--trusted-issuer", s.issuer.did, "--audience", "x", "--nonce", "y", "--json"] },
    { name: "wallet answer: garbage link", cmd: "wallet", args: ["answer", "not a link", "--yes", "--json"], env: { WALLET_DIR: join(s.work, "cli-wallet"), WALLET_PIN: "0000" } },
  ];
  for (const c of cli) {
    report.cases++;
    try {
      await exec(bin(c.cmd), c.args, { cwd: REPO_ROOT, env: { ...process.env, ...c.env } });
      report.accepted.push(`cli: ${c.name}`);
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      const crashed = /\n\s+at .+\(/.test(e.stderr) || e.code === undefined || e.code > 5;
      if (crashed) report.serverErrors.push({ name: `cli: ${c.name}`, status: e.code });
      else report.refusedWithCode++;
    }
  }
  await consentTermsAndResultDrill(s, report);
  // Forged evidence: self-made keys and registry, anchored on an AnchorRegistry the forger deployed on the
  // same chain. `notary verify` (trusting the stack's deployment and issuer) must refuse it: exit 1.
  {
    const forgerKey = devAccountKey(9);
    const forgerDeployment = await deployAnchorRegistry({ rpcUrl: s.chain.url, deployerKey: forgerKey, anchorers: [new Wallet(forgerKey).address] });
    const forgerRegistry = await AnchorRegistryClient.connect({ rpcUrl: s.chain.url, address: forgerDeployment.address, privateKey: forgerKey });
    const forgedFile = join(s.work, "forged-bundle.json");
    try {
      writeFileSync(forgedFile, JSON.stringify((await makeEvidenceBundle({ anchorOn: forgerRegistry, registryIssuer: newKey() })).bundle));
    } finally {
      forgerRegistry.close();
    }
    report.cases++;
    try {
      await exec(bin("notary"), ["verify", forgedFile, "--rpc", s.chain.url, "--deployment", s.deploymentFile, "--issuer", s.issuer.did, "--json"], { cwd: REPO_ROOT });
      report.accepted.push("cli: notary verify: a forged bundle on the forger's own AnchorRegistry");
    } catch (error) {
      const e = error as { code: number; stdout: string };
      const refused = e.code === 1 && JSON.parse(e.stdout).checks.some((c: { code?: string }) => c.code === "ERR_EVIDENCE_UNTRUSTED_CONTRACT");
      if (refused) report.refusedWithCode++;
      else report.accepted.push(`cli: notary verify: a forged bundle (exit ${e.code})`);
    }
  }
  report.servicesAlive = (await send(`${v}/health`)).status === 200 && (await send(`${i}/health`)).status === 200;
  return report;
}

export interface LoadReport {
  seconds: number;
  answers: number;
  accepted: number;
  replaysAccepted: number;
  errors: number;
  rssFirstHalfMiB: number;
  rssSecondHalfMiB: number;
}

/** Sustained concurrent answers plus a replay of each: zero errors, zero accepted replays, memory flat. */
export async function loadDrill(s: Stack, answers: number, maxSeconds: number): Promise<LoadReport> {
  const bodies: Array<{ path: string; body: string }> = [];
  for (let n = 0; n < answers; n++) {
    const a = await s.captureAnswer("verified");
    const entry = { path: new URL(a.url).pathname, body: JSON.stringify(a.body) };
    bodies.push(entry, entry); // each answer twice: the second is a replay
  }
  const rss: number[] = [];
  const sampler = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${s.verifier.child.pid}/status`, "utf8"));
      if (m) rss.push(Number(m[1]) / 1024);
    } catch {
      /* gone */
    }
  }, 100);
  let next = 0;
  const statuses: number[] = [];
  const result = await autocannon({
    url: s.verifier.url,
    connections: 8,
    amount: bodies.length,
    duration: maxSeconds,
    requests: [{ method: "POST", headers: { "content-type": "application/json" }, setupRequest: (req: any) => ({ ...req, ...bodies[next++ % bodies.length] }), onResponse: (status: number) => void statuses.push(status) }],
  });
  clearInterval(sampler);
  const half = Math.max(1, Math.floor(rss.length / 2));
  const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const accepted = statuses.filter((x) => x === 200).length;
  const replaysRefused = statuses.filter((x) => x === 409).length;
  return {
    seconds: result.duration,
    answers,
    accepted,
    replaysAccepted: Math.max(0, accepted - answers),
    // Anything but "accepted" or "already answered", plus connection errors and timeouts, is an error.
    errors: statuses.length - accepted - replaysRefused + result.errors + result.timeouts,
    rssFirstHalfMiB: Math.round(avg(rss.slice(0, half))),
    rssSecondHalfMiB: Math.round(avg(rss.slice(half))),
  };
}

export interface FaultReport {
  acknowledged: number;
  anchoredOnce: number;
  missing: number;
  degradedAnswersAccepted: number;
  backlogWhileDown: number;
}

/** kill -9 of the verifier mid-load, and the chain stopped and restarted: every acknowledged receipt anchored once. */
export async function faultDrill(s: Stack, answers: number): Promise<FaultReport> {
  const acknowledged: string[] = [];
  const prepared = [];
  for (let n = 0; n < answers; n++) prepared.push(await s.captureAnswer("verified"));
  // Half the answers, with a kill -9 in the middle of them.
  const firstHalf = prepared.slice(0, Math.floor(answers / 2));
  const sending = firstHalf.map(async (a, k) => {
    await new Promise((r) => setTimeout(r, k * 15));
    try {
      const r = await fetch(a.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(a.body) });
      if (r.status === 200) {
        const j = (await r.json()) as { grantReceipt: string };
        acknowledged.push(receiptHash(a.body.consentReceipt), receiptHash(j.grantReceipt));
      }
    } catch {
      /* the process died under this request: not acknowledged */
    }
  });
  await new Promise((r) => setTimeout(r, firstHalf.length * 7));
  s.verifier.child.kill("SIGKILL");
  await Promise.all(sending);
  const child = s.verifier.child;
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once("exit", r));
  await s.restartVerifier();

  // The chain goes down: answers are still verified and acknowledged; anchoring waits with its backlog.
  await s.chain.close();
  let degradedAnswersAccepted = 0;
  const secondHalf = prepared.slice(Math.floor(answers / 2));
  const stillOpen = [];
  for (const a of secondHalf) {
    const r = await fetch(a.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(a.body) });
    if (r.status === 200) {
      degradedAnswersAccepted++;
      const j = (await r.json()) as { grantReceipt: string };
      acknowledged.push(receiptHash(a.body.consentReceipt), receiptHash(j.grantReceipt));
    } else stillOpen.push(a);
  }
  await new Promise((r) => setTimeout(r, 800));
  const health = await fetchJson<{ anchoring: { pending: number; unconfirmedBatches: number } }>(`${s.verifier.url}/health`);
  const backlogWhileDown = health.anchoring.pending + health.anchoring.unconfirmedBatches;
  // The chain comes back (the same node, on the same port).
  s.chain = await startEmbeddedChain(s.chainPort);
  const registry = await AnchorRegistryClient.connect({ rpcUrl: s.chain.url, address: s.deployment.address });
  const deadline = Date.now() + 60_000;
  let anchoredOnce = 0;
  let missing = acknowledged.length;
  const roots = new Map<string, number>();
  while (Date.now() < deadline) {
    anchoredOnce = 0;
    roots.clear();
    for (const h of acknowledged) {
      const rec = await fetchJson<{ status: string; root?: string }>(`${s.verifier.url}/anchors/${h}`).catch(() => undefined);
      if (rec?.status === "anchored") {
        anchoredOnce++;
        roots.set(rec.root!, (roots.get(rec.root!) ?? 0) + 1);
      }
    }
    missing = acknowledged.length - anchoredOnce;
    if (missing === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  // Each root is on chain once (the contract refuses a second anchoring of a root anyway).
  for (const root of roots.keys()) if (!(await registry.findAnchor(root))) missing++;
  registry.close();
  return { acknowledged: acknowledged.length, anchoredOnce, missing, degradedAnswersAccepted, backlogWhileDown };
}

export interface PrivacyReport {
  blocksScanned: number;
  transactionsScanned: number;
  logLines: number;
  findings: string[];
}

/** Everything written on chain and in the services' logs, searched for the person's claim values. */
export async function privacyScan(s: Stack): Promise<PrivacyReport> {
  const secrets = [PERSON.fullName, PERSON.idNumber, PERSON.birthDate, "张", PERSON.idNumber.slice(6, 14)];
  const forms = secrets.flatMap((x) => [Buffer.from(x).toString("hex"), Buffer.from(x).toString("base64").replace(/=+$/, ""), Buffer.from(x).toString("base64url")]);
  const registry = await AnchorRegistryClient.connect({ rpcUrl: s.chain.url, address: s.deployment.address });
  const findings: string[] = [];
  const latest = await registry.provider.getBlockNumber();
  let txs = 0;
  for (let b = 0; b <= latest; b++) {
    const block = await registry.provider.getBlock(b, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      txs++;
      const receipt = await registry.provider.getTransactionReceipt(tx.hash);
      const blob = [tx.data, ...(receipt?.logs ?? []).flatMap((l) => [l.data, ...l.topics])].join("").toLowerCase();
      for (const f of forms) if (f.length >= 6 && blob.includes(f.toLowerCase())) findings.push(`block ${b} tx ${tx.hash}: ${f}`);
    }
  }
  registry.close();
  const logs = [...s.issuer.output, ...s.verifier.output].join("\n");
  for (const x of secrets) if (logs.includes(x)) findings.push(`service logs contain ${x}`);
  return { blocksScanned: latest + 1, transactionsScanned: txs, logLines: logs.split("\n").length, findings };
}

/**
 * Issue 12 §1 and §4: consent receipts signed by the person's real key over terms the merchant never offered
 * (each refused with its own code), and a request's opener (transaction secret, checkout cookie) or a reused
 * response code trying to read what the person who answered shared. Adds its cases to `report`.
 */
export async function consentTermsAndResultDrill(s: Stack, report: AttackReport): Promise<void> {
  const v = s.verifier.url;
  const leaks = (text: string) => [PERSON.fullName, PERSON.idNumber].some((x) => text.includes(x));
  // The wallet signs whatever terms its preview holds: bend one, capture the answer, send it to the verifier.
  const tampered: Array<{ name: string; code: string; bend: (p: Awaited<ReturnType<Stack["wallet"]["preview"]>>) => void }> = [
    { name: "level", code: "ERR_CONSENT_TERMS_LEVEL", bend: (p) => void (p.request = { ...p.request, level: "full" }) },
    { name: "purpose", code: "ERR_CONSENT_TERMS_PURPOSE", bend: (p) => void (p.request = { ...p.request, purpose: "drill, and resale" }) },
    { name: "retention", code: "ERR_CONSENT_TERMS_RETENTION", bend: (p) => void (p.request = { ...p.request, retention_days: 3650 }) },
    // The wallet names the merchant as the registry does (issue 12 §1): bend the entry it read.
    { name: "merchant name", code: "ERR_CONSENT_TERMS_MERCHANT_NAME", bend: (p) => void (p.merchant = { ...p.merchant, name: "Someone Else" }) },
    { name: "request hash", code: "ERR_CONSENT_TERMS_REQUEST", bend: (p) => void (p.requestJwt = `${p.requestJwt}x`) },
  ];
  for (const t of tampered) {
    report.cases++;
    const name = `consent terms: ${t.name} not what was offered`;
    const created = await fetchJson<{ authorizationRequest: string }>(`${v}/requests`, { body: { level: "verified", purpose: "drill" } });
    await s.ensureCredential();
    const preview = await s.wallet.preview(created.authorizationRequest);
    t.bend(preview);
    let captured: { url: string; body: unknown } | undefined;
    const answered = await s.wallet
      .answer(preview, {
        transport: async (url, body) => {
          captured = { url, body };
          throw Object.assign(new Error("captured"), { code: "CAPTURED" });
        },
      })
      .catch((e: { code?: string }) => e);
    if (!captured) {
      // The wallet itself refused to sign terms other than the request's: held before the merchant.
      if ((answered as { code?: string }).code) report.refusedWithCode++;
      else report.accepted.push(name);
      continue;
    }
    const r = await send(captured.url, { body: JSON.stringify(captured.body), type: "application/json" });
    if (r.status >= 500) report.serverErrors.push({ name, status: r.status });
    else if (r.status < 400 || r.json?.error?.code !== t.code) report.accepted.push(`${name} (${r.status} ${r.json?.error?.code})`);
    else report.refusedWithCode++;
  }

  // The attacker opens a request and keeps its transaction secret; the victim's wallet answers it.
  await s.admin("/admin/merchants", { did: s.verifier.did, name: "Drill Shop", maxLevel: "full", purposes: ["drill", "Issue an invoice in the buyer's legal name"], fullClaims: ["full_name", "id_number"], origins: [new URL(v).origin] }, "PUT");
  const opened = await fetchJson<{ requestId: string; authorizationRequest: string; transactionSecret: string }>(`${v}/requests`, { body: { level: "full", purpose: "drill", claims: ["full_name", "id_number"] } });
  await s.ensureCredential();
  const victim = await s.wallet.answer(await s.wallet.preview(opened.authorizationRequest));
  const bySecret = await send(`${v}/requests/${opened.requestId}/result`, { headers: { "x-transaction-secret": opened.transactionSecret } });
  report.cases++;
  if (bySecret.status >= 500) report.serverErrors.push({ name: "result with the opener's secret", status: bySecret.status });
  else if (leaks(bySecret.text) || bySecret.json?.claims !== undefined || bySecret.json?.account !== undefined) report.accepted.push("result with the opener's secret shows the victim's data");
  else report.refusedWithCode++;
  // The victim's own redirect shows it once; the same code again (replayed or leaked) shows nothing.
  if (victim.returnTo) await send(victim.returnTo);
  const reused = await send(victim.returnTo ?? `${v}/requests/${opened.requestId}/result?response_code=none`);
  report.cases++;
  if (reused.status >= 500) report.serverErrors.push({ name: "result with a used response code", status: reused.status });
  else if (reused.status < 400 || leaks(reused.text)) report.accepted.push("result with a used response code");
  else report.refusedWithCode++;

  // The same through the checkout page: the attacker's browser (its cookie) sends the link to a victim.
  const form = await fetch(`${v}/checkout`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: v }, body: "offer=invoice", redirect: "manual" });
  const page = new URL(form.headers.get("location") ?? "/checkout/none", v).href;
  const cookie = (form.headers.get("set-cookie") ?? "").split(";")[0]!;
  const link = /openid4vp:\/\/\?[^<"]+/.exec((await send(page, { headers: { cookie } })).text)?.[0]?.replace(/&amp;/g, "&");
  report.cases++;
  if (!link) report.accepted.push("checkout: the attacker's page showed no request link (drill setup)");
  else {
    await s.ensureCredential();
    const answeredAtCheckout = await s.wallet.answer(await s.wallet.preview(link));
    const attackerView = await send(page, { headers: { cookie } });
    if (attackerView.status >= 500) report.serverErrors.push({ name: "checkout: the opener's browser after a victim answered", status: attackerView.status });
    else if (leaks(attackerView.text)) report.accepted.push("checkout: the opener's browser sees the victim's data");
    else report.refusedWithCode++;
    if (answeredAtCheckout.returnTo) await send(answeredAtCheckout.returnTo);
    const again = await send(answeredAtCheckout.returnTo ?? `${page}?response_code=none`, { headers: { cookie } });
    report.cases++;
    if (again.status >= 500) report.serverErrors.push({ name: "checkout: a used response code", status: again.status });
    else if (again.status < 400 || leaks(again.text) || !/data-error-code="ERR_/.test(again.text)) report.accepted.push("checkout: a used response code");
    else report.refusedWithCode++;
  }
}

export interface SingleUseReport {
  /** N simultaneous uses of one single-use thing: exactly one may succeed, the rest refused with a code (4xx). */
  doubleSpends: Array<{ name: string; attempts: number; succeeded: number; refusedWithCode: number }>;
  /** Hostile servers against the bounded fetch: each refused with its code. */
  fetches: Array<{ name: string; expected: string; got: string }>;
  held: boolean;
}

/** Concurrent double-spends (attestation jti, pre-authorized code, access token, notary signature) and the bounded fetch. */
export async function singleUseDrill(s: Stack, attempts = 10): Promise<SingleUseReport> {
  const { boundedFetch, notaryAuthorization } = await import("@realname/agent");
  const { createServer } = await import("node:http");
  const { generateKeyPairSync, randomUUID } = await import("node:crypto");
  const { didKeyFromPublicKey, keyObjectSigner } = await import("@realname/agent");
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const notary = { did: didKeyFromPublicKey(fromB64url(publicKey.export({ format: "jwk" }).x as string)), signer: keyObjectSigner(privateKey) };
  await s.admin("/admin/notaries", { did: notary.did, name: "Drill Notary" }, "PUT");
  const i = s.issuer.url;
  const doubleSpends: SingleUseReport["doubleSpends"] = [];
  const race = async (name: string, ok: number, fire: () => Promise<{ status: number; json: any }>) => {
    const results = await Promise.all(Array.from({ length: attempts }, fire));
    const succeeded = results.filter((r) => r.status === ok).length;
    const refusedWithCode = results.filter((r) => r.status >= 400 && r.status < 500 && typeof (r.json?.error?.code ?? r.json?.code) === "string").length;
    doubleSpends.push({ name, attempts, succeeded, refusedWithCode });
    return results.find((r) => r.status === ok);
  };
  // 李四: in the registry, never registered by registry and face in this stack (a notary's upload for PERSON
  // would be a conflict: it never replaces an identity verified by registry and face).
  const person = { idNumber: "310115198508154561", fullName: "李四", familyName: "李", givenName: "四", birthDate: "1985-08-15" };
  const notaryPortrait = readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "li-si-live.jpg"));
  const attestation = await signJws({ typ: "identity-attestation+jwt", alg: "EdDSA" }, { iss: notary.did, aud: s.issuer.did, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), person, portrait_sha256: sha256Hex(notaryPortrait) }, notary.signer);
  const attestedBody = JSON.stringify({ attestation, portrait: notaryPortrait.toString("base64") });
  const attested = await race("notary attestation (jti)", 201, () => send(`${i}/attested-identities`, { body: attestedBody, type: "application/json" }));
  const offerUri = new URL(String(attested?.json?.credentialOffer ?? "x://?credential_offer_uri=x").replace(/^[a-z-]+:\/\//, "https://x/")).searchParams.get("credential_offer_uri") ?? "";
  const code = (await send(offerUri)).json?.grants?.["urn:ietf:params:oauth:grant-type:pre-authorized_code"]?.["pre-authorized_code"] ?? "none";
  const form = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": code }).toString();
  const token = await race("pre-authorized code", 200, () => send(`${i}/token`, { body: form, type: "application/x-www-form-urlencoded" }));
  const accessToken = token?.json?.access_token ?? "none";
  await race("access token", 200, async () => {
    const nonce = (await send(`${i}/nonce`, { method: "POST" })).json?.c_nonce;
    const k = generateKeyPairSync("ed25519");
    const proof = await signJws({ typ: "openid4vci-proof+jwt", alg: "EdDSA", jwk: { kty: "OKP", crv: "Ed25519", x: k.publicKey.export({ format: "jwk" }).x } }, { aud: i, iat: Math.floor(Date.now() / 1000), nonce }, keyObjectSigner(k.privateKey));
    return send(`${i}/credential`, { body: JSON.stringify({ credential_configuration_id: "RealNameIdentity_dc_sd_jwt", proofs: { jwt: [proof] } }), type: "application/json", headers: { authorization: `Bearer ${accessToken}` } });
  });
  const path = `/notary/receipts?from=2020-01-01T00:00:00Z`;
  const authorization = await notaryAuthorization(notary, s.verifier.did, "GET", path);
  await race("notary request signature (jti)", 200, () => send(`${s.verifier.url}${path}`, { headers: { authorization } }));

  // Hostile servers on loopback against the one bounded fetch.
  const hanging: Array<import("node:http").ServerResponse> = [];
  const server = createServer((req, res) => {
    if (req.url === "/slow") return void hanging.push(res);
    if (req.url === "/endless") {
      res.writeHead(200);
      const chunk = Buffer.alloc(16_384, 0x61);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on("drain", pump);
      return void pump();
    }
    if (req.url === "/other-host") return void res.writeHead(302, { location: "https://example.com/" }).end();
    if (req.url === "/private") return void res.writeHead(302, { location: "http://192.168.0.1/" }).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const codeOf = (p: Promise<unknown>) => p.then(() => "fetched", (e: { code?: string }) => e.code ?? String(e));
  const dev = { allowLoopbackHttp: true, timeoutMs: 500, maxBytes: 64 * 1024 };
  const fetches: SingleUseReport["fetches"] = [];
  for (const [name, url, expected, policy] of [
    ["slow server", `${base}/slow`, "ERR_FETCH_TIMEOUT", dev],
    ["endless body", `${base}/endless`, "ERR_FETCH_TOO_LARGE", { ...dev, timeoutMs: 10_000 }],
    ["redirect to another host", `${base}/other-host`, "ERR_FETCH_REDIRECT_CROSS_HOST", dev],
    ["redirect to a private address", `${base}/private`, "ERR_FETCH_REDIRECT_PRIVATE", dev],
    ["plain http to a non-loopback host", "http://example.com/", "ERR_FETCH_INSECURE", dev],
    ["plain http to loopback without the development permission", `${base}/slow`, "ERR_FETCH_INSECURE", {}],
  ] as const) {
    fetches.push({ name, expected, got: await codeOf(boundedFetch(url, {}, policy)) });
  }
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  server.close();
  const held = doubleSpends.length === 4 && doubleSpends.every((d) => d.succeeded === 1 && d.refusedWithCode === d.attempts - 1) && fetches.every((f) => f.got === f.expected);
  return { doubleSpends, fetches, held };
}

export interface LinkabilityReport {
  checks: number;
  /** Each a way a merchant could link a person: must stay empty. */
  findings: string[];
}

/** Fields of the issuer-signed JWT that every credential of this issuer carries alike (they link no one). */
const ISSUER_CONSTANT_FIELDS = new Set(["header.alg", "header.typ", "header.kid", "payload.iss", "payload.vct", "payload._sd_alg", "payload._sd.length", "payload.cnf.jwk.kty", "payload.cnf.jwk.crv", "payload.status.status_list.uri"]);

/**
 * Linkability (issue 12 §3): what one merchant sees of several answers of one person must not connect them,
 * and a second pseudonymous account attempt by the same person must land in the same account.
 * 1. Three answers at one merchant (`verified`, `full`, `verified`): every plain field of the issuer-signed
 *    JWTs (header, payload, `_sd` digests, signature) compared pairwise; only issuer-wide constants may repeat.
 * 2. The same person answers `pseudonymous` from a second wallet (a new registration, new credentials, a new
 *    login key): the merchant must file it under the account the first wallet opened.
 */
export async function linkabilityDrill(s: Stack): Promise<LinkabilityReport> {
  const report: LinkabilityReport = { checks: 0, findings: [] };
  const plain = (presentation: string) => {
    const [h, p, sig] = presentation.split("~")[0]!.split(".");
    const out = new Map<string, string[]>([["signature", [sig!]]]);
    const walk = (value: unknown, path: string) => {
      if (Array.isArray(value) && path.endsWith("._sd")) {
        out.set(`${path}.length`, [String(value.length)]);
        out.set(`${path}[]`, value.map(String));
      } else if (value && typeof value === "object" && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
      else out.set(path, [JSON.stringify(value)]);
    };
    walk(JSON.parse(fromB64url(h!).toString()), "header");
    walk(JSON.parse(fromB64url(p!).toString()), "payload");
    return out;
  };
  const answers: Array<Map<string, string[]>> = [];
  for (const level of ["verified", "full", "verified"] as const) answers.push(plain((await s.captureAnswer(level)).body.presentation));
  for (let i = 0; i < answers.length; i++) {
    for (let j = i + 1; j < answers.length; j++) {
      for (const [path, values] of answers[i]!) {
        if (ISSUER_CONSTANT_FIELDS.has(path)) continue;
        report.checks++;
        const shared = values.filter((v) => answers[j]!.get(path)?.includes(v));
        if (shared.length) report.findings.push(`answers ${i} and ${j} share ${path}`);
      }
    }
  }

  // A second account attempt: the same person, a second wallet, a pseudonymous answer to the same merchant.
  const v = s.verifier.url;
  const answerPseudonymous = async (wallet: HolderWallet) => {
    const created = await fetchJson<{ requestId: string; authorizationRequest: string; transactionSecret: string }>(`${v}/requests`, { body: { level: "pseudonymous", purpose: "drill" } });
    const entry = await wallet.answer(await wallet.preview(created.authorizationRequest));
    // The account shows only through the wallet's one-time redirect (the transaction secret shows the level).
    const r = entry.returnTo ? await fetchJson<{ account?: { pseudonym: string } }>(entry.returnTo) : {};
    return r.account?.pseudonym;
  };
  await s.wallet.backgroundRefresh;
  if ((await s.wallet.credentialsLeft()) === 0) await s.wallet.refreshBatch();
  const first = await answerPseudonymous(s.wallet);
  const second = await HolderWallet.open({ dir: join(s.work, "second-wallet"), pin: "0000" });
  try {
    await s.admin("/admin/devices", { deviceId: "drill-second", label: "drill", publicJwk: (await second.deviceKey()).publicJwk });
    const portrait = readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-live.jpg"));
    await second.register(s.issuer.url, { fullName: PERSON.fullName, idNumber: PERSON.idNumber, portrait }, { deviceId: "drill-second", confirm: async () => true, batchSize: 2 });
    const again = await answerPseudonymous(second);
    report.checks++;
    if (!first || first !== again) report.findings.push("a second wallet of the same person opened a second account");
  } finally {
    await second.close();
  }
  return report;
}

export interface WalletTrustReport {
  cases: number;
  /** Attacks the wallet or the verifier refused with a stable code, nothing sent. */
  refusedWithCode: number;
  /** Attacks that got through (what leaked or was signed). */
  accepted: string[];
  serverErrors: Array<{ name: string; status: number }>;
}

/**
 * The wallet as the target: a registered merchant that swaps its request for a `full` one under the PIN,
 * a stale consent form, a request naming itself otherwise than the registry, a phishing page relaying the
 * real merchant's login (answer to itself, or to the merchant), a proof made for another origin, and
 * links that try to make the wallet fetch from a GET. Each must be refused with its code, nothing sent.
 */
export async function walletTrustDrill(s: Stack): Promise<WalletTrustReport> {
  const { startSwappingMerchant, startPhishingPage, startCounter } = await import("./hostile.js");
  const { createWalletWebApp, identityVct, listenOn, sha256Hex } = await import("@realname/agent");
  const report: WalletTrustReport = { cases: 0, refusedWithCode: 0, accepted: [], serverErrors: [] };
  // They ask for the issuer's identity type (its vct URL): the wallet refuses a request for any other type.
  const vct = identityVct(s.issuer.url);
  const swapper = await startSwappingMerchant({ name: "Drill Swap Shop", purpose: "drill", vct });
  const impostor = await startSwappingMerchant({ name: "Drill Small Shop", clientName: "Drill Famous Bank", purpose: "drill", vct });
  const phishing = await startPhishingPage();
  const counter = await startCounter();
  for (const m of [swapper, impostor]) await s.admin("/admin/merchants", { did: m.did, name: m.name, maxLevel: "full", purposes: ["drill"], fullClaims: ["full_name", "id_number"], origins: [m.url] }, "PUT");
  // The web pages over the drill's open wallet (locking the page must not close it for the other drills).
  const hosts: string[] = [];
  const app = createWalletWebApp({ dir: join(s.work, "wallet"), rpcUrl: s.chain.url, allowedHosts: () => hosts, openWallet: async () => Object.assign(Object.create(s.wallet), { close: async () => undefined }) });
  const web = await listenOn(app, "127.0.0.1", 0, hosts);
  let cookie = "";
  const page = async (path: string, form?: Record<string, string>) => {
    const res = await fetch(`${web.url}${path}`, { method: form ? "POST" : "GET", redirect: "manual", headers: { ...(cookie ? { cookie } : {}), ...(form ? { "content-type": "application/x-www-form-urlencoded", origin: web.url } : {}) }, body: form ? new URLSearchParams(form).toString() : undefined });
    cookie = res.headers.get("set-cookie")?.split(";")[0] ?? cookie;
    const text = await res.text();
    return { status: res.status, code: /data-error-code="(ERR_[A-Z_]+)"/.exec(text)?.[1], field: (n: string) => new RegExp(`name="${n}" value="([^"]+)"`).exec(text)?.[1]?.replace(/&amp;/g, "&") };
  };
  const expectRefused = (name: string, code: string | undefined, wanted: string, leaked: boolean) => {
    report.cases++;
    if (leaked || code !== wanted) report.accepted.push(`${name} (${code ?? "accepted"})`);
    else report.refusedWithCode++;
  };
  const codeOf = (p: Promise<unknown>) => p.then(() => undefined, (e: { code?: string }) => e.code);
  try {
    await page("/unlock", { pin: "0000" });
    const authorizePath = (link: string) => `/authorize?${new URL(link.replace("openid4vp://?", "https://x/?")).searchParams}`;

    // 1. The swap: the wallet reviews the `verified` request; the PIN must answer exactly it.
    const swap = await swapper.newRequest();
    const landing = await page(authorizePath(swap.link));
    const reviewed = await page("/authorize/review", { link: landing.field("link")!, csrf: landing.field("csrf")! });
    const shared = await page("/authorize", { request: reviewed.field("request") ?? "", pin: "0000", csrf: landing.field("csrf")! });
    if (shared.status >= 500) report.serverErrors.push({ name: "request swap", status: shared.status });
    report.cases++;
    const full = swapper.answers.filter((a) => a.level !== "verified" || a.disclosed.some((n) => n === "full_name" || n === "id_number"));
    if (full.length || swapper.served.get(swap.requestId) !== 1) report.accepted.push("request swap: the merchant got a `full` answer or fetched twice");
    else report.refusedWithCode++;
    // 2. That consent form again, and a form naming a request nobody reviewed.
    for (const [name, hash] of [["answered consent form posted again", reviewed.field("request") ?? ""], ["consent form for an unreviewed request", sha256Hex("drill")]] as const) {
      const r = await page("/authorize", { request: hash, pin: "0000", csrf: landing.field("csrf")! });
      expectRefused(name, r.code, "ERR_REQUEST_CHANGED", swapper.answers.length > 1);
    }
    // 3. A request calling the merchant otherwise than the registry.
    const impostorLink = (await impostor.newRequest()).link;
    expectRefused("merchant name differs from the registry", await codeOf(s.wallet.preview(impostorLink)), "ERR_MERCHANT_NAME_MISMATCH", impostor.answers.length > 0);
    // 4. The login relay, answered to the phishing page or straight to the merchant.
    for (const answerTo of ["phishing", "merchant"] as const) {
      const { challengeUri } = await fetchJson<{ challengeUri: string }>(`${s.verifier.url}/login/challenges`, { method: "POST", body: {} });
      const code = await codeOf(s.wallet.login(phishing.relay(challengeUri, answerTo)));
      const stillOpen = "nonce" in (await fetchJson<Record<string, unknown>>(challengeUri));
      expectRefused(`login relayed by a look-alike site (answer to the ${answerTo})`, code, "ERR_ORIGIN_NOT_REGISTERED", phishing.proofsReceived > 0 || !stillOpen);
    }
    // 5. A login proof made for another origin (a wallet without the registry check) at the verifier.
    const { challengeUri } = await fetchJson<{ challengeUri: string }>(`${s.verifier.url}/login/challenges`, { method: "POST", body: {} });
    const genuine = await s.wallet.checkLogin(challengeUri);
    const proofCode = await codeOf(s.wallet.login({ ...genuine, challengeUri: phishing.relay(challengeUri, "merchant") }));
    expectRefused("login proof bound to another origin", proofCode, "ERR_PAIRWISE_PROOF_ORIGIN", !("nonce" in (await fetchJson<Record<string, unknown>>(challengeUri))));
    // 6. Links any site can open make the wallet fetch nothing.
    const link = `openid4vp://?client_id=${encodeURIComponent("decentralized_identifier:did:key:z6MkDrill")}&request_uri=${encodeURIComponent(`${counter.url}/r`)}`;
    await page(authorizePath(link));
    await page(`/login?challenge=${encodeURIComponent(`${counter.url}/login/challenges/00000000-0000-0000-0000-000000000000`)}`);
    report.cases++;
    if (counter.hits.length) report.accepted.push(`a GET made the wallet fetch (${counter.hits.join(", ")})`);
    else report.refusedWithCode++;
  } finally {
    await web.close();
    await app.sessions.lock();
    await Promise.allSettled([swapper.close(), impostor.close(), phishing.close(), counter.close()]);
  }
  return report;
}

/**
 * Issue 13: presentations whose headers name another algorithm than their key's: an ES256 header over the
 * issuer's Ed25519 signature, HS256 keyed with the issuer's public key (the classic JWT confusion), and a
 * key binding relabelled ES256. Each must be refused with a code (ERR_SDJWT_ALG / ERR_KB_ALG), never tried.
 */
export function algConfusionCases(presentation: string): Array<{ name: string; presentation: string }> {
  const parts = presentation.split("~");
  const [h, p, sig] = parts[0]!.split(".") as [string, string, string];
  const header = JSON.parse(fromB64url(h).toString());
  const relabel = (jwt: string, alg: string) => {
    const [jh, jp, js] = jwt.split(".") as [string, string, string];
    return `${b64url(Buffer.from(JSON.stringify({ ...JSON.parse(fromB64url(jh).toString()), alg })))}.${jp}.${js}`;
  };
  const hsHeader = b64url(Buffer.from(JSON.stringify({ ...header, alg: "HS256" })));
  // The issuer's public key (its did:key's Ed25519 bytes) as an HMAC secret, as a confused verifier would use it.
  const publicKeySecret = Buffer.from(publicKeyFromDidKey(String(header.kid ?? "").split("#")[0]!));
  const hs = `${hsHeader}.${p}.${b64url(createHmac("sha256", publicKeySecret).update(`${hsHeader}.${p}`).digest())}`;
  return [
    { name: "alg confusion: ES256 header over the issuer's EdDSA signature", presentation: [relabel(`${h}.${p}.${sig}`, "ES256"), ...parts.slice(1)].join("~") },
    { name: "alg confusion: HS256 issuer JWT keyed with the issuer's public key", presentation: [hs, ...parts.slice(1)].join("~") },
    { name: "alg confusion: key binding relabelled ES256", presentation: [...parts.slice(0, -1), relabel(parts[parts.length - 1]!, "ES256")].join("~") },
  ];
}
