import { expect } from "chai";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import {
  bindPresentation,
  consentExpiresAt,
  createConsentReceipt,
  derivePairwiseKey,
  issueIdentityCredential,
  jwkFromDidKey,
  merchantPseudonymClaim,
  presentationRequestOf,
  transactionDataHash,
  requestHash,
  selectDisclosures,
  sha256B64url,
  signPairwiseProof,
  StatusListService,
  type ConsentRecord,
  type GrantLevel,
  type PresentationRequest,
} from "@realname/agent";
import { createApp, type VerifierDeps } from "../../verifier-service/src/app.js";
import { sweepExpired } from "../../verifier-service/src/sweep.js";
import { CLAIMS, TEST_VCT } from "../helpers/sdjwt.js";
import { startInProcessVerifier, type InProcessVerifier } from "../helpers/verifier-harness.js";
import { newTestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";

/**
 * The merchant's verifier in process, over real HTTP on loopback, real LevelDB and real signatures, with an
 * injected clock: the issuer's real status list (StatusListService) served on loopback, credentials bound
 * to a holder key the test holds, so it can sign exactly the consent receipt each case needs.
 */
describe("Verifier: counter-signs only its offer, shows values only to the answering browser, status freshness, sweeps", function () {
  this.timeout(60_000);
  const issuer = newTestKey();
  const merchantKey = newTestKey();
  const merchant = { did: merchantKey.did, name: "Test Shop", signer: merchantKey.signer };
  const seed = randomBytes(32);
  let t = Date.parse("2026-11-21T10:00:00Z");
  const clock = () => new Date(t);
  let harness: InProcessVerifier;
  let base: string;
  let deps: VerifierDeps;
  let statusList: StatusListService;
  let queueStore: InProcessVerifier["queueStore"];

  // The issuer's status list says "cache me for an hour": the verifier must not believe it that long.
  before(async () => {
    harness = await startInProcessVerifier({ issuer, merchant, clock, statusTtlSeconds: 3600, checkout: { offers: [{ id: "invoice", title: "Invoice", level: "full", purpose: "Issue an invoice", retentionDays: 180, claims: ["full_name"], ageOver18: false }] } });
    ({ base, deps, statusList, queueStore } = harness);
  });
  after(async () => {
    await harness?.close();
  });

  /** A credential from the trusted issuer with a status index of the real list, bound to a fresh holder key. */
  async function credential() {
    const holder = newTestKey();
    const status = await statusList.allocate();
    // The issuer's member pseudonym for this merchant (issue 12 §3: one account per person per merchant).
    const pseudonyms = { [merchantPseudonymClaim(merchant.did)]: `member-${holder.did.slice(-12)}` };
    const sdjwt = await issueIdentityCredential({ issuerDid: issuer.did, vct: TEST_VCT, signer: issuer.signer, holderJwk: jwkFromDidKey(holder.did), claims: CLAIMS, now: clock(), validForSeconds: 30 * 86_400, status, pseudonyms });
    return { holder, sdjwt, idx: status.idx };
  }
  type Credential = Awaited<ReturnType<typeof credential>>;

  /** The merchant's front end opens a request (POST /requests): the request as the wallet reads it, and the secret. */
  async function open(level: GrantLevel) {
    const created = (await call(`${base}/requests`, { body: { level, purpose: `test ${level}`, retentionDays: 30, claims: level === "full" ? ["full_name"] : [] } })).body;
    const requestJwt = (await (await fetch(created.requestUri)).text()).trim();
    const payload = JSON.parse(Buffer.from(requestJwt.split(".")[1]!, "base64url").toString());
    void payload;
    const request: PresentationRequest = presentationRequestOf(requestJwt);
    return { requestId: created.requestId as string, transactionSecret: created.transactionSecret as string, authorizationRequest: created.authorizationRequest as string, requestJwt, request };
  }

  /** The wallet's answer (as HolderWallet.answer builds it), with the consent record bent by `tamper`. */
  async function answer(o: Awaited<ReturnType<typeof open>>, cred: Credential, tamper: (r: Omit<ConsentRecord, "receiptId" | "schemaVersion">) => Omit<ConsentRecord, "receiptId" | "schemaVersion"> = (r) => r) {
    const { request, requestJwt } = o;
    const now = clock();
    const claimNames = request.level === "full" ? ["real_name_verified", ...request.claims] : request.age_over_18 ? ["real_name_verified", "age_over_18"] : ["real_name_verified"];
    const disclosed = request.level === "pseudonymous" ? [...claimNames, merchantPseudonymClaim(request.iss)] : claimNames;
    const { presented, sdHash } = await selectDisclosures(cred.sdjwt, disclosed);
    const pairwise = request.level === "pseudonymous" ? derivePairwiseKey(seed, request.iss) : undefined;
    const consent = await createConsentReceipt(
      tamper({
        consentTimestamp: now.toISOString(),
        jurisdiction: "CN",
        controller: { id: request.iss, name: request.merchant_name },
        purpose: request.purpose,
        level: request.level,
        claimNames,
        retentionDays: request.retention_days,
        presentationHash: sdHash,
        requestHash: requestHash(requestJwt),
        expiresAt: consentExpiresAt(now, request.retention_days).toISOString(),
        ...(pairwise ? { pseudonym: pairwise.did } : {}),
      }),
      { did: cred.holder.did, signer: cred.holder.signer },
      now,
    );
    const presentation = await bindPresentation({ presented, sdHash, audience: request.client_id, nonce: request.nonce, now, signer: cred.holder.signer, extraClaims: { transaction_data_hashes: [transactionDataHash(request.transaction_data!)], receipt_hash: sha256B64url(consent.jwt), ...(pairwise ? { pairwise_sub: pairwise.did } : {}) } });
    const pairwiseProof = pairwise ? await signPairwiseProof(pairwise, { audience: request.iss, nonce: request.nonce, sdHash, now }) : undefined;
    return call(request.response_uri, { body: { presentation, consentReceipt: consent.jwt, ...(pairwiseProof ? { pairwiseProof } : {}) } });
  }

  const snapshot = async () => ({ grants: (await deps.grants.list()).length, accounts: (await deps.accounts.list()).length, queue: (await queueStore.list()).length });

  describe("§1: the merchant counter-signs only what it offered", () => {
    const hour = 3_600_000;
    const day = 86_400_000;
    const terms: Array<[string, string, GrantLevel, (r: Omit<ConsentRecord, "receiptId" | "schemaVersion">) => Omit<ConsentRecord, "receiptId" | "schemaVersion">]> = [
      ["level", "ERR_CONSENT_TERMS_LEVEL", "full", (r) => ({ ...r, level: "verified" })],
      ["claim names", "ERR_CONSENT_TERMS_CLAIMS", "full", (r) => ({ ...r, claimNames: ["real_name_verified"] })],
      ["claim names (one more)", "ERR_CONSENT_TERMS_CLAIMS", "full", (r) => ({ ...r, claimNames: [...r.claimNames, "id_number"] })],
      ["purpose", "ERR_CONSENT_TERMS_PURPOSE", "full", (r) => ({ ...r, purpose: "test full, and marketing" })],
      ["retention", "ERR_CONSENT_TERMS_RETENTION", "full", (r) => ({ ...r, retentionDays: 3650 })],
      ["expiry", "ERR_CONSENT_TERMS_EXPIRY", "full", (r) => ({ ...r, expiresAt: new Date(Date.parse(r.expiresAt) + 365 * day).toISOString() })],
      ["consent time (an hour ago)", "ERR_CONSENT_TERMS_TIME", "full", (r) => ({ ...r, consentTimestamp: new Date(Date.parse(r.consentTimestamp) - hour).toISOString(), expiresAt: new Date(Date.parse(r.expiresAt) - hour).toISOString() })],
      ["consent time (tomorrow)", "ERR_CONSENT_TERMS_TIME", "verified", (r) => ({ ...r, consentTimestamp: new Date(Date.parse(r.consentTimestamp) + day).toISOString(), expiresAt: new Date(Date.parse(r.expiresAt) + day).toISOString() })],
      ["merchant DID", "ERR_CONSENT_TERMS_MERCHANT", "pseudonymous", (r) => ({ ...r, controller: { ...r.controller, id: newTestKey().did } })],
      ["merchant name", "ERR_CONSENT_TERMS_MERCHANT_NAME", "full", (r) => ({ ...r, controller: { ...r.controller, name: "Another Shop" } })],
      ["request hash", "ERR_CONSENT_TERMS_REQUEST", "full", (r) => ({ ...r, requestHash: "00".repeat(32) })],
    ];
    for (const [term, code, level, tamper] of terms) {
      it(`${term}: a receipt signed by the real holder key with only this term changed is refused with ${code}; nothing stored, the nonce unspent`, async () => {
        const cred = await credential();
        const o = await open(level);
        const before = await snapshot();
        const refused = await answer(o, cred, tamper);
        expect(refused.status).to.equal(400);
        expect(refused.body.error.code).to.equal(code);
        expect(await snapshot()).to.deep.equal(before);
        expect(await deps.nonces.get(o.request.nonce)).to.deep.equal({ requestId: o.requestId });
        expect((await call(`${base}/requests/${o.requestId}/result`, { headers: { "x-transaction-secret": o.transactionSecret } })).body).to.deep.equal({ status: "pending" });
        // The very same request, answered with the terms it offered, is accepted: the refusal was the term alone.
        const genuine = await answer(o, cred);
        expect(genuine.status, JSON.stringify(genuine.body)).to.equal(200);
        expect((await snapshot()).grants).to.equal(before.grants + 1);
      });
    }
  });

  describe("expiry", () => {
    it("an answer that arrives after the request expired is refused with ERR_REQUEST_EXPIRED; nothing stored, the nonce unspent", async () => {
      const cred = await credential();
      const o = await open("verified");
      const before = await snapshot();
      t += 301_000; // past the service's default validity (300 s)
      const late = await answer(o, cred);
      expect(late.status).to.equal(410);
      expect(late.body.error.code).to.equal("ERR_REQUEST_EXPIRED");
      expect(await snapshot()).to.deep.equal(before);
      expect(await deps.nonces.get(o.request.nonce)).to.deep.equal({ requestId: o.requestId });
    });
    it("a front end may ask for a shorter life than the service's default, never a longer one", async () => {
      const short = (await call(`${base}/requests`, { body: { level: "verified", purpose: "test verified", expiresInSeconds: 5 } })).body;
      expect(Date.parse(short.expiresAt) - t).to.equal(5_000);
      const long = (await call(`${base}/requests`, { body: { level: "verified", purpose: "test verified", expiresInSeconds: 3_600 } })).body;
      expect(Date.parse(long.expiresAt) - t).to.equal(300_000);
      expect((await call(`${base}/requests`, { body: { level: "verified", purpose: "test verified", expiresInSeconds: 0 } })).status).to.equal(400);
    });
  });

  describe("§4: a browser that did not complete an answer never sees personal data", () => {
    it("the transaction secret shows status and level only; the response code shows the values once, within minutes", async () => {
      // The attacker opens the request and keeps its secret; the victim's wallet answers it.
      const attacker = await open("full");
      const answered = await answer(attacker, await credential());
      expect(answered.status).to.equal(200);
      const seen = await call(`${base}/requests/${attacker.requestId}/result`, { headers: { "x-transaction-secret": attacker.transactionSecret } });
      expect(seen.status).to.equal(200);
      expect(seen.body).to.deep.equal({ status: "accepted", level: "full" });
      expect(JSON.stringify(seen.body)).to.not.contain("张三");
      // The browser the wallet sends back (the redirect with the response code) sees what was shared, once.
      const redirect = String(answered.body.redirect_uri);
      expect(redirect).to.match(/\/requests\/[0-9a-f-]{36}\/result\?response_code=/);
      const first = await call(redirect);
      expect(first.status).to.equal(200);
      expect(first.body.claims).to.deep.equal({ real_name_verified: true, full_name: "张三" });
      const again = await call(redirect);
      expect(again.status).to.equal(403);
      expect(again.body.error.code).to.equal("ERR_RESPONSE_CODE_INVALID");
      expect((await call(redirect.replace(/response_code=[^&]+/, "response_code=guess"))).body.error.code).to.equal("ERR_RESPONSE_CODE_INVALID");
      // The merchant's own records keep the values.
      const stored = await deps.grants.get(answered.body.grantId);
      expect(JSON.parse(deps.seal.decrypt(stored!.sealedClaims!))).to.deep.equal({ real_name_verified: true, full_name: "张三" });
    });
    it("a pseudonymous answer: the secret shows no pseudonym and no account", async () => {
      const o = await open("pseudonymous");
      const cred = await credential();
      const answered = await answer(o, cred);
      expect(answered.status).to.equal(200);
      const seen = await call(`${base}/requests/${o.requestId}/result`, { headers: { "x-transaction-secret": o.transactionSecret } });
      expect(seen.body).to.deep.equal({ status: "accepted", level: "pseudonymous" });
      // The account is keyed by the issuer's member pseudonym for this merchant; only the wallet's redirect shows it.
      expect((await call(String(answered.body.redirect_uri))).body.account.pseudonym).to.equal(`member-${cred.holder.did.slice(-12)}`);
    });
    it("the response code expires within minutes, unused", async () => {
      const o = await open("full");
      const answered = await answer(o, await credential());
      t += 121_000;
      try {
        const late = await call(String(answered.body.redirect_uri));
        expect(late.status).to.equal(403);
        expect(late.body.error.code).to.equal("ERR_RESPONSE_CODE_INVALID");
      } finally {
        t -= 121_000;
      }
    });
    it("checkout: the attacker's browser (its cookie) sees the level, never the victim's values; the victim's redirect shows them once", async () => {
      const opened = await fetch(`${base}/checkout`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: base }, body: "offer=invoice", redirect: "manual" });
      expect(opened.status).to.equal(303);
      const page = new URL(opened.headers.get("location")!, base).href;
      const cookie = opened.headers.get("set-cookie")!.split(";")[0]!;
      const requestId = page.split("/").pop()!;
      // The attacker sends the request link to a victim, whose wallet answers it.
      const session = (await deps.sessions.get(requestId))!;
      const answered = await answer({ requestId, transactionSecret: "", authorizationRequest: session.authorizationRequest, requestJwt: session.requestJwt, request: session.request }, await credential());
      expect(answered.status).to.equal(200);
      const attackerView = await (await fetch(page, { headers: { cookie } })).text();
      expect(attackerView).to.contain('data-state="accepted"');
      expect(attackerView).to.not.contain("张三");
      expect(((await (await fetch(`${page}/status`, { headers: { cookie } })).json()) as { status: string }).status).to.equal("accepted");
      // The victim's browser, sent back by the wallet, sees what it shared; once.
      const victimView = await fetch(String(answered.body.redirect_uri));
      expect(victimView.status).to.equal(200);
      expect(await victimView.text()).to.contain("张三");
      const reused = await fetch(String(answered.body.redirect_uri), { headers: { cookie } });
      expect(reused.status).to.equal(403);
      const reusedText = await reused.text();
      expect(reusedText).to.contain('data-error-code="ERR_RESPONSE_CODE_INVALID"');
      expect(reusedText).to.not.contain("张三");
    });
  });

  describe("§4: a suspended or revoked credential stops being accepted within the merchant's bound", () => {
    it("revoked: accepted from the cached list within 60 s, refused once the bound passes (though the list's ttl says an hour)", async () => {
      const cred = await credential();
      expect((await answer(await open("verified"), cred)).status).to.equal(200);
      await statusList.setStatus([cred.idx], "revoked");
      t += 30_000;
      expect((await answer(await open("verified"), cred)).status).to.equal(200); // within the bound: the cached list
      t += 31_000;
      const o = await open("verified");
      const before = await snapshot();
      const refused = await answer(o, cred);
      expect(refused.status).to.equal(400);
      expect(refused.body.error.code).to.equal("ERR_CREDENTIAL_REVOKED");
      expect(await snapshot()).to.deep.equal(before);
    });
    it("full grants check status fresh: a suspension is refused at once", async () => {
      const cred = await credential();
      expect((await answer(await open("full"), cred)).status).to.equal(200);
      await statusList.setStatus([cred.idx], "suspended");
      // At the same instant a `verified` answer still relies on the cached list ...
      expect((await answer(await open("verified"), cred)).status).to.equal(200);
      // ... but `full` fetches the list now.
      const refused = await answer(await open("full"), cred);
      expect(refused.status).to.equal(400);
      expect(refused.body.error.code).to.equal("ERR_CREDENTIAL_SUSPENDED");
    });
  });

  describe("§5: expired requests, nonces, login challenges and response codes are swept", () => {
    it("sweepExpired(now) removes what expired, keeps what is alive, and does bounded work per run", async () => {
      const stores = { expiries: deps.expiries, sessions: deps.sessions, nonces: deps.nonces, challenges: deps.challenges };
      t += 3_600_000; // past everything the earlier tests opened
      await sweepExpired(stores, clock(), { limit: 10_000 });
      const pending = await open("verified");
      const answered = await open("full");
      const answer1 = await answer(answered, await credential());
      const challenge = (await call(`${base}/login/challenges`, { method: "POST" })).body;
      t += 301_000; // the first requests (300 s), the challenge and the response code (120 s) have expired ...
      expect(await sweepExpired(stores, clock())).to.deep.equal({ requests: 0, challenges: 0, responseCodes: 0, more: false });
      expect((await call(`${base}/requests/${pending.requestId}`)).body.error.code).to.equal("ERR_REQUEST_EXPIRED");
      t += 500_000;
      const live = await open("verified");
      const liveChallenge = (await call(`${base}/login/challenges`, { method: "POST" })).body;
      t += 100_000; // ... and are swept once they have been expired for EXPIRED_KEPT_SECONDS (10 min)
      const first = await sweepExpired(stores, clock(), { limit: 1 });
      expect(first.more).to.equal(true);
      const rest = await sweepExpired(stores, clock(), { limit: 100 });
      expect(rest.more).to.equal(false);
      expect(first.requests + rest.requests).to.equal(2);
      expect(first.challenges + rest.challenges).to.equal(1);
      expect(first.responseCodes + rest.responseCodes).to.equal(1);
      expect(await deps.sessions.get(pending.requestId)).to.equal(undefined);
      expect(await deps.nonces.get(pending.request.nonce)).to.equal(undefined);
      expect(await deps.sessions.get(answered.requestId)).to.equal(undefined);
      expect(await deps.challenges.get(challenge.challengeId)).to.equal(undefined);
      expect((await deps.nonces.list({ prefix: "rc:" })).length).to.equal(0);
      expect((await call(`${base}/requests/${pending.requestId}`)).status).to.equal(404);
      // Live ones stay, and the grant of the answered request stays (only its session went).
      expect(await deps.sessions.get(live.requestId)).to.not.equal(undefined);
      expect(await deps.nonces.get(live.request.nonce)).to.deep.equal({ requestId: live.requestId });
      expect(await deps.challenges.get(liveChallenge.challengeId)).to.not.equal(undefined);
      expect(await deps.grants.get(answer1.body.grantId)).to.not.equal(undefined);
      expect((await answer(live, await credential())).status).to.equal(200);
      const nothing = await sweepExpired(stores, clock(), { limit: 100 });
      expect(nothing).to.deep.equal({ requests: 0, challenges: 0, responseCodes: 0, more: false });
    });
    it("the verifier keeps its per-client rate limit (429 with a code)", async () => {
      const limited = createApp({ ...deps, rateLimit: { max: 2, windowMs: 60_000 } }).listen(0, "127.0.0.1");
      await new Promise((r) => limited.once("listening", r));
      try {
        const url = `http://127.0.0.1:${(limited.address() as AddressInfo).port}/health`;
        expect((await call(url)).status).to.equal(200);
        expect((await call(url)).status).to.equal(200);
        const third = await call(url);
        expect(third.status).to.equal(429);
        expect(third.body.error.code).to.equal("ERR_RATE_LIMITED");
      } finally {
        limited.close();
      }
    });
  });
});
