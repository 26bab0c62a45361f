import { sha256B64url, sha256Hex } from "../encoding.js";
import type { VerificationIssue } from "../errors.js";
import { didKeyFromJwk } from "../identity/did-key.js";
import { CONSENT_RECEIPT_TYPE, verifyReceipt, type ConsentRecord } from "../receipts/receipts.js";
import { claimsForLevel, type GrantLevel } from "../sdjwt/identity-credential.js";
import { verifySdJwtPresentation, type TrustedIssuerKey } from "../sdjwt/verify.js";
import { merchantPseudonymClaim } from "../sdjwt/merchant-pseudonym.js";
import { verifyPairwiseProof } from "./pairwise.js";
import { allChoosableClaimNames, choiceClaimNames, choiceErrors, choiceFromDisclosed, offersChoice } from "./choice.js";
import { TRANSACTION_DATA_HASH_ALG, transactionDataHash } from "./transaction-data.js";
import type { StatusListResolver } from "../sdjwt/status.js";
import type { PresentationRequest } from "./request.js";

export interface GrantResponse {
  presentation: unknown;
  /** Optional: our wallet sends one; a plain OpenID4VP 1.0 answer does not (the key-binding JWT is the consent). */
  consentReceipt?: unknown;
  pairwiseProof?: unknown;
}

/** What ties a grant to the person's own signature when there is no consent receipt: the presentation itself. */
export interface PresentationBinding {
  /** sha-256 (hex) of the exact key-binding JWT the person signed. */
  kbJwtHash: string;
  /** Its `sd_hash`: the presented SD-JWT (credential and disclosures). */
  sdHash: string;
  /** The `transaction_data_hashes` entry for the grant terms the person signed, when the request carried them. */
  transactionDataHash?: string;
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
  /** The consent receipt, when the wallet sent one (ours does; a standard wallet does not). */
  consent?: ConsentRecord;
  consentReceipt?: string;
  /** The presentation's own binding: with no consent receipt, the grant receipt names it as the person's signed consent. */
  presentation: PresentationBinding;
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
  /**
   * Issuer DIDs, or `{ iss, jwk, kid? }` keys: further keys of an issuer (e.g. its ES256 key), or an https
   * issuer's keys read from its metadata by IssuerMetadataResolver.
   */
  trustedIssuers: ReadonlyArray<string | TrustedIssuerKey>;
  /** The identity credential type the merchant accepts (the trusted issuer's vct URL). */
  expectedVct: string;
  now: Date;
  /** Checks the credential's status list; when given, a credential without a status reference is refused. */
  status?: StatusListResolver;
  /** How far the consent time may be from `now` (default CONSENT_TIME_SKEW_SECONDS). */
  consentSkewSeconds?: number;
}): Promise<{ verified: boolean; errors: VerificationIssue[]; grant?: VerifiedGrant }> {
  const { response, now } = args;
  const stated = args.request;
  const fail = (errors: VerificationIssue[]) => ({ verified: false, errors });
  // A request that offers a choice (choice.ts) takes any acceptable answer: disclosure is checked against the
  // union here, then the exact choice the disclosures state is checked against what the merchant stated.
  const choosing = offersChoice(stated);
  // This merchant's pseudonym claim passes the disclosure filter so that a level outside the statement is
  // refused as such (ERR_LEVEL_NOT_ACCEPTED) below, not as a stray claim.
  const choosable = choosing ? [...new Set([...allChoosableClaimNames(stated), merchantPseudonymClaim(stated.iss)])] : undefined;
  let request = stated;
  let expectedClaims: string[] = claimsForLevel(request.level, { requestedClaims: request.claims, ageOver18: request.age_over_18 });
  // `pseudonymous` also discloses the issuer's pseudonym for this merchant; any other merchant's is refused.
  let pseudonymClaim = request.level === "pseudonymous" ? merchantPseudonymClaim(request.iss) : undefined;

  if (Math.floor(now.getTime() / 1000) >= request.exp) return fail([{ code: "ERR_REQUEST_EXPIRED", message: "the request has expired" }]);

  const pres = verifySdJwtPresentation({
    presentation: response.presentation,
    trustedIssuers: args.trustedIssuers,
    // OpenID4VP 1.0 (Appendix B.3.6): the key-binding `aud` is the full client identifier.
    audience: request.client_id,
    nonce: request.nonce,
    now: () => now,
    requireKeyBinding: true,
    expectedVct: args.expectedVct,
    allowedClaims: choosable ?? (pseudonymClaim ? [...expectedClaims, pseudonymClaim] : expectedClaims),
    ...(choosable ? {} : { requiredClaims: pseudonymClaim ? [...expectedClaims, pseudonymClaim] : expectedClaims }),
  });
  if (!pres.verified) return fail(pres.errors);
  if (choosing) {
    const choice = choiceFromDisclosed(stated, pres.disclosed!);
    const refused = choiceErrors(stated, choice);
    if (refused.length) return fail(refused);
    // From here on the grant is checked as a request at the chosen level (consent terms, pseudonym, status).
    request = { ...stated, level: choice.level, claims: choice.claims };
    expectedClaims = choiceClaimNames(stated, choice);
    pseudonymClaim = choice.level === "pseudonymous" ? merchantPseudonymClaim(stated.iss) : undefined;
    const disclosed = pres.disclosed!.filter((n) => n !== pseudonymClaim);
    if ([...disclosed].sort().join() !== [...expectedClaims].sort().join() || (pseudonymClaim && !pres.disclosed!.includes(pseudonymClaim))) {
      return fail([{ code: "ERR_CLAIMS_MISSING", message: "the disclosures are not exactly one of the answers the merchant accepts" }]);
    }
  }
  if (args.status) {
    // A `full` grant hands over identity values: its credential's status is checked fresh, never from a cache.
    const statusErrors = await args.status.check(pres.claims?.status, pres.issuer!, now, { fresh: request.level === "full", issuerJwk: pres.issuerJwk, issuerJwks: pres.issuerJwks });
    if (statusErrors.length) return fail(statusErrors);
  }
  let holderDid: string;
  try {
    holderDid = didKeyFromJwk(pres.holderJwk);
  } catch {
    return fail([{ code: "ERR_UNSUPPORTED_KEY", message: "grants need an Ed25519 or P-256 holder key (the consent receipt is signed by it as a did:key)" }]);
  }

  const errors: VerificationIssue[] = [];
  // The grant terms as transaction data: the key-binding JWT must carry the hash of the exact string sent.
  const tdHash = request.transaction_data !== undefined ? transactionDataHash(request.transaction_data) : undefined;
  if (tdHash !== undefined) errors.push(...transactionDataHashErrors(pres.keyBinding ?? {}, tdHash));

  // The consent receipt, when sent: signed by the same holder key, about this very presentation and request.
  let consent: ConsentRecord | undefined;
  const consentJwt = response.consentReceipt;
  if (consentJwt !== undefined) {
    const receipt = await verifyReceipt<ConsentRecord>(consentJwt, CONSENT_RECEIPT_TYPE, { now });
    if (!receipt.verified) return fail(receipt.errors.map((e) => ({ ...e, code: e.code.replace("ERR_RECEIPT", "ERR_CONSENT_RECEIPT") })));
    consent = receipt.record!;
    const mismatch = (what: string) => errors.push({ code: "ERR_CONSENT_RECEIPT_MISMATCH", message: `the consent receipt's ${what} does not match the presentation` });
    if (receipt.issuer !== holderDid) mismatch("signer");
    if (pres.keyBinding?.receipt_hash !== sha256B64url(consentJwt as string)) errors.push({ code: "ERR_CONSENT_RECEIPT_NOT_BOUND", message: "the key-binding JWT does not carry this consent receipt's hash" });
    if (consent.presentationHash !== pres.sdHash) mismatch("presentation hash");
    if (consent.transactionDataHash !== undefined && consent.transactionDataHash !== tdHash) mismatch("transaction data hash");
    // Every consent term must be the one this request offered (each with its own code, reported first).
    errors.unshift(...consentTermsErrors(consent, request, args.requestJwt, expectedClaims, now, args.consentSkewSeconds ?? CONSENT_TIME_SKEW_SECONDS));
    if ([...(consent.claimNames ?? [])].sort().join() !== pres.disclosed!.filter((n) => n !== pseudonymClaim).sort().join()) mismatch("claim names");
  }

  let pseudonym: string | undefined;
  let memberId: string | undefined;
  if (request.level === "pseudonymous") {
    // The account key: the issuer-signed pseudonym a standard wallet discloses as the DCQL query names it.
    const value = pres.claims![pseudonymClaim!];
    if (typeof value !== "string" || !/^[A-Za-z0-9_-]{16,64}$/.test(value)) errors.push({ code: "ERR_PSEUDONYM_MALFORMED", message: "the issuer's pseudonym for this merchant is missing or malformed" });
    else memberId = value;
    // Our wallet's pairwise login key is optional; when sent it must be proven and bound like before.
    if (response.pairwiseProof !== undefined) {
      const proof = verifyPairwiseProof(response.pairwiseProof, { audience: request.iss, nonce: request.nonce, sdHash: pres.sdHash! });
      if (!proof.verified) errors.push(...proof.errors);
      else if (pres.keyBinding?.pairwise_sub !== proof.pseudonym || (consent !== undefined && consent.pseudonym !== proof.pseudonym)) {
        errors.push({ code: "ERR_PAIRWISE_PROOF_BINDING", message: "the pseudonym is not the one bound into the presentation and consent" });
      } else pseudonym = proof.pseudonym;
    } else if (consent?.pseudonym !== undefined || pres.keyBinding?.pairwise_sub !== undefined) {
      errors.push({ code: "ERR_PAIRWISE_PROOF_MALFORMED", message: "a login key is named but its proof is missing" });
    }
  } else if (response.pairwiseProof !== undefined) {
    errors.push({ code: "ERR_CLAIMS_NOT_ALLOWED", message: "a pseudonym was sent for a level that does not ask for one" });
  }
  if (errors.length) return fail(errors);

  const claims = Object.fromEntries(pres.disclosed!.filter((n) => n !== pseudonymClaim).map((n) => [n, pres.claims![n]]));
  return {
    verified: true,
    errors: [],
    grant: {
      level: request.level,
      claims,
      pseudonym,
      ...(memberId ? { memberId } : {}),
      holderDid,
      ...(consent ? { consent, consentReceipt: consentJwt as string } : {}),
      presentation: { kbJwtHash: sha256Hex(kbJwtOf(response.presentation as string)), sdHash: pres.sdHash!, ...(tdHash ? { transactionDataHash: tdHash } : {}) },
      issuer: pres.issuer!,
      statusUri: (pres.claims?.status as { status_list?: { uri?: string } } | undefined)?.status_list?.uri },
  };
}

/** The key-binding JWT of a presentation: everything after its last `~`. */
export const kbJwtOf = (presentation: string): string => presentation.slice(presentation.lastIndexOf("~") + 1);

/**
 * OpenID4VP 1.0 §8.4 / Appendix B.3.6: the key-binding JWT carries `transaction_data_hashes`, one hash per
 * transaction data string that applies to this credential (here exactly one), with the algorithm the request
 * allowed (`transaction_data_hashes_alg`, default and only accepted value sha-256).
 */
export function transactionDataHashErrors(keyBinding: Record<string, unknown>, expectedHash: string): VerificationIssue[] {
  const hashes = keyBinding.transaction_data_hashes;
  const alg = keyBinding.transaction_data_hashes_alg;
  if (hashes === undefined) return [{ code: "ERR_TRANSACTION_DATA_HASH_MISSING", message: "the key-binding JWT does not carry transaction_data_hashes for the grant terms" }];
  if (alg !== undefined && alg !== TRANSACTION_DATA_HASH_ALG) return [{ code: "ERR_TRANSACTION_DATA_HASH_ALG", message: "transaction_data_hashes_alg must be sha-256" }];
  if (!Array.isArray(hashes) || hashes.length !== 1 || hashes[0] !== expectedHash) return [{ code: "ERR_TRANSACTION_DATA_HASH_MISMATCH", message: "the transaction_data_hashes are not the hash of the grant terms this request sent" }];
  return [];
}

/** How far a consent receipt's time may lie from the merchant's clock. */
export const CONSENT_TIME_SKEW_SECONDS = 60;

/** When a consent to `retentionDays` lapses: what the wallet writes and the merchant expects (at least a day). */
export function consentExpiresAt(consentTimestamp: Date, retentionDays: number): Date {
  return new Date(consentTimestamp.getTime() + Math.max(1, retentionDays) * 86_400_000);
}

/**
 * The merchant counter-signs only what it offered: every consent term must equal the open request's terms,
 * each refused with its own stable code (`ERR_CONSENT_TERMS_<TERM>`), so a wallet (or anyone holding the
 * holder key) cannot get a grant receipt over terms the merchant never stated.
 */
export function consentTermsErrors(consent: ConsentRecord, request: PresentationRequest, requestJwt: string, expectedClaims: readonly string[], now: Date, skewSeconds: number): VerificationIssue[] {
  const errors: VerificationIssue[] = [];
  const term = (code: string, what: string) => errors.push({ code: `ERR_CONSENT_TERMS_${code}`, message: `the consent receipt's ${what} is not what this request offered` });
  if (consent.level !== request.level) term("LEVEL", "level");
  const names = Array.isArray(consent.claimNames) ? consent.claimNames : [];
  if (!Array.isArray(consent.claimNames) || new Set(names).size !== names.length || [...names].sort().join() !== [...expectedClaims].sort().join()) term("CLAIMS", "claim names");
  if (consent.purpose !== request.purpose) term("PURPOSE", "purpose");
  if (consent.retentionDays !== request.retention_days) term("RETENTION", "retention period");
  if (consent.controller?.id !== request.iss) term("MERCHANT", "merchant (controller DID)");
  if (consent.controller?.name !== request.merchant_name) term("MERCHANT_NAME", "merchant name");
  if (consent.requestHash !== sha256Hex(requestJwt)) term("REQUEST", "request hash");
  const consentedAt = typeof consent.consentTimestamp === "string" ? Date.parse(consent.consentTimestamp) : NaN;
  const t = now.getTime();
  if (!Number.isFinite(consentedAt) || Math.abs(consentedAt - t) > skewSeconds * 1000 || consentedAt < (request.iat - skewSeconds) * 1000) term("TIME", "consent time");
  const expiresAt = typeof consent.expiresAt === "string" ? Date.parse(consent.expiresAt) : NaN;
  if (!Number.isFinite(consentedAt) || expiresAt !== consentExpiresAt(new Date(consentedAt), request.retention_days).getTime()) term("EXPIRY", "expiry");
  return errors;
}
