import { expect } from "chai";
import {
  bindPresentation,
  createAuthorizationRequest,
  createConsentReceipt,
  derivePairwiseKey,
  issueIdentityCredential,
  jwkFromDidKey,
  merchantPseudonymClaim,
  requestHash,
  selectDisclosures,
  sha256B64url,
  signPairwiseProof,
  transactionDataHash,
  verifyGrantResponse,
  type GrantLevel,
} from "@realname/agent";
import { randomBytes } from "node:crypto";
import { CLAIMS, TEST_VCT } from "../helpers/sdjwt.js";
import { newTestKey } from "../helpers/keys.js";

/**
 * One account per person per merchant rests on the merchant requiring the issuer-signed pseudonym for itself:
 * a wallet that withholds it, or shows another merchant's, would otherwise open a fresh account each time.
 */
describe("the merchant's pseudonymous check: the issuer's pseudonym for this merchant, and no other (issue 12 §3)", () => {
  const now = new Date();
  const issuer = newTestKey();
  const holder = newTestKey();
  const merchant = { ...newTestKey(), name: "Shop" };
  const otherMerchant = newTestKey();
  const mine = merchantPseudonymClaim(merchant.did);
  const theirs = merchantPseudonymClaim(otherMerchant.did);
  const seed = randomBytes(32);

  async function answer(level: GrantLevel, disclose: string[]) {
    const credential = await issueIdentityCredential({
      issuerDid: issuer.did,
      vct: TEST_VCT,
      signer: issuer.signer,
      holderJwk: jwkFromDidKey(holder.did),
      claims: CLAIMS,
      now,
      validForSeconds: 86_400,
      pseudonyms: { [mine]: "M".repeat(32), [theirs]: "T".repeat(32) },
    });
    const { request, requestObject } = await createAuthorizationRequest({
      merchant,
      terms: { request_id: "req-0000001", merchant_name: merchant.name, level, purpose: "membership", retention_days: 30 },
      requestUri: "http://127.0.0.1:9/requests/1",
      responseUri: "http://127.0.0.1:9/requests/1/response",
      vct: TEST_VCT,
      now,
      validForSeconds: 300,
    });
    const { presented, sdHash } = await selectDisclosures(credential, disclose);
    const pairwise = level === "pseudonymous" ? derivePairwiseKey(seed, merchant.did) : undefined;
    const consent = await createConsentReceipt(
      {
        consentTimestamp: now.toISOString(),
        jurisdiction: "CN",
        controller: { id: merchant.did, name: merchant.name },
        purpose: "membership",
        level,
        claimNames: ["real_name_verified"],
        retentionDays: 30,
        presentationHash: sdHash,
        requestHash: requestHash(requestObject),
        expiresAt: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
        ...(pairwise ? { pseudonym: pairwise.did } : {}),
      },
      { did: holder.did, signer: holder.signer },
      now,
    );
    const presentation = await bindPresentation({ presented, sdHash, audience: request.client_id, nonce: request.nonce, now, signer: holder.signer, extraClaims: { transaction_data_hashes: [transactionDataHash(request.transaction_data!)], receipt_hash: sha256B64url(consent.jwt), ...(pairwise ? { pairwise_sub: pairwise.did } : {}) } });
    const pairwiseProof = pairwise ? await signPairwiseProof(pairwise, { audience: merchant.did, nonce: request.nonce, sdHash, now }) : undefined;
    return verifyGrantResponse({ response: { presentation, consentReceipt: consent.jwt, ...(pairwiseProof ? { pairwiseProof } : {}) }, request, requestJwt: requestObject, trustedIssuers: [issuer.did], expectedVct: TEST_VCT, now });
  }
  const codes = (r: { errors: Array<{ code: string }> }) => r.errors.map((e) => e.code);

  it("accepts its own pseudonym: the account key is the issuer's value, kept out of the claims the merchant stores", async () => {
    const r = await answer("pseudonymous", ["real_name_verified", mine]);
    expect(r.verified, JSON.stringify(r.errors)).to.equal(true);
    expect(r.grant!.memberId).to.equal("M".repeat(32));
    expect(r.grant!.claims).to.deep.equal({ real_name_verified: true });
    expect(r.grant!.pseudonym).to.match(/^did:key:/);
  });
  it("refuses a pseudonymous answer that withholds the pseudonym (it would open a fresh account)", async () => {
    const r = await answer("pseudonymous", ["real_name_verified"]);
    expect(r.verified).to.equal(false);
    expect(codes(r)).to.include("ERR_CLAIMS_MISSING");
  });
  it("refuses another merchant's pseudonym in its place (nor may any merchant see another's)", async () => {
    const r = await answer("pseudonymous", ["real_name_verified", theirs]);
    expect(r.verified).to.equal(false);
    expect(codes(r)).to.include.members(["ERR_CLAIMS_NOT_ALLOWED", "ERR_CLAIMS_MISSING"]);
  });
  it("refuses the pseudonym at `verified`: that level carries nothing to recognise the person by", async () => {
    const r = await answer("verified", ["real_name_verified", mine]);
    expect(r.verified).to.equal(false);
    expect(codes(r)).to.include("ERR_CLAIMS_NOT_ALLOWED");
  });
});
