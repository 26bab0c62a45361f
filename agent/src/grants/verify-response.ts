import { sha256B64url, sha256Hex } from "../encoding.js";
import type { VerificationIssue } from "../errors.js";
import { didKeyFromJwk } from "../identity/did-key.js";
import { CONSENT_RECEIPT_TYPE, verifyReceipt, type ConsentRecord } from "../receipts/receipts.js";
import { claimsForLevel, IDENTITY_VCT, type GrantLevel } from "../sdjwt/identity-credential.js";
import { verifySdJwtPresentation } from "../sdjwt/verify.js";
import { merchantPseudonymClaim } from "../sdjwt/merchant-pseudonym.js";
import { verifyPairwiseProof } from "./pairwise.js";
import type { StatusListResolver } from "../sdjwt/status.js";
import type { PresentationRequest } from "./request.js";

export interface GrantResponse {
  presentation: unknown;
  consentReceipt: unknown;
  pairwiseProof?: unknown;
}

export interface VerifiedGrant {
  level: GrantLevel;
  /** Exactly the disclosed identity claims (values) the merchant learns. */
  claims: Record<string, unknown>;
  pseudonym?: string;
  /**
   * For `pseudonymous`: the issuer-signed pseudonym of this person at this merchant (one per person, whatever
   * wallet or credential): the account is keyed by it; `pseudonym` is the wallet's login key recorded there.
   */
  memberId?: string;
  /** The key that bound the presentation and signed the consent (did:key of `cnf`). */
  holderDid: string;
  consent: ConsentRecord;
  consentReceipt: string;
  issuer: string;
  /** The credential's status-list URI (the list itself is what the resolver fetched). */
  statusUri?: string;
}

/**
 * Everything a merchant checks before it believes an answer to its request: the SD-JWT VC presentation
 * (RFC 9901, see sdjwt/verify.ts) at exactly the level asked, the consent receipt signed by the same
 * holder key and bound into the key-binding JWT, and for `pseudonymous` the proof of the pseudonym.
 * Nonce single-use is the caller's job (it owns the store); everything else is here.
 */
export async function verifyGrantResponse(args: {
  response: GrantResponse;
  request: PresentationRequest;
  requestJwt: string;
  trustedIssuers: readonly string[];
  now: Date;
  /** Checks the credential's status list; when given, a credential without a status reference is refused. */
  status?: StatusListResolver;
}): Promise<{ verified: boolean; errors: VerificationIssue[]; grant?: VerifiedGrant }> {
  const { request, response, now } = args;
  const expectedClaims = claimsForLevel(request.level, { requestedClaims: request.claims, ageOver18: request.age_over_18 });
  const fail = (errors: VerificationIssue[]) => ({ verified: false, errors });
  // `pseudonymous` also discloses the issuer's pseudonym for this merchant; any other merchant's is refused.
  const pseudonymClaim = request.level === "pseudonymous" ? merchantPseudonymClaim(request.iss) : undefined;

  if (Math.floor(now.getTime() / 1000) >= request.exp) return fail([{ code: "ERR_REQUEST_EXPIRED", message: "the request has expired" }]);

  const pres = verifySdJwtPresentation({
    presentation: response.presentation,
    trustedIssuers: args.trustedIssuers,
    audience: request.iss,
    nonce: request.nonce,
    now: () => now,
    requireKeyBinding: true,
    expectedVct: IDENTITY_VCT,
    allowedClaims: pseudonymClaim ? [...expectedClaims, pseudonymClaim] : expectedClaims,
    requiredClaims: pseudonymClaim ? [...expectedClaims, pseudonymClaim] : expectedClaims,
  });
  if (!pres.verified) return fail(pres.errors);
  if (args.status) {
    const statusErrors = await args.status.check(pres.claims?.status, pres.issuer!, now);
    if (statusErrors.length) return fail(statusErrors);
  }
  let holderDid: string;
  try {
    holderDid = didKeyFromJwk(pres.holderJwk);
  } catch {
    return fail([{ code: "ERR_UNSUPPORTED_KEY", message: "grants need an Ed25519 holder key (the consent receipt is signed by it as a did:key)" }]);
  }

  // The consent receipt: signed by the same holder key, about this very presentation and request.
  const consentJwt = response.consentReceipt;
  const receipt = await verifyReceipt<ConsentRecord>(consentJwt, CONSENT_RECEIPT_TYPE, { now });
  if (!receipt.verified) return fail(receipt.errors.map((e) => ({ ...e, code: e.code.replace("ERR_RECEIPT", "ERR_CONSENT_RECEIPT") })));
  const consent = receipt.record!;
  const errors: VerificationIssue[] = [];
  const mismatch = (what: string) => errors.push({ code: "ERR_CONSENT_RECEIPT_MISMATCH", message: `the consent receipt's ${what} does not match the presentation` });
  if (receipt.issuer !== holderDid) mismatch("signer");
  if (pres.keyBinding?.receipt_hash !== sha256B64url(consentJwt as string)) errors.push({ code: "ERR_CONSENT_RECEIPT_NOT_BOUND", message: "the key-binding JWT does not carry this consent receipt's hash" });
  if (consent.presentationHash !== pres.sdHash) mismatch("presentation hash");
  if (consent.requestHash !== sha256Hex(args.requestJwt)) mismatch("request hash");
  if (consent.controller?.id !== request.iss) mismatch("controller");
  if (consent.level !== request.level) mismatch("level");
  if (consent.purpose !== request.purpose) mismatch("purpose");
  if ([...(consent.claimNames ?? [])].sort().join() !== pres.disclosed!.filter((n) => n !== pseudonymClaim).sort().join()) mismatch("claim names");

  let pseudonym: string | undefined;
  let memberId: string | undefined;
  if (request.level === "pseudonymous") {
    const value = pres.claims![pseudonymClaim!];
    if (typeof value !== "string" || !/^[A-Za-z0-9_-]{16,64}$/.test(value)) errors.push({ code: "ERR_PSEUDONYM_MALFORMED", message: "the issuer's pseudonym for this merchant is missing or malformed" });
    else memberId = value;
    const proof = verifyPairwiseProof(response.pairwiseProof, { audience: request.iss, nonce: request.nonce, sdHash: pres.sdHash! });
    if (!proof.verified) errors.push(...proof.errors);
    else if (pres.keyBinding?.pairwise_sub !== proof.pseudonym || consent.pseudonym !== proof.pseudonym) {
      errors.push({ code: "ERR_PAIRWISE_PROOF_BINDING", message: "the pseudonym is not the one bound into the presentation and consent" });
    } else pseudonym = proof.pseudonym;
  } else if (response.pairwiseProof !== undefined) {
    errors.push({ code: "ERR_CLAIMS_NOT_ALLOWED", message: "a pseudonym was sent for a level that does not ask for one" });
  }
  if (errors.length) return fail(errors);

  const claims = Object.fromEntries(pres.disclosed!.filter((n) => n !== pseudonymClaim).map((n) => [n, pres.claims![n]]));
  return {
    verified: true,
    errors: [],
    grant: { level: request.level, claims, pseudonym, ...(memberId ? { memberId } : {}), holderDid, consent, consentReceipt: consentJwt as string, issuer: pres.issuer!, statusUri: (pres.claims?.status as { status_list?: { uri?: string } } | undefined)?.status_list?.uri },
  };
}
