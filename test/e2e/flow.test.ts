import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  AnchorRegistryClient,
  buildEvidenceBundle,
  fetchJson,
  HolderWallet,
  REPO_ROOT,
  notaryAuthorization,
  receiptHash,
  signJws,
  dcqlFor,
  verifyEvidenceBundle,
  loadTrustAnchors,
  type Deployment,
  type GrantEntry,
  type GrantLevel,
} from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { newTestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";
import { startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";

const exec = promisify(execFile);
const PERSON = { fullName: "张三", idNumber: "110105199003071239", portrait: readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-live.jpg")) };
const ADMIN_TOKEN = "e2e-admin-token-0123456789";

/** POST that returns status and body instead of throwing: for refusal tests. */
async function post(url: string, body: unknown, contentType = "application/json"): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": contentType }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

describe("End to end: chain, issuer and two merchants as real processes, a wallet, a notary", function () {
  this.timeout(180_000);
  let chain: EmbeddedChain;
  let deployment: Deployment;
  let deploymentFile: string;
  let issuer: ServiceProcess;
  let shopA: ServiceProcess;
  let shopB: ServiceProcess;
  let wallet: HolderWallet;
  let work: string;
  const grants: Record<string, GrantEntry> = {};
  /** The account shop A keeps for PERSON (the issuer-signed pseudonym it is keyed by). */
  let memberAtA: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "e2e-"));
    const c = await chainWithRegistry();
    chain = c.chain;
    deployment = c.deployment;
    deploymentFile = c.deploymentFile;
    issuer = await startService("issuer-service", {
      DATA_DIR: join(work, "issuer"),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ISSUER_PASSPHRASE: "test-issuer",
      ISSUER_DATA_KEY: "11".repeat(32),
      ADMIN_TOKEN,
      ANCHOR_DEV_ACCOUNT: "2",
      STATUS_PUBLISH_INTERVAL_SECONDS: "0.2",
      RISK_MAX_PER_ADDRESS: "1000",
      RISK_MAX_PER_ID_NUMBER: "1000",
    });
    const verifierEnv = (key: string, account: string) => ({
      DATA_DIR: join(work, key),
      // Plain answers: these tests post hand-made answers (and our JSON form) straight to the response endpoint.
      RESPONSE_MODE: "direct_post",
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ANCHOR_DEV_ACCOUNT: account,
      MERCHANT_NAME: `Shop ${key}`,
      MERCHANT_PASSPHRASE: `test-${key}`,
      TRUSTED_ISSUERS: issuer.did,
      ANCHOR_BATCH_AGE_MS: "300",
      ISSUER_URL: issuer.url,
      STATUS_CACHE_SECONDS: "0",
      RETENTION_SWEEP_MS: "200",
    });
    [shopA, shopB] = await Promise.all([startService("verifier-service", verifierEnv("a", "1")), startService("verifier-service", verifierEnv("b", "3"))]);
    for (const shop of [shopA, shopB]) await registerMerchant(shop);
    wallet = await HolderWallet.open({ dir: join(work, "wallet"), pin: "135790" });
    await wallet.init();
    await admin("/admin/devices", { deviceId: "e2e-phone", label: "test phone", publicJwk: (await wallet.deviceKey()).publicJwk });
    const reg = await wallet.register(issuer.url, PERSON, { deviceId: "e2e-phone", batchSize: 8, confirm: async (masked) => masked.name === "张*" });
    expect(reg.received).to.equal(8);
    expect(reg.masked).to.deep.equal({ name: "张*", idNumber: "1101**********1239" });
  });

  after(async () => {
    await wallet?.close();
    await Promise.allSettled([issuer, shopA, shopB].filter(Boolean).map((s) => s.stop()));
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const admin = (path: string, body: unknown, method = "POST") => fetchJson(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const registerMerchant = (shop: ServiceProcess, over: Record<string, unknown> = {}) =>
    admin("/admin/merchants", { did: shop.did, name: shop === shopA ? "Shop a" : "Shop b", maxLevel: "full", purposes: ["test verified", "test pseudonymous", "test full"], fullClaims: ["full_name", "id_number"], origins: [new URL(shop.url).origin], ...over }, "PUT");
  const secrets = new Map<string, string>();
  const ask = async (shop: ServiceProcess, level: GrantLevel, extra: Record<string, unknown> = {}) => {
    const created = await fetchJson<{ requestId: string; requestUri: string; authorizationRequest: string; transactionSecret: string }>(`${shop.url}/requests`, { body: { level, purpose: `test ${level}`, claims: level === "full" ? ["full_name", "id_number"] : [], ...extra } });
    secrets.set(created.requestId, created.transactionSecret);
    return created;
  };
  const result = (shop: ServiceProcess, requestId: string) => fetchJson<any>(`${shop.url}/requests/${requestId}/result`, { headers: { "x-transaction-secret": secrets.get(requestId) ?? "" } });

  async function grant(shop: ServiceProcess, level: GrantLevel, extra: Record<string, unknown> = {}) {
    const { requestId, requestUri } = await ask(shop, level, extra);
    const entry = await wallet.answer(await wallet.preview(requestUri));
    // The merchant's front end (transaction secret) learns that an answer arrived and its level, nothing more;
    // the browser the wallet sends back (the redirect's one-time response code) sees what was shared.
    expect(await result(shop, requestId)).to.deep.equal({ status: "accepted", level });
    expect(entry.returnTo).to.match(/response_code=/);
    return { entry, learned: await fetchJson<any>(entry.returnTo!) };
  }

  describe("graded grants: the merchant learns exactly the level", () => {
    it("verified: only that a verified person (over 18, when asked) stands behind the answer", async () => {
      const { entry, learned } = await grant(shopA, "verified", { ageOver18: true });
      grants.verifiedA = entry;
      expect(learned.status).to.equal("accepted");
      expect(learned.claims).to.deep.equal({ real_name_verified: true, age_over_18: true });
      expect(learned).to.not.have.property("account");
    });
    it("pseudonymous: an identifier stable at this merchant, different at another", async () => {
      const first = await grant(shopA, "pseudonymous");
      const again = await grant(shopA, "pseudonymous");
      const other = await grant(shopB, "pseudonymous");
      grants.pseudoA = first.entry;
      expect(first.learned.claims).to.deep.equal({ real_name_verified: true });
      expect(first.learned.account.returning).to.equal(false);
      expect(again.learned.account.pseudonym).to.equal(first.learned.account.pseudonym);
      expect(again.learned.account.returning).to.equal(true);
      memberAtA = first.learned.account.pseudonym;
      expect(other.learned.account.pseudonym).to.match(/^[A-Za-z0-9_-]{32}$/);
      expect(other.learned.account.pseudonym).to.not.equal(first.learned.account.pseudonym);
    });
    it("full: exactly the claims asked for, nothing else", async () => {
      const { entry, learned } = await grant(shopB, "full");
      grants.fullB = entry;
      expect(learned.claims).to.deep.equal({ real_name_verified: true, full_name: "张三", id_number: "110105199003071239" });
    });
    it("two merchants never see the same holder key", async () => {
      const signer = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()).iss as string;
      const all = await wallet.grants();
      const a = new Set(all.filter((g) => g.merchant.did === shopA.did).map((g) => signer(g.consentReceipt)));
      const b = new Set(all.filter((g) => g.merchant.did === shopB.did).map((g) => signer(g.consentReceipt)));
      expect([...a].filter((k) => b.has(k))).to.deep.equal([]);
    });
  });

  describe("the wallet's consent engine and afterwards", () => {
    const refusal = async (p: Promise<unknown>) => {
      try {
        await p;
        return { code: "accepted", message: "" };
      } catch (error) {
        return error as { code: string; message: string };
      }
    };
    it("refuses, in words a person understands and before sending anything, a merchant the registry does not list", async () => {
      await admin(`/admin/merchants/${encodeURIComponent(shopB.did)}`, undefined, "DELETE");
      try {
        const { requestId, requestUri } = await ask(shopB, "verified");
        const r = await refusal(wallet.preview(requestUri));
        expect(r.code).to.equal("ERR_MERCHANT_UNREGISTERED");
        expect(r.message).to.match(/not registered.*Nothing was shared/);
        expect((await result(shopB, requestId)).status).to.equal("pending");
      } finally {
        await registerMerchant(shopB);
      }
    });
    it("refuses a level, a purpose or claims beyond the merchant's registration", async () => {
      try {
        await registerMerchant(shopB, { maxLevel: "verified" });
        expect((await refusal(wallet.preview((await ask(shopB, "pseudonymous")).requestUri))).code).to.equal("ERR_LEVEL_NOT_ALLOWED");
        await registerMerchant(shopB, { purposes: ["test verified"] });
        const other = await fetchJson<{ requestUri: string }>(`${shopB.url}/requests`, { body: { level: "verified", purpose: "sell your data" } });
        expect(other.requestUri).to.be.a("string");
        expect((await refusal(wallet.preview(other.requestUri))).code).to.equal("ERR_PURPOSE_NOT_ALLOWED");
        await registerMerchant(shopB, { fullClaims: ["full_name"] });
        expect((await refusal(wallet.preview((await ask(shopB, "full")).requestUri))).code).to.equal("ERR_CLAIMS_NOT_REGISTERED");
      } finally {
        await registerMerchant(shopB);
      }
    });
    it("remembered choices: pre-selected next time, one tap only when turned on for verified, listed, and revocable", async () => {
      const first = await wallet.preview((await ask(shopA, "verified")).requestUri);
      expect(first.automatic).to.equal(false);
      await wallet.answer(first, { remember: true });
      expect((await wallet.rememberedChoices()).map((p) => [p.merchantDid, p.level])).to.deep.equal([[shopA.did, "verified"]]);
      // Remembered without one tap: pre-selected, but the PIN is still asked (not automatic).
      const again = await wallet.preview((await ask(shopA, "verified")).requestUri);
      expect(again.remembered?.level).to.equal("verified");
      expect(again.automatic).to.equal(false);
      await wallet.answer(again, { oneTap: true });
      const second = await wallet.preview((await ask(shopA, "verified")).requestUri);
      expect(second.automatic).to.equal(true);
      expect((await wallet.answer(second)).automatic).to.equal(true);
      expect((await wallet.preview((await ask(shopA, "full")).requestUri)).automatic).to.equal(false);
      expect(await wallet.forget(shopA.did)).to.equal(1);
      expect((await wallet.preview((await ask(shopA, "verified")).requestUri)).automatic).to.equal(false);
    });
    it("unlinkability: two merchants' presentations share no key, signature, identifier, salt or status index", async () => {
      const parts = (grant: GrantEntry) => {
        const p = wallet.presentationOf(grant);
        const [jwt, ...rest] = p.split("~");
        const payload = JSON.parse(Buffer.from(jwt!.split(".")[1]!, "base64url").toString());
        return {
          keys: [payload.cnf.jwk.x],
          signatures: [jwt!.split(".")[2]!],
          identifiers: [grant.pseudonym, JSON.parse(Buffer.from(grant.consentReceipt.split(".")[1]!, "base64url").toString()).iss].filter(Boolean),
          salts: rest.slice(0, -1).map((d) => JSON.parse(Buffer.from(d, "base64url").toString())[0]),
          statusIndexes: [payload.status.status_list.idx],
        };
      };
      const all = await wallet.grants();
      const collect = (did: string) => all.filter((g) => g.merchant.did === did).map(parts);
      const a = collect(shopA.did);
      const b = collect(shopB.did);
      expect(a.length).to.be.greaterThan(1);
      expect(b.length).to.be.greaterThan(1);
      for (const field of ["keys", "signatures", "identifiers", "salts", "statusIndexes"] as const) {
        const seenAtA = new Set(a.flatMap((x) => x[field]));
        expect(b.flatMap((x) => x[field]).filter((v) => seenAtA.has(v)), field).to.deep.equal([]);
      }
    });
    it("logs in to a pseudonymous account by proving the pseudonym, once per challenge", async () => {
      const { challengeUri, challengeId } = await fetchJson<{ challengeUri: string; challengeId: string }>(`${shopA.url}/login/challenges`, { method: "POST", body: {} });
      const { pseudonym, account } = await wallet.login(challengeUri);
      expect((account as { pseudonym: string }).pseudonym).to.equal(memberAtA);
      expect(pseudonym).to.equal(grants.pseudoA!.pseudonym);
      const again = await post(`${shopA.url}/login/challenges/${challengeId}/response`, { proof: "x.y.z" });
      expect(again.status).to.be.within(400, 409);
    });
    it("withdrawal reaches the merchant: its copy is deleted, acknowledged by a signed receipt, and anchored", async () => {
      const { entry } = await grant(shopB, "full");
      const withdrawn = await wallet.withdraw(entry.grantId);
      expect(withdrawn.withdrawal!.acknowledgement).to.be.a("string");
      const seen = await fetchJson<any>(`${shopB.url}/grants/${entry.grantId}`);
      expect(seen).to.deep.include({ withdrawn: true, claimNames: [] });
      expect((await refusal(wallet.withdraw(entry.grantId))).code).to.equal("ERR_CONFLICT");
      const ackHash = receiptHash(withdrawn.withdrawal!.acknowledgement);
      let record: any;
      for (let i = 0; i < 40 && record?.status !== "anchored"; i++) {
        await new Promise((r) => setTimeout(r, 200));
        record = await fetchJson(`${shopB.url}/anchors/${ackHash}`);
      }
      expect(record.status).to.equal("anchored");
      // The wallet's evidence of a withdrawn grant carries the withdrawal and the acknowledgement, both anchored.
      let bundle: any;
      for (let i = 0; i < 40 && !bundle; i++) {
        bundle = await wallet.evidence(entry.grantId, { rpcUrl: chain.url }).catch(async (e) => (e.code === "ERR_NOT_ANCHORED" ? void (await new Promise((r) => setTimeout(r, 250))) : Promise.reject(e)));
      }
      expect(bundle.withdrawal.acknowledgement).to.equal(withdrawn.withdrawal!.acknowledgement);
      const trust = loadTrustAnchors({ deploymentFile, rpcUrl: chain.url, issuers: [issuer.did] });
      const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deployment.address });
      const report = await verifyEvidenceBundle(bundle, { trust, registry }).finally(() => registry.close());
      expect(report.checks.filter((c) => c.status !== "pass")).to.deep.equal([]);
      expect(report.summary!.withdrawal!.withdrawnAt).to.equal(withdrawn.withdrawal!.withdrawnAt);
    });
    it("a withdrawn pseudonymous grant closes the account: login then finds none", async () => {
      const { entry } = await grant(shopB, "pseudonymous");
      await wallet.withdraw(entry.grantId);
      const { challengeUri } = await fetchJson<{ challengeUri: string }>(`${shopB.url}/login/challenges`, { method: "POST", body: {} });
      expect((await refusal(wallet.login(challengeUri))).code).to.equal("ERR_ACCOUNT_NOT_FOUND");
    });
    it("refuses a received credential whose disclosure was tampered with, or that carries a key binding", async () => {
      const [{ credential, holderDid }] = await wallet.exportCredentials();
      const parts = credential!.split("~");
      const [salt, name] = JSON.parse(Buffer.from(parts[1]!, "base64url").toString());
      parts[1] = Buffer.from(JSON.stringify([salt, name, "forged"])).toString("base64url");
      expect(() => wallet.checkReceived(parts.join("~"), holderDid!, issuer.did)).to.throw().with.property("code", "ERR_CREDENTIAL_REFUSED");
      expect(() => wallet.checkReceived(credential + "x.y.z", holderDid!, issuer.did)).to.throw().with.property("code", "ERR_CREDENTIAL_REFUSED");
      expect(() => wallet.checkReceived(credential!, holderDid!, issuer.did)).to.not.throw();
    });
    it("refreshes the batch when it runs low, without registering again", async () => {
      await wallet.backgroundRefresh; // one started by an earlier answer must not count here
      const before = await wallet.credentialsLeft();
      const r = await wallet.refreshBatch(3);
      expect(r.received).to.equal(3);
      expect(await wallet.credentialsLeft()).to.equal(before + 3);
    });
    it("restores from an encrypted backup: same credentials, grants and keys, answering still works", async () => {
      const backup = await wallet.backup("backup passphrase 1");
      expect(JSON.stringify(backup)).to.not.include("张三");
      const dir = join(work, "restored-wallet");
      try {
        await HolderWallet.restore(dir, backup, "wrong passphrase");
        expect.fail("restored with the wrong passphrase");
      } catch (error) {
        expect((error as { code: string }).code).to.equal("ERR_WRONG_PASSPHRASE");
      }
      await HolderWallet.restore(dir, backup, "backup passphrase 1");
      const restored = await HolderWallet.open({ dir, pin: "135790" });
      try {
        expect((await restored.credentials()).length).to.equal((await wallet.credentials()).length);
        expect((await restored.grants()).map((g) => g.grantId)).to.deep.equal((await wallet.grants()).map((g) => g.grantId));
        await restored.changePin("24680");
        const answered = await restored.answer(await restored.preview((await ask(shopA, "verified")).requestUri));
        expect(answered.level).to.equal("verified");
      } finally {
        await restored.close();
      }
    });
  });

  describe("the verifier's refusals over HTTP", () => {
    /** Prepares a genuine answer without sending it, so the test decides what reaches the merchant. */
    async function capturedAnswer(shop: ServiceProcess, level: GrantLevel = "verified") {
      const { requestId, requestUri } = await ask(shop, level);
      let captured!: { url: string; body: { presentation: string; consentReceipt: string; pairwiseProof?: string } };
      await wallet
        .answer(await wallet.preview(requestUri), {
          transport: async (url, body) => {
            captured = { url, body };
            throw Object.assign(new Error("held back by the test"), { code: "HELD" });
          },
        })
        .catch((e) => expect(e.code).to.equal("HELD"));
      return { requestId, ...captured };
    }

    it("the same presentation twice is accepted once: ERR_NONCE_REUSED", async () => {
      const a = await capturedAnswer(shopA);
      const [first, second] = await Promise.all([post(a.url, a.body), post(a.url, a.body)]);
      const statuses = [first.status, second.status].sort();
      expect(statuses).to.deep.equal([200, 409]);
      const refused = first.status === 409 ? first : second;
      expect(refused.body.error.code).to.equal("ERR_NONCE_REUSED");
      const later = await post(a.url, a.body);
      expect(later.status).to.equal(409);
    });
    it("an answer meant for merchant A sent to merchant B: refused (audience, nonce)", async () => {
      const a = await capturedAnswer(shopA);
      const { requestId } = await ask(shopB, "verified");
      const r = await post(`${shopB.url}/requests/${requestId}/response`, a.body);
      expect(r.status).to.equal(400);
      const codes = r.body.error.details.errors.map((e: { code: string }) => e.code);
      expect(codes).to.include("ERR_KB_AUDIENCE");
      expect(codes).to.include("ERR_KB_NONCE");
      expect((await result(shopB, requestId)).status).to.equal("pending");
    });
    it("a tampered disclosure: ERR_DISCLOSURE_UNREFERENCED, and nothing is stored", async () => {
      const a = await capturedAnswer(shopA, "verified");
      const parts = a.body.presentation.split("~");
      const [salt] = JSON.parse(Buffer.from(parts[1]!, "base64url").toString());
      parts[1] = Buffer.from(JSON.stringify([salt, "real_name_verified", "yes"])).toString("base64url");
      const r = await post(a.url, { ...a.body, presentation: parts.join("~") });
      expect(r.status).to.equal(400);
      expect(r.body.error.details.errors.map((e: { code: string }) => e.code)).to.include("ERR_DISCLOSURE_UNREFERENCED");
      expect((await result(shopA, a.requestId)).status).to.equal("pending");
      // The genuine answer still works afterwards: the refused one spent nothing.
      expect((await post(a.url, a.body)).status).to.equal(200);
    });
    it("a missing key binding: ERR_KB_MISSING", async () => {
      const a = await capturedAnswer(shopA);
      const p = a.body.presentation;
      const r = await post(a.url, { ...a.body, presentation: p.slice(0, p.lastIndexOf("~") + 1) });
      expect(r.body.error.code).to.equal("ERR_KB_MISSING");
    });
    it("a consent receipt from another answer: ERR_CONSENT_RECEIPT_*", async () => {
      const a = await capturedAnswer(shopA);
      const b = await capturedAnswer(shopA);
      const r = await post(a.url, { ...a.body, consentReceipt: b.body.consentReceipt });
      expect(r.status).to.equal(400);
      expect(r.body.error.details.errors.map((e: { code: string }) => e.code).join()).to.match(/ERR_CONSENT_RECEIPT_(MISMATCH|NOT_BOUND)/);
    });
    it("an expired request: ERR_REQUEST_EXPIRED for the wallet (a late answer: test/services/verifier.test.ts, clock injected)", async () => {
      // This request lives 1 s (the others the service's default, so a slow command line never races one).
      const { requestUri } = await ask(shopA, "verified", { expiresInSeconds: 1 });
      await new Promise((r) => setTimeout(r, 1_500));
      try {
        await wallet.preview(requestUri);
        expect.fail("previewed an expired request");
      } catch (error) {
        expect((error as { code: string }).code).to.equal("ERR_REQUEST_EXPIRED");
      }
    });
    it("bad bodies are 4xx with a code, never 500", async () => {
      const { requestId } = await ask(shopA, "verified");
      const url = `${shopA.url}/requests/${requestId}/response`;
      expect((await post(url, "{not json")).body.error.code).to.equal("ERR_BAD_JSON");
      const form = await post(url, "presentation=x", "application/x-www-form-urlencoded");
      expect(form.status).to.equal(400);
      expect(form.body.error.code).to.equal("ERR_VP_RESPONSE_INVALID");
      expect((await post(url, `state=${requestId}&vp_token=%7B%7D`, "application/x-www-form-urlencoded")).body.error.code).to.equal("ERR_VP_RESPONSE_INVALID");
      expect((await post(url, "hello", "text/plain")).status).to.equal(415);
      expect((await post(url, { presentation: "x".repeat(200_000), consentReceipt: "y" })).status).to.equal(413);
      const missing = await post(url, {});
      expect(missing.status).to.equal(400);
      expect(missing.body.error.details.problems.map((p: { path: string }) => p.path).sort()).to.deep.equal(["presentation"]);
      expect((await post(url, { presentation: "a~b", consentReceipt: "c", extra: 1 })).status).to.equal(400);
      expect((await post(`${shopA.url}/requests/not-a-uuid/response`, { presentation: "a", consentReceipt: "b" })).status).to.equal(400);
      expect((await post(`${shopA.url}/requests/00000000-0000-0000-0000-000000000000/response`, { presentation: "a", consentReceipt: "b" })).status).to.equal(404);
      expect((await post(`${shopA.url}/requests`, { level: "everything", purpose: "" })).body.error.details.problems).to.have.length(2);
      expect((await post(`${shopA.url}/requests`, { level: "full", purpose: "x" })).status).to.equal(400);
      const garbage = await post(url, { presentation: "~~~~", consentReceipt: "x.y.z" });
      expect(garbage.status).to.equal(400);
      expect(garbage.body.error.code).to.match(/^ERR_/);
    });
  });

  describe("anchoring and the notary", () => {
    let bundleFile: string;
    let bundle: any;
    // The notary's own trust anchors: this chain, this registry contract, this issuer (never the bundle's).
    let trustFile: string;

    before(async () => {
      trustFile = join(work, "trust.json");
      writeFileSync(trustFile, JSON.stringify({ chainId: deployment.chainId, contracts: [deployment.address], issuers: [issuer.did] }));
      let entry = grants.fullB!;
      for (let i = 0; i < 80 && !(entry.anchors?.consent?.status === "anchored" && entry.anchors?.grant?.status === "anchored"); i++) {
        await new Promise((r) => setTimeout(r, 250));
        entry = await wallet.refreshAnchors(entry.grantId);
      }
      const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deployment.address });
      bundle = await buildEvidenceBundle({ consentReceipt: entry.consentReceipt, grantReceipt: entry.grantReceipt, proofs: { consent: entry.anchors!.consent!, grant: entry.anchors!.grant! }, registry });
      registry.close();
      bundleFile = join(work, "bundle.json");
      writeFileSync(bundleFile, JSON.stringify(bundle));
    });

    const notary = async (...args: string[]) => {
      try {
        const r = await exec(join(REPO_ROOT, "node_modules", ".bin", "notary"), [...args, "--rpc", chain.url, "--trust", trustFile, "--json"], { cwd: REPO_ROOT });
        return { code: 0, report: JSON.parse(r.stdout) };
      } catch (error) {
        const e = error as { code: number; stdout: string };
        return { code: e.code, report: JSON.parse(e.stdout) };
      }
    };

    it("`notary verify` passes every check of a genuine bundle, offline and on chain (exit 0)", async () => {
      expect(bundle.statusSnapshot, "the bundle carries the status list the merchant checked").to.not.equal(undefined);
      const { code, report } = await notary("verify", bundleFile);
      expect(report.checks.map((c: { check: string }) => c.check)).to.include.members(["status-snapshot", "status-snapshot-merkle-path", "status-snapshot-on-chain", "trust-anchors", "merchant-registered", "consent-signed-by-holder", "times-consistent", "registry-snapshot-on-chain"]);
      expect(report.trustAnchors).to.deep.include({ chainId: deployment.chainId, contracts: [deployment.address.toLowerCase()], issuers: [issuer.did] });
      expect(report.checks.filter((c: any) => c.status !== "pass")).to.deep.equal([]);
      expect(code).to.equal(0);
      expect(report.summary.level).to.equal("full");
    });

    const tamperings: Array<[string, (b: any) => void, string]> = [
      ["one byte of a receipt", (b) => (b.receipts.consent = b.receipts.consent.replace(/.(?=\.[^.]*$)/, (c: string) => (c === "A" ? "B" : "A"))), "consent-receipt-signature"],
      ["a proof step", (b) => (b.anchors.grant.proof.length ? (b.anchors.grant.proof[0] = "0x" + "11".repeat(32)) : (b.anchors.grant.root = "0x" + "22".repeat(32))), "grant-merkle-path"],
      ["the root", (b) => (b.anchors.consent.root = "0x" + "33".repeat(32)), "consent-merkle-path"],
      ["the block number", (b) => (b.anchors.grant.blockNumber += 1), "grant-root-on-chain"],
      ["the time", (b) => (b.anchors.grant.timestamp -= 60), "grant-root-on-chain"],
      ["the signer (grant re-signed by someone else's receipt)", (b) => (b.receipts.grant = grants.verifiedA!.grantReceipt), "grant-countersigns-consent"],
      ["the status-list snapshot", (b) => (b.statusSnapshot.jwt = b.statusSnapshot.jwt.replace(/.$/, (c: string) => (c === "A" ? "B" : "A"))), "status-snapshot"],
      ["the status snapshot's anchor block", (b) => (b.statusSnapshot.anchor.blockNumber += 1), "status-snapshot-on-chain"],
      ["the registry contract the bundle names", (b) => (b.anchors.grant.contract = "0x" + "44".repeat(20)), "grant-root-on-chain"],
      ["the merchant registry snapshot", (b) => (b.registrySnapshot.jwt = b.registrySnapshot.jwt.replace(/.$/, (c: string) => (c === "A" ? "B" : "A"))), "merchant-registered"],
    ];
    for (const [what, tamper, failingCheck] of tamperings) {
      it(`tampering with ${what} fails ${failingCheck} (exit 1)`, async () => {
        const copy = structuredClone(bundle);
        tamper(copy);
        const file = join(work, `tampered-${failingCheck}.json`);
        writeFileSync(file, JSON.stringify(copy));
        const { code, report } = await notary("verify", file);
        expect(code).to.equal(1);
        expect(report.verified).to.equal(false);
        expect(report.checks.find((c: any) => c.check === failingCheck).status).to.equal("fail");
      });
    }

    it("`notary report` writes a printable HTML report of who granted what to whom, and how it was checked", async () => {
      const out = join(work, "report.html");
      const r = await exec(join(REPO_ROOT, "node_modules", ".bin", "notary"), ["report", bundleFile, "--out", out, "--rpc", chain.url, "--trust", trustFile], { cwd: REPO_ROOT });
      expect(r.stdout).to.match(/verified/);
      const html = readFileSync(out, "utf8");
      expect(html).to.match(/^<!doctype html>/);
      expect(html).to.include("Every check passed");
      expect(html).to.include("Shop b");
      expect(html).to.include("full_name, id_number");
      expect(html).to.include(bundle.anchors.grant.txHash);
      expect(html).to.include(issuer.did); // the trust anchors it used
      expect(html).to.include(deployment.address.toLowerCase());
      expect(html).to.not.include("张三"); // names of claims, never their values
      expect(html).to.not.match(/<script|https?:\/\/(?!127)/);
    });
    it("`notary collect`: a registered notary fetches a grant's receipts from the merchant and gets a verifiable bundle; others are refused", async () => {
      const env = { ...process.env, NOTARY_DIR: join(work, "notary"), NOTARY_PASSPHRASE: "notary pass" };
      const bin = join(REPO_ROOT, "node_modules", ".bin", "notary");
      const init = JSON.parse((await exec(bin, ["init", "--json"], { cwd: REPO_ROOT, env })).stdout);
      const outDir = join(work, "collected");
      try {
        await exec(bin, ["collect", "--verifier", shopB.url, "--grant", grants.fullB!.grantId, "--out-dir", outDir, "--rpc", chain.url, "--trust", trustFile, "--json"], { cwd: REPO_ROOT, env });
        expect.fail("an unregistered notary collected receipts");
      } catch (error) {
        const e = error as { code: number; stdout: string };
        expect(e.code).to.equal(4);
        expect(JSON.parse(e.stdout).error.code).to.equal("ERR_FORBIDDEN");
      }
      await admin("/admin/notaries", { did: init.did, name: "Notary CLI test" }, "PUT");
      const collected = JSON.parse((await exec(bin, ["collect", "--verifier", shopB.url, "--grant", grants.fullB!.grantId, "--out-dir", outDir, "--rpc", chain.url, "--trust", trustFile, "--json"], { cwd: REPO_ROOT, env })).stdout);
      expect(collected.written).to.have.length(1);
      const verified = await exec(bin, ["verify", collected.written[0], "--rpc", chain.url, "--trust", trustFile, "--json"], { cwd: REPO_ROOT });
      expect(JSON.parse(verified.stdout).verified).to.equal(true);
    });
    it("`notary verify` with the chain out of reach: the chain checks are cannot-check, exit 3 (never a false pass)", async () => {
      try {
        await exec(join(REPO_ROOT, "node_modules", ".bin", "notary"), ["verify", bundleFile, "--rpc", "http://127.0.0.1:9", "--trust", trustFile, "--json"], { cwd: REPO_ROOT });
        expect.fail("verified without the chain");
      } catch (error) {
        const e = error as { code: number; stdout: string };
        expect(e.code).to.equal(3);
        const report = JSON.parse(e.stdout);
        expect(report.verified).to.equal(false);
        expect(report.checks.filter((c: { check: string }) => c.check.endsWith("on-chain")).every((c: { status: string }) => c.status === "cannot-check")).to.equal(true);
        expect(report.checks.filter((c: { check: string }) => !c.check.endsWith("on-chain")).every((c: { status: string }) => c.status === "pass")).to.equal(true);
      }
    });
    it("a bundle may carry the owner's presentation; it must be the very one the consent receipt names", async () => {
      const trust = loadTrustAnchors({ trustFile, rpcUrl: chain.url });
      const withPresentation = { ...structuredClone(bundle), presentation: wallet.presentationOf(grants.fullB!) };
      const ok = await verifyEvidenceBundle(withPresentation, { trust });
      expect(ok.checks.find((c) => c.check === "presentation-matches-consent")!.status).to.equal("pass");
      expect(ok.checks.find((c) => c.check === "presentation-issuer-trusted")!.status, "issued by the trusted issuer to the consenting key").to.equal("pass");
      const other = { ...structuredClone(bundle), presentation: wallet.presentationOf(grants.verifiedA!) };
      const refused = await verifyEvidenceBundle(other, { trust });
      expect(refused.checks.find((c) => c.check === "presentation-matches-consent")!.status).to.equal("fail");
      expect(refused.checks.find((c) => c.check === "presentation-issuer-trusted")!.status, "bound to another key").to.equal("fail");
    });
    it("a bundle whose root the chain does not show is refused, never claimed", async () => {
      const copy = structuredClone(bundle);
      const report = await verifyEvidenceBundle(copy, { trust: loadTrustAnchors({ trustFile, rpcUrl: chain.url }) });
      expect(report.checks.filter((c) => c.check.endsWith("on-chain")).map((c) => c.status)).to.deep.equal(["cannot-check", "cannot-check", "cannot-check", "cannot-check"]);
      expect(report.verified).to.equal(false);
    });
  });

  describe("the wallet command line", () => {
    const cli = async (args: string[], env: Record<string, string>) => {
      try {
        const r = await exec(join(REPO_ROOT, "node_modules", ".bin", "wallet"), [...args, "--json"], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
        return { code: 0, out: JSON.parse(r.stdout.trim().split("\n").pop()!) };
      } catch (error) {
        const e = error as { code: number; stdout: string };
        return { code: e.code, out: JSON.parse(e.stdout.trim().split("\n").pop()!) };
      }
    };
    it("creates an identity, registers, lists credentials and answers a request", async () => {
      const env = { WALLET_DIR: join(work, "cli-wallet"), WALLET_PIN: "8642" };
      const init = await cli(["init"], env);
      expect(init.out.did).to.match(/^did:key:z6Mk/);
      const deviceKey = await cli(["device-key"], env);
      await admin("/admin/devices", { deviceId: "cli-phone", label: "CLI test", publicJwk: deviceKey.out.publicJwk });
      const portrait = join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "li-si-live.jpg");
      const reg = await cli(["register", "--issuer", issuer.url, "--name", "李四", "--id-number", "310115198508154561", "--portrait", portrait, "--batch", "2", "--device-id", "cli-phone", "--yes"], env);
      expect(reg).to.deep.include({ code: 0 });
      expect(reg.out.received).to.equal(2);
      expect(reg.out.masked).to.deep.equal({ name: "李*", idNumber: "3101**********4561" });
      const creds = await cli(["credentials"], env);
      expect(creds.out).to.have.length(2);
      expect(creds.out[0]).to.not.have.property("credential");
      const { requestId, requestUri } = await ask(shopA, "verified");
      const answered = await cli(["answer", requestUri, "--yes"], env);
      expect(answered.code, JSON.stringify(answered.out)).to.equal(0);
      expect(answered.out.claimNames).to.deep.equal(["real_name_verified"]);
      expect((await result(shopA, requestId)).status).to.equal("accepted");
      const listed = await cli(["grants"], env);
      expect(listed.out).to.have.length(1);
      expect((await cli(["withdraw", listed.out[0].grantId.slice(0, 8)], env)).code).to.equal(0);
      expect((await cli(["backup", "--out", join(work, "cli-backup.json"), "--passphrase", "cli backup pass"], env)).code).to.equal(0);
      expect((await cli(["pin", "--new-pin", "7531"], env)).code).to.equal(0);
      expect((await cli(["credentials"], env)).code).to.equal(4);
      // The answer left 1 of 2 unused: the wallet fetched a fresh batch of 10 before the command ended.
      expect((await cli(["credentials"], { ...env, WALLET_PIN: "7531" })).out).to.have.length(12);
      const restored = { WALLET_DIR: join(work, "cli-wallet-restored"), WALLET_PIN: "8642" };
      expect((await cli(["restore", join(work, "cli-backup.json"), "--passphrase", "cli backup pass"], restored)).code).to.equal(0);
      const back = await cli(["grants"], restored);
      expect(back.out).to.have.length(1);
      expect(back.out[0].withdrawal).to.have.property("acknowledgement");
    });
    it("answers within what the merchant accepts: --level and --without; a level outside it is refused before the PIN", async () => {
      // The wallet of the test above (its PIN changed to 7531 there).
      const env = { WALLET_DIR: join(work, "cli-wallet"), WALLET_PIN: "7531" };
      const choosing = { optionalClaims: ["id_number"], acceptLevels: ["verified"] };
      const outside = await ask(shopA, "full", choosing);
      const refused = await cli(["answer", outside.requestUri, "--yes", "--level", "pseudonymous"], env);
      expect(refused.code).to.not.equal(0);
      expect(refused.out.error.code).to.equal("ERR_LEVEL_NOT_ACCEPTED");
      const required = await cli(["answer", outside.requestUri, "--yes", "--without", "full_name"], env);
      expect(required.out.error.code).to.equal("ERR_CLAIMS_MISSING");
      expect((await result(shopA, outside.requestId)).status).to.equal("pending");
      const without = await cli(["answer", outside.requestUri, "--yes", "--without", "id_number"], env);
      expect(without.code, JSON.stringify(without.out)).to.equal(0);
      expect(without.out).to.deep.include({ level: "full", claimNames: ["real_name_verified", "full_name"] });
      expect((await result(shopA, outside.requestId)).level).to.equal("full");
      const lower = await ask(shopA, "full", choosing);
      const verified = await cli(["answer", lower.requestUri, "--yes", "--level", "verified"], env);
      expect(verified.code, JSON.stringify(verified.out)).to.equal(0);
      expect(verified.out).to.deep.include({ level: "verified", claimNames: ["real_name_verified"] });
      expect(await result(shopA, lower.requestId)).to.deep.equal({ status: "accepted", level: "verified" });
    });
    it("`wallet start`: the person asks a registered merchant for a request at the level they pick, answers it, and the merchant gets exactly that level", async () => {
      const env = { WALLET_DIR: join(work, "cli-wallet"), WALLET_PIN: "7531" };
      // The merchant's own terms for an unsolicited grant (its checkout offer's purpose) must be registered too,
      // else the wallet refuses them (ERR_PURPOSE_NOT_ALLOWED), as for any request.
      await registerMerchant(shopA, { purposes: ["test verified", "test pseudonymous", "test full", "Sell an age-restricted item to a real-name-verified adult"] });
      const before = (await cli(["grants"], env)).out.length;
      const started = await cli(["start", shopA.did, "--level", "verified"], env);
      expect(started.code, JSON.stringify(started.out)).to.equal(0);
      expect(started.out.level).to.equal("verified");
      expect(started.out.link).to.be.a("string");
      const answered = await cli(["answer", started.out.link, "--yes"], env);
      expect(answered.code, JSON.stringify(answered.out)).to.equal(0);
      // The merchant's verified offer is its age check: exactly that is disclosed.
      expect(answered.out).to.deep.include({ level: "verified", claimNames: ["real_name_verified", "age_over_18"] });
      const grants = (await cli(["grants"], env)).out;
      expect(grants).to.have.length(before + 1);
      // Refusals: a merchant the registry does not list (in words, before anything is sent), and a level the
      // command does not offer (`full` is only ever what a merchant asks for: a usage error).
      const unknown = await cli(["start", newTestKey().did, "--level", "verified"], env);
      expect(unknown.code).to.not.equal(0);
      expect(unknown.out.error.code).to.equal("ERR_MERCHANT_UNREGISTERED");
      const full = await exec(join(REPO_ROOT, "node_modules", ".bin", "wallet"), ["start", shopA.did, "--level", "full"], { cwd: REPO_ROOT, env: { ...process.env, ...env } }).then(() => ({ code: 0 }), (e: { code: number }) => e);
      expect(full.code).to.equal(2);
      expect((await cli(["grants"], env)).out).to.have.length(before + 1);
    });
    it("a bad --batch is a usage error (exit 2) before anything is asked of the issuer", async () => {
      for (const args of [["receive", "openid-credential-offer://?x", "--batch", "abc"], ["refresh", "--batch", "0"], ["register", "--issuer", issuer.url, "--name", "x", "--id-number", "1", "--portrait", join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "li-si-live.jpg"), "--device-id", "d", "--batch", "11"]]) {
        const r = await cli(args, { WALLET_DIR: join(work, "cli-wallet-batch"), WALLET_PIN: "8642" });
        expect(r.code, args.join(" ")).to.equal(2);
        expect(r.out.error.code).to.equal("ERR_INVALID_INPUT");
      }
    });
    it("human output names claims by their labels, in the chosen language (keys only in --json)", async () => {
      const env = { ...process.env, WALLET_DIR: join(work, "cli-wallet"), WALLET_PIN: "7531" };
      const en = await exec(join(REPO_ROOT, "node_modules", ".bin", "wallet"), ["credentials", "--lang", "en"], { cwd: REPO_ROOT, env });
      expect(en.stdout).to.contain("Real-name verified").and.contain("Resident ID number");
      expect(en.stdout).to.not.match(/real_name_verified|id_number/);
      const zh = await exec(join(REPO_ROOT, "node_modules", ".bin", "wallet"), ["credentials", "--lang", "zh-CN"], { cwd: REPO_ROOT, env });
      expect(zh.stdout).to.contain("已实名认证").and.contain("居民身份证号码");
    });
    it("a confirmation that cannot be asked (not a terminal) is exit 2 naming --yes, and nothing is sent", async () => {
      const { requestId, requestUri } = await ask(shopA, "verified");
      const r = await cli(["answer", requestUri], { WALLET_DIR: join(work, "cli-wallet"), WALLET_PIN: "7531" });
      expect(r.code).to.equal(2);
      expect(r.out.error.code).to.equal("ERR_NEEDS_INPUT");
      expect(r.out.error.message).to.contain("--yes");
      expect((await result(shopA, requestId)).status).to.not.equal("accepted");
    });
    it("a wrong PIN is refused with ERR_WRONG_PASSPHRASE and exit code 4", async () => {
      const r = await cli(["credentials"], { WALLET_DIR: join(work, "cli-wallet"), WALLET_PIN: "0001" });
      expect(r.code).to.equal(4);
      expect(r.out.error.code).to.equal("ERR_WRONG_PASSPHRASE");
    });
    it("refuses a forged request (signed by someone other than the merchant it names): ERR_REQUEST_SIGNATURE", async () => {
      const forger = newTestKey();
      const t = Math.floor(Date.now() / 1000);
      // A well-formed OpenID4VP request object that names shop A as its client but is signed by the forger.
      const forged = await signJws(
        { typ: "oauth-authz-req+jwt", alg: "EdDSA", kid: `${shopA.did}#${shopA.did.slice(8)}` },
        {
          iss: shopA.did,
          aud: "https://self-issued.me/v2",
          iat: t,
          exp: t + 60,
          response_type: "vp_token",
          client_id: `decentralized_identifier:${shopA.did}`,
          response_mode: "direct_post",
          response_uri: `${shopA.url}/requests/x/response`,
          nonce: "forged-nonce-0123456789abc",
          state: "forged-request-1",
          dcql_query: dcqlFor(["real_name_verified", "id_number"], `${issuer.url}/vct/realname-identity/v1`),
          realname_grant: { request_id: "forged-request-1", merchant_name: "Shop a", level: "full", purpose: "test full", retention_days: 1, claims: ["id_number"], age_over_18: false },
        },
        forger.signer,
      );
      const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/oauth-authz-req+jwt" }).end(forged));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/request`;
      try {
        const env = { WALLET_DIR: join(work, "cli-wallet"), WALLET_PIN: "7531" };
        const before = (await cli(["grants"], env)).out.length;
        const r = await cli(["answer", url, "--yes"], env);
        expect(r.code).to.equal(4);
        expect(r.out.error.code, r.out.error.message).to.equal("ERR_REQUEST_SIGNATURE");
        expect((await cli(["grants"], env)).out.length).to.equal(before);
      } finally {
        server.close();
      }
    });
  });

  describe("the merchant's verifier: library, CLI, retention, notaries", () => {
    it("the `verify` command line gives the service's verdict without the service (exit 0 / 1 with codes)", async () => {
      const { requestUri } = await ask(shopA, "verified");
      const preview = await wallet.preview(requestUri);
      let body!: { presentation: string };
      await wallet.answer(preview, { transport: async (_u, b) => { body = b; throw Object.assign(new Error("held"), { code: "HELD" }); } }).catch(() => undefined);
      const file = join(work, "presentation.txt");
      writeFileSync(file, body.presentation);
      const bin = join(REPO_ROOT, "node_modules", ".bin", "verify");
      const ok = await exec(bin, ["--presentation", file, "--trusted-issuer", issuer.did, "--audience", preview.request.client_id, "--nonce", preview.request.nonce, "--json", "--allow-loopback-http"], { cwd: REPO_ROOT });
      const verdict = JSON.parse(ok.stdout);
      expect(verdict.verified).to.equal(true);
      expect(verdict.claims).to.deep.equal({ real_name_verified: true });
      try {
        await exec(bin, ["--presentation", file, "--trusted-issuer", issuer.did, "--audience", `decentralized_identifier:${shopB.did}`, "--nonce", "someone-elses-nonce-123", "--json", "--allow-loopback-http"], { cwd: REPO_ROOT });
        expect.fail("verified for the wrong audience");
      } catch (error) {
        const e = error as { code: number; stdout: string };
        expect(e.code).to.equal(1);
        expect(JSON.parse(e.stdout).errors.map((x: { code: string }) => x.code)).to.include.members(["ERR_KB_AUDIENCE", "ERR_KB_NONCE"]);
      }
    });
    it("OpenID4VP: a signed request by reference and as a QR code; the values only with the wallet's one-time response code, the level with the front end's secret", async () => {
      const created = await ask(shopA, "verified");
      expect(created.authorizationRequest).to.match(/^openid4vp:\/\/\?client_id=decentralized_identifier%3Adid%3Akey%3A.*&request_uri=/);
      const jar = await fetch(created.requestUri);
      expect(jar.headers.get("content-type")).to.match(/application\/oauth-authz-req\+jwt/);
      const payload = JSON.parse(Buffer.from((await jar.text()).split(".")[1]!, "base64url").toString());
      expect(payload).to.include({ response_type: "vp_token", response_mode: "direct_post", client_id: `decentralized_identifier:${shopA.did}` });
      expect(payload.dcql_query.credentials[0].claims).to.deep.equal([{ path: ["real_name_verified"] }]);
      expect(Buffer.from(payload.nonce, "base64url").length).to.be.greaterThanOrEqual(16);
      const png = await fetch(`${shopA.url}/requests/${created.requestId}/qr.png`);
      expect(png.headers.get("content-type")).to.equal("image/png");
      expect((await call(`${shopA.url}/requests/${created.requestId}/result`)).status).to.equal(403);
      expect((await call(`${shopA.url}/requests/${created.requestId}/result`, { headers: { "x-transaction-secret": "guess" } })).status).to.equal(403);
      let redirect = "";
      await wallet.answer(await wallet.preview(created.authorizationRequest), {
        transport: async (url, body) => {
          // Sent exactly as a standard wallet would: direct_post, form-encoded vp_token keyed by the DCQL id.
          const form = new URLSearchParams({ state: created.requestId, vp_token: JSON.stringify({ realname_identity: [body.presentation] }), consent_receipt: body.consentReceipt });
          const r = await call(url, { body: form.toString(), contentType: "application/x-www-form-urlencoded" });
          redirect = r.body.redirect_uri;
          return r.body;
        },
      });
      expect(redirect).to.match(/response_code=/);
      const viaCode = await call(redirect);
      expect(viaCode.status).to.equal(200);
      expect(viaCode.body.claims).to.deep.equal({ real_name_verified: true });
      expect((await call(redirect)).body.error.code).to.equal("ERR_RESPONSE_CODE_INVALID"); // once
      expect((await call(redirect.replace(/response_code=.*/, "response_code=wrong"))).status).to.equal(403);
      expect(await result(shopA, created.requestId)).to.deep.equal({ status: "accepted", level: "verified" });
    });
    it("`full` claims are kept sealed for the stated retention, then deleted by the sweep", async () => {
      const { requestId, requestUri } = await ask(shopB, "full", { retentionDays: 0 });
      const entry = await wallet.answer(await wallet.preview(requestUri));
      let view: any;
      for (let i = 0; i < 30; i++) {
        view = await fetchJson<any>(`${shopB.url}/grants/${entry.grantId}`);
        if (!view.holdsIdentityData) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(view.holdsIdentityData).to.equal(false);
      expect((await result(shopB, requestId)).claims).to.equal(undefined);
      const learned = await fetchJson<any>(entry.returnTo!);
      expect(learned.claims).to.deep.equal({});
      expect(learned.retention).to.match(/deleted/);
    });
    it("registered notaries read the receipts about a grant or a pseudonym; anyone else gets 403", async () => {
      const notary = newTestKey();
      await admin("/admin/notaries", { did: notary.did, name: "Notary Office No. 2" }, "PUT");
      const path = `/notary/receipts?grantId=${grants.fullB!.grantId}`;
      const r = await call(`${shopB.url}${path}`, { headers: { authorization: await notaryAuthorization(notary, shopB.did, "GET", path) } });
      expect(r.status).to.equal(200);
      expect(r.body.receipts).to.have.length(1);
      expect(r.body.receipts[0].consentReceipt).to.equal(grants.fullB!.consentReceipt);
      expect(r.body.receipts[0].anchors.grant.status).to.be.oneOf(["anchored", "batched", "queued"]);
      const byPseudonym = `/notary/receipts?pseudonym=${encodeURIComponent(grants.pseudoA!.pseudonym!)}`;
      const p = await call(`${shopA.url}${byPseudonym}`, { headers: { authorization: await notaryAuthorization(notary, shopA.did, "GET", byPseudonym) } });
      expect(p.body.receipts.length).to.be.greaterThan(0);
      const stranger = newTestKey();
      for (const headers of [
        {},
        { authorization: "Bearer nope" },
        { authorization: await notaryAuthorization(stranger, shopB.did, "GET", path) },
        { authorization: await notaryAuthorization(notary, shopA.did, "GET", path) },
        { authorization: await notaryAuthorization(notary, shopB.did, "GET", "/notary/receipts?from=2000-01-01T00:00:00Z") },
      ]) {
        const refused = await call(`${shopB.url}${path}`, { headers: headers as Record<string, string> });
        expect(refused.status).to.equal(403);
        expect(refused.body.error.code).to.equal("ERR_FORBIDDEN");
      }
    });
    it("refuses to start without a passphrase for the merchant's keys (outside demo mode)", async () => {
      try {
        await startService("verifier-service", { DATA_DIR: join(work, "no-passphrase"), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: deploymentFile, TRUSTED_ISSUERS: issuer.did, MERCHANT_PASSPHRASE: "" }, 20_000);
        expect.fail("started with keys sealed under nothing");
      } catch (error) {
        expect(String(error)).to.match(/MERCHANT_PASSPHRASE must be set/);
      }
    });
    it("refuses to start with a response mode it does not know (RESPONSE_MODE): ERR_CONFIG", async () => {
      try {
        await startService("verifier-service", { DATA_DIR: join(work, "bad-mode"), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: deploymentFile, TRUSTED_ISSUERS: issuer.did, MERCHANT_PASSPHRASE: "x", RESPONSE_MODE: "direct_post.jwe" }, 20_000);
        expect.fail("started with an unknown response mode");
      } catch (error) {
        expect(String(error)).to.match(/ERR_CONFIG: RESPONSE_MODE must be one of direct_post, direct_post\.jwt/);
      }
    });
    it("a revoked credential is refused (ERR_CREDENTIAL_REVOKED) via the issuer's status list", async () => {
      const { requestUri } = await ask(shopA, "verified");
      const preview = await wallet.preview(requestUri);
      let captured!: { url: string; body: { presentation: string; consentReceipt: string } };
      await wallet.answer(preview, { transport: async (url, b) => { captured = { url, body: b }; throw Object.assign(new Error("held"), { code: "HELD" }); } }).catch(() => undefined);
      const idx = JSON.parse(Buffer.from(captured.body.presentation.split(".")[1]!, "base64url").toString()).status.status_list.idx;
      const { effectiveBy } = (await admin("/admin/status", { indexes: [idx], status: "revoked" })) as { effectiveBy: string };
      // Published on the issuer's schedule: by `effectiveBy` at the latest (the list is then due when fetched).
      await new Promise((r) => setTimeout(r, Math.max(0, new Date(effectiveBy).getTime() - Date.now()) + 50));
      const r = await post(captured.url, captured.body);
      expect(r.status).to.equal(400);
      expect(r.body.error.code).to.equal("ERR_CREDENTIAL_REVOKED");
    });
  });

  describe("no merchant can link a person (issue 12 §3)", () => {
    const presented = (entry: GrantEntry) => {
      const p = JSON.parse(Buffer.from(wallet.presentationOf(entry).split(".")[1]!, "base64url").toString());
      return { key: p.cnf.jwk.x, idx: p.status.status_list.idx, iat: p.iat, exp: p.exp, signature: wallet.presentationOf(entry).split("~")[0]!.split(".")[2] };
    };
    it("at one merchant, a verified answer after a full one comes from a fresh credential: nothing plain in common", async () => {
      const full = await grant(shopB, "full");
      const verified = await grant(shopB, "verified");
      const [a, b] = [presented(full.entry), presented(verified.entry)];
      for (const field of ["key", "idx", "iat", "exp", "signature"] as const) expect(a[field], field).to.not.equal(b[field]);
    });
    it("a pseudonymous answer at a merchant where the person holds the account reuses only that account's credential", async () => {
      const again = await grant(shopA, "pseudonymous");
      expect(again.learned.account.pseudonym).to.equal(memberAtA);
      expect(presented(again.entry).key).to.equal(presented(grants.pseudoA!).key);
    });
    it("a second wallet of the same person lands in the same account (and may log in there); another person gets another account", async () => {
      async function newWallet(name: string, person: typeof PERSON) {
        const w = await HolderWallet.open({ dir: join(work, name), pin: "135790" });
        await w.init();
        await admin("/admin/devices", { deviceId: `${name}-phone`, label: "second phone", publicJwk: (await w.deviceKey()).publicJwk });
        await w.register(issuer.url, person, { deviceId: `${name}-phone`, batchSize: 4, confirm: async () => true });
        return w;
      }
      const answer = async (w: HolderWallet) => {
        const { requestId, requestUri } = await ask(shopA, "pseudonymous");
        const entry = await w.answer(await w.preview(requestUri));
        expect(await result(shopA, requestId)).to.deep.equal({ status: "accepted", level: "pseudonymous" });
        // What was shared (the account) only through the wallet's one-time redirect.
        return { entry, learned: await fetchJson<any>(entry.returnTo!) };
      };
      const second = await newWallet("second-wallet", PERSON);
      const li = await newWallet("li-wallet", { fullName: "李四", idNumber: "310115198508154561", portrait: readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "li-si-live.jpg")) });
      try {
        const same = await answer(second);
        expect(same.entry.pseudonym).to.not.equal(grants.pseudoA!.pseudonym); // another wallet, another login key
        expect(same.learned.account.pseudonym).to.equal(memberAtA);
        expect(same.learned.account.returning).to.equal(true);
        const { challengeUri } = await fetchJson<{ challengeUri: string }>(`${shopA.url}/login/challenges`, { method: "POST", body: {} });
        expect(((await second.login(challengeUri)).account as { pseudonym: string }).pseudonym).to.equal(memberAtA);
        const other = await answer(li);
        expect(other.learned.account.pseudonym).to.not.equal(memberAtA);
        expect(other.learned.account.returning).to.equal(false);
      } finally {
        await second.close();
        await li.close();
      }
    });
    it("refreshes the batch in the background when an answer leaves it low, without holding up the answer", async () => {
      await wallet.backgroundRefresh;
      const reports: unknown[] = [];
      const w = await HolderWallet.open({ dir: join(work, "small-wallet"), pin: "135790", onBackgroundRefresh: (o) => reports.push(o) });
      try {
        await w.init();
        await admin("/admin/devices", { deviceId: "small-phone", label: "small", publicJwk: (await w.deviceKey()).publicJwk });
        await w.register(issuer.url, PERSON, { deviceId: "small-phone", batchSize: 3, confirm: async () => true });
        const { requestUri } = await ask(shopA, "verified");
        await w.answer(await w.preview(requestUri));
        expect(w.backgroundRefresh, "a refresh started after the answer").to.not.equal(undefined);
        await w.backgroundRefresh;
        expect(reports).to.deep.equal([{ received: 10 }]);
        expect(await w.credentialsLeft()).to.equal(12);
      } finally {
        await w.close();
      }
    });
    it("a background refresh that fails is reported, never thrown into the answer that started it", async () => {
      const reports: Array<{ received?: number; error?: { code: string } }> = [];
      const w = await HolderWallet.open({ dir: join(work, "failing-refresh-wallet"), pin: "135790", onBackgroundRefresh: (o) => reports.push(o) });
      try {
        await w.init();
        await admin("/admin/devices", { deviceId: "failing-refresh-phone", label: "x", publicJwk: (await w.deviceKey()).publicJwk });
        await w.register(issuer.url, PERSON, { deviceId: "failing-refresh-phone", batchSize: 4, confirm: async () => true });
        const answerVerified = async () => {
          const { requestId, requestUri } = await ask(shopA, "verified");
          await w.answer(await w.preview(requestUri));
          return result(shopA, requestId);
        };
        expect((await answerVerified()).status).to.equal("accepted"); // 3 left: no refresh yet
        // The credential a refresh presents to the issuer (the first one) is revoked: the issuer will refuse it.
        const [first] = await w.exportCredentials();
        const idx = JSON.parse(Buffer.from(first!.credential.split(".")[1]!, "base64url").toString()).status.status_list.idx;
        await admin("/admin/status", { indexes: [idx], status: "revoked" });
        expect((await answerVerified()).status).to.equal("accepted"); // 2 left: a refresh starts, and fails
        await w.backgroundRefresh;
        expect(reports.map((r) => r.error?.code)).to.deep.equal(["ERR_CREDENTIAL_REVOKED"]);
        expect(w.lastBackgroundRefresh).to.deep.equal(reports[0]);
      } finally {
        await w.close();
      }
    });
  });

  // Mocha runs a suite's own tests before its nested suites: this one sits in its own, last, suite.
  describe("afterwards", () => it("no personal data in any service's logs", () => {
    const logs = [issuer, shopA, shopB].flatMap((s) => s.output).join("\n");
    expect(logs.length).to.be.greaterThan(100);
    for (const secret of [PERSON.fullName, PERSON.idNumber, "1990-03-07", "张", "李四", "310115198508154561", PERSON.portrait.toString("base64").slice(0, 40)]) {
      expect(logs.includes(secret), `logs contain ${secret}`).to.equal(false);
    }
  }));
});
