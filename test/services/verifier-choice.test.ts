import { expect } from "chai";
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
  type GrantLevel,
  type PresentationRequest,
} from "@realname/agent";
import { randomBytes } from "node:crypto";
import { CLAIMS, TEST_VCT } from "../helpers/sdjwt.js";
import { startInProcessVerifier, type InProcessVerifier } from "../helpers/verifier-harness.js";
import { newTestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";

/**
 * The person chooses within what the merchant states (agent grants/choice.ts): a merchant that prefers `full`
 * (full_name and id_number, id_number optional) and accepts `verified` takes either, records which it got, and
 * refuses an answer outside its statement with a stable code and nothing stored. Real HTTP, LevelDB, signatures.
 */
describe("Verifier: acceptable levels and optional claims (the person chooses)", function () {
  this.timeout(60_000);
  const issuer = newTestKey();
  const merchantKey = newTestKey();
  const merchant = { did: merchantKey.did, name: "Choice Shop", signer: merchantKey.signer };
  const seed = randomBytes(32);
  const clock = () => new Date("2026-11-21T10:00:00Z");
  let harness: InProcessVerifier;
  let base: string;

  before(async () => {
    harness = await startInProcessVerifier({ issuer, merchant, clock, statusTtlSeconds: 60, checkout: { offers: [{ id: "member", title: "Member", level: "pseudonymous", purpose: "Open a member account", retentionDays: 365, claims: [], ageOver18: false }] } });
    base = harness.base;
  });
  after(async () => harness?.close());

  async function credential() {
    const holder = newTestKey();
    const status = await harness.statusList.allocate();
    const pseudonyms = { [merchantPseudonymClaim(merchant.did)]: `member-${holder.did.slice(-12)}` };
    const sdjwt = await issueIdentityCredential({ issuerDid: issuer.did, vct: TEST_VCT, signer: issuer.signer, holderJwk: jwkFromDidKey(holder.did), claims: CLAIMS, now: clock(), validForSeconds: 30 * 86_400, status, pseudonyms });
    return { holder, sdjwt };
  }

  /** Full preferred (full_name + id_number, id_number optional), verified accepted. */
  async function open(body: Record<string, unknown> = { level: "full", claims: ["full_name", "id_number"], optionalClaims: ["id_number"], acceptLevels: ["verified"] }) {
    const created = await call(`${base}/requests`, { body: { purpose: "Open a customer file", retentionDays: 30, ...body } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const requestJwt = (await (await fetch(created.body.requestUri)).text()).trim();
    const request: PresentationRequest = presentationRequestOf(requestJwt);
    return { requestId: created.body.requestId as string, transactionSecret: created.body.transactionSecret as string, requestJwt, request };
  }

  /** The answer HolderWallet.answer builds for a choice: disclosures, consent receipt and key binding at that level. */
  async function answer(o: Awaited<ReturnType<typeof open>>, level: GrantLevel, claims: string[]) {
    const { holder, sdjwt } = await credential();
    const { request, requestJwt } = o;
    const now = clock();
    const claimNames = level === "full" ? ["real_name_verified", ...claims] : ["real_name_verified"];
    const disclosed = level === "pseudonymous" ? [...claimNames, merchantPseudonymClaim(request.iss)] : claimNames;
    const { presented, sdHash } = await selectDisclosures(sdjwt, disclosed);
    const pairwise = level === "pseudonymous" ? derivePairwiseKey(seed, request.iss) : undefined;
    const consent = await createConsentReceipt(
      {
        consentTimestamp: now.toISOString(),
        jurisdiction: "CN",
        controller: { id: request.iss, name: request.merchant_name },
        purpose: request.purpose,
        level,
        claimNames,
        retentionDays: request.retention_days,
        presentationHash: sdHash,
        requestHash: requestHash(requestJwt),
        transactionDataHash: transactionDataHash(request.transaction_data!),
        expiresAt: consentExpiresAt(now, request.retention_days).toISOString(),
        ...(pairwise ? { pseudonym: pairwise.did } : {}),
      },
      { did: holder.did, signer: holder.signer },
      now,
    );
    const presentation = await bindPresentation({ presented, sdHash, audience: request.client_id, nonce: request.nonce, now, signer: holder.signer, extraClaims: { transaction_data_hashes: [transactionDataHash(request.transaction_data!)], receipt_hash: sha256B64url(consent.jwt), ...(pairwise ? { pairwise_sub: pairwise.did } : {}) } });
    const pairwiseProof = pairwise ? await signPairwiseProof(pairwise, { audience: request.iss, nonce: request.nonce, sdHash, now }) : undefined;
    return call(request.response_uri, { body: { presentation, consentReceipt: consent.jwt, ...(pairwiseProof ? { pairwiseProof } : {}) } });
  }

  const resultOf = async (o: Awaited<ReturnType<typeof open>>) => (await call(`${base}/requests/${o.requestId}/result`, { headers: { "x-transaction-secret": o.transactionSecret } })).body;
  const stored = async () => ({ grants: (await harness.deps.grants.list()).length, queue: (await harness.queueStore.list()).length });

  it("states the acceptable levels and optional claims in the realname_grant transaction data, the DCQL query asking for the preferred set", async () => {
    const o = await open();
    expect(o.request.level).to.equal("full");
    expect(o.request.accepted_levels).to.deep.equal(["verified"]);
    expect(o.request.optional_claims).to.deep.equal(["id_number"]);
    const td = JSON.parse(Buffer.from(o.request.transaction_data!, "base64url").toString());
    expect(td).to.include({ type: "realname_grant", level: "full" });
    expect(td.accepted_levels).to.deep.equal(["verified"]);
    expect(td.optional_claims).to.deep.equal(["id_number"]);
  });

  it("takes a lower acceptable level (verified) and records it: the result shows verified, not the preference", async () => {
    const o = await open();
    const r = await answer(o, "verified", []);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(await resultOf(o)).to.deep.equal({ status: "accepted", level: "verified" });
    const seen = await call(r.body.redirect_uri);
    expect(seen.body).to.include({ status: "accepted", level: "verified" });
    expect(seen.body.claimNames).to.deep.equal(["real_name_verified"]);
    const grant = await harness.deps.grants.get(r.body.grantId);
    expect(grant!.level).to.equal("verified");
    expect(grant!.sealedClaims).to.equal(undefined);
  });

  it("takes a full answer with an optional claim switched off, and records the claims it got", async () => {
    const o = await open();
    const r = await answer(o, "full", ["full_name"]);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(await resultOf(o)).to.deep.equal({ status: "accepted", level: "full" });
    const seen = await call(r.body.redirect_uri);
    expect(seen.body.claimNames).to.deep.equal(["full_name", "real_name_verified"]);
    expect(seen.body.claims).to.deep.equal({ real_name_verified: true, full_name: seen.body.claims.full_name });
    expect(seen.body.claims).to.not.have.property("id_number");
  });

  it("takes the preferred answer as before", async () => {
    const o = await open();
    const r = await answer(o, "full", ["full_name", "id_number"]);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect((await resultOf(o)).level).to.equal("full");
  });

  it("refuses a level outside what it stated (ERR_LEVEL_NOT_ACCEPTED): nothing stored, the request stays open", async () => {
    const o = await open();
    const before = await stored();
    const r = await answer(o, "pseudonymous", []);
    expect(r.status).to.equal(400);
    expect(r.body.error.code).to.equal("ERR_LEVEL_NOT_ACCEPTED");
    expect(await stored()).to.deep.equal(before);
    expect(await resultOf(o)).to.deep.equal({ status: "pending" });
  });

  it("refuses switching off a claim that is not optional (ERR_CLAIMS_MISSING) and nothing is stored", async () => {
    const o = await open();
    const before = await stored();
    const r = await answer(o, "full", ["id_number"]);
    expect(r.status).to.equal(400);
    expect(r.body.error.code).to.equal("ERR_CLAIMS_MISSING");
    expect(await stored()).to.deep.equal(before);
  });

  it("refuses a lower level when the merchant accepts none (a single-level request stays exact)", async () => {
    const o = await open({ level: "full", claims: ["full_name"] });
    const r = await answer(o, "verified", []);
    expect(r.status).to.equal(400);
    expect(r.body.error.code).to.equal("ERR_CLAIMS_MISSING");
  });

  describe("user-initiated grants (POST /requests/user-initiated)", () => {
    it("opens a fresh request at the level the person picked, on the merchant's own terms; the answer opens an account", async () => {
      const r = await call(`${base}/requests/user-initiated`, { body: { level: "pseudonymous" } });
      expect(r.status).to.equal(201);
      expect(r.body).to.have.keys(["requestId", "authorizationRequest", "requestUri", "expiresAt"]);
      const requestJwt = (await (await fetch(r.body.requestUri)).text()).trim();
      const request = presentationRequestOf(requestJwt);
      expect(request).to.include({ level: "pseudonymous", purpose: "Open a member account", retention_days: 365 });
      const answered = await answer({ requestId: r.body.requestId, transactionSecret: "", requestJwt, request }, "pseudonymous", []);
      expect(answered.status, JSON.stringify(answered.body)).to.equal(200);
      expect((await call(answered.body.redirect_uri)).body.account.visits).to.equal(1);
    });

    for (const [what, body, code] of [
      ["a level the merchant takes no unsolicited grant at", { level: "verified" }, "ERR_LEVEL_NOT_ACCEPTED"],
      ["full (the merchant names the claims it needs)", { level: "full" }, "ERR_INVALID_INPUT"],
      ["unknown members", { level: "pseudonymous", purpose: "mine" }, "ERR_INVALID_INPUT"],
    ] as const) {
      it(`refuses ${what} (${code}); nothing stored`, async () => {
        const sessions = (await harness.deps.sessions.list()).length;
        const r = await call(`${base}/requests/user-initiated`, { body });
        expect(r.status).to.equal(400);
        expect(r.body.error.code).to.equal(code);
        expect((await harness.deps.sessions.list()).length).to.equal(sessions);
      });
    }
  });

  for (const [what, body] of [
    ["optional claims not among the claims", { level: "full", claims: ["full_name"], optionalClaims: ["id_number"] }],
    ["accepting full without naming claims", { level: "verified", acceptLevels: ["full"] }],
    ["an unknown accepted level", { level: "full", claims: ["full_name"], acceptLevels: ["everything"] }],
  ] as const) {
    it(`refuses to open a request with ${what} (ERR_INVALID_INPUT)`, async () => {
      const r = await call(`${base}/requests`, { body: { purpose: "x", retentionDays: 1, ...body } });
      expect(r.status).to.equal(400);
      expect(r.body.error.code).to.equal("ERR_INVALID_INPUT");
    });
  }
});
