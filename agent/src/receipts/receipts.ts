import { validateJwtCredentialPayload } from "did-jwt-vc";
import { decodeJws, signJws } from "../crypto/jws.js";
import { verifyJwt } from "../crypto/algorithms.js";
import { algForDidKey } from "../identity/did-key.js";
import { randomUUID } from "node:crypto";
import type { JwsSigner } from "../crypto/jws.js";
import { sha256Hex } from "../encoding.js";
import type { VerificationIssue } from "../errors.js";
import type { GrantLevel } from "../sdjwt/identity-credential.js";

/**
 * Consent, grant and withdrawal receipts: W3C VCs as JWT (did-jwt-vc), with the fields of a Kantara
 * Consent Receipt / ISO/IEC TS 27560 consent record. Receipts never go on chain; their salted hashes do.
 */

export const RECEIPT_CONTEXT = "https://www.w3.org/2018/credentials/v1";
export const CONSENT_RECEIPT_TYPE = "ConsentReceipt";
export const GRANT_RECEIPT_TYPE = "GrantReceipt";
export const WITHDRAWAL_RECEIPT_TYPE = "WithdrawalReceipt";
export const WITHDRAWAL_ACK_TYPE = "WithdrawalAcknowledgement";

/** The person withdraws a grant: signed by the key that consented. */
export interface WithdrawalRecord {
  receiptId: string;
  schemaVersion: string;
  withdrawnAt: string;
  grantId: string;
  consentReceiptHash: string;
  grantReceiptHash: string;
  controller: { id: string; name: string };
}

/** The merchant's acknowledgement: the withdrawal received and its copy of the data deleted. */
export interface WithdrawalAckRecord {
  receiptId: string;
  schemaVersion: string;
  acknowledgedAt: string;
  grantId: string;
  withdrawalReceiptHash: string;
  dataDeleted: boolean;
}
export const RECEIPT_SCHEMA_VERSION = "realname-receipt/1 (ISO/IEC TS 27560 aligned)";

export interface ConsentRecord {
  receiptId: string;
  schemaVersion: string;
  consentTimestamp: string;
  jurisdiction: string;
  /** The data controller: the merchant. */
  controller: { id: string; name: string };
  purpose: string;
  level: GrantLevel;
  /** Names only, never values. */
  claimNames: string[];
  retentionDays: number;
  /** sha-256 (base64url) of the exact SD-JWT presented, i.e. the KB-JWT's `sd_hash`. */
  presentationHash: string;
  /** sha-256 (hex) of the merchant's signed request this consent answers. */
  requestHash: string;
  /** The `transaction_data_hashes` entry of the grant terms (OpenID4VP transaction data), when the merchant sent them. */
  transactionDataHash?: string;
  /** When the consent lapses unless renewed. */
  expiresAt: string;
  /** For `pseudonymous`: the per-merchant identifier the person controls. */
  pseudonym?: string;
}

export interface GrantRecord {
  receiptId: string;
  schemaVersion: string;
  grantTimestamp: string;
  /** The consent receipt the merchant counter-signs, when the wallet sent one (absent for a plain OpenID4VP answer). */
  consentReceiptId?: string;
  /** sha-256 (hex) of the consent receipt JWT the merchant counter-signs. */
  consentReceiptHash?: string;
  /**
   * The presentation the merchant verified, which is the person's signed consent (OpenID4VP transaction data):
   * sha-256 (hex) of the key-binding JWT, its `sd_hash`, and the hash of the grant terms it carries.
   */
  presentation?: { kbJwtHash: string; sdHash: string; transactionDataHash?: string };
  level: GrantLevel;
  claimNames: string[];
  retentionUntil: string;
  pseudonym?: string;
  /** The issuer's status list the merchant checked the credential against: where, and the hash of its exact JWT. */
  statusList?: { uri: string; hash: string };
  /** The issuer's signed merchant registry the merchant relied on: where, and the hash of its exact JWT (anchored by the issuer). */
  trustRegistry?: { uri: string; hash: string };
}

export interface ReceiptSigner {
  did: string;
  signer: JwsSigner;
}

export const newReceiptId = (): string => `urn:uuid:${randomUUID()}`;

/** sha-256 over the exact JWT bytes: the identity of a receipt everywhere (queue, proofs, bundles). */
export const receiptHash = (jwt: string): string => sha256Hex(jwt);

/**
 * Signs a receipt as a W3C VC-JWT: the header, payload layout and signing input are exactly what did-jwt-vc's
 * `createVerifiableCredentialJwt` makes for this payload (a test compares the bytes), signed directly instead
 * of through did-jwt, which took about twice the time of the signature itself per receipt.
 */
async function signReceipt(type: string, subjectId: string, subject: object, by: ReceiptSigner, now: Date): Promise<string> {
  const payload = {
    vc: {
      "@context": [RECEIPT_CONTEXT],
      type: ["VerifiableCredential", type],
      credentialSubject: subject,
    },
    sub: subjectId,
    nbf: Math.floor(now.getTime() / 1000),
    jti: (subject as { receiptId: string }).receiptId,
    iss: by.did,
  };
  // The algorithm follows the signer's did:key: EdDSA for Ed25519, ES256 (r||s) for P-256.
  return signJws({ alg: algForDidKey(by.did), typ: "JWT" }, payload, by.signer);
}

/** Any receipt of this family, signed: the record gets an id and the schema version. */
export async function createReceipt<T extends { receiptId: string; schemaVersion: string }>(type: string, subjectId: string, record: Omit<T, "receiptId" | "schemaVersion">, by: ReceiptSigner, now: Date): Promise<{ jwt: string; record: T }> {
  const full = { receiptId: newReceiptId(), schemaVersion: RECEIPT_SCHEMA_VERSION, ...record } as T;
  return { jwt: await signReceipt(type, subjectId, full, by, now), record: full };
}

/** The person's consent, signed by the wallet key that also binds the presentation. */
export async function createConsentReceipt(record: Omit<ConsentRecord, "receiptId" | "schemaVersion"> & { receiptId?: string }, by: ReceiptSigner, now: Date): Promise<{ jwt: string; record: ConsentRecord }> {
  const full: ConsentRecord = { receiptId: record.receiptId ?? newReceiptId(), schemaVersion: RECEIPT_SCHEMA_VERSION, ...record };
  const jwt = await signReceipt(CONSENT_RECEIPT_TYPE, record.controller.id, full, by, now);
  return { jwt, record: full };
}

/** The merchant's counter-signature over a consent receipt, subject = the consenting key. */
export async function createGrantReceipt(record: Omit<GrantRecord, "receiptId" | "schemaVersion">, holderDid: string, by: ReceiptSigner, now: Date): Promise<{ jwt: string; record: GrantRecord }> {
  const full: GrantRecord = { receiptId: newReceiptId(), schemaVersion: RECEIPT_SCHEMA_VERSION, ...record };
  const jwt = await signReceipt(GRANT_RECEIPT_TYPE, holderDid, full, by, now);
  return { jwt, record: full };
}

export interface ReceiptVerification<T> {
  verified: boolean;
  errors: VerificationIssue[];
  issuer?: string;
  subject?: string;
  record?: T;
}

/**
 * Verifies a receipt: EdDSA or ES256 signature by the issuer's did:key (Ed25519 or P-256) with node:crypto (the receipt's own `iss`;
 * did:key resolves offline), the W3C VC-JWT payload shape (did-jwt-vc's own validator), `nbf`/`exp` with a
 * bounded skew, and the receipt type. Reports, never throws.
 */
export async function verifyReceipt<T>(jwt: unknown, expectedType: string, options: { now?: Date; skewSeconds?: number } = {}): Promise<ReceiptVerification<T>> {
  const fail = (code: string, message: string): ReceiptVerification<T> => ({ verified: false, errors: [{ code, message }] });
  if (typeof jwt !== "string" || jwt.length > 32_768) return fail("ERR_RECEIPT_MALFORMED", "a receipt is a JWT string");
  // The key is the receipt's own `iss` (a did:key of either curve, resolved offline); its curve fixes the algorithm.
  const iss = (decodeJws(jwt)?.payload as { iss?: unknown } | undefined)?.iss;
  if (iss === undefined) return fail("ERR_RECEIPT_MALFORMED", "the receipt is not a compact JWS");
  if (typeof iss !== "string" || !iss.startsWith("did:key:")) return fail("ERR_RECEIPT_SIGNATURE", "the receipt's signer is not an Ed25519 or P-256 did:key");
  const checked = verifyJwt(jwt, iss);
  if (!checked.verified) {
    const e = checked.errors[0]!;
    return fail(e.code === "ERR_JWS_MALFORMED" ? "ERR_RECEIPT_MALFORMED" : "ERR_RECEIPT_SIGNATURE", `the receipt's signature is not accepted: ${e.message}`);
  }
  const jws = { payload: checked.payload! };
  try {
    validateJwtCredentialPayload(jws.payload as never);
  } catch (cause) {
    return fail("ERR_RECEIPT_INVALID", `the receipt is not a W3C VC-JWT: ${String((cause as Error)?.message ?? cause).slice(0, 160)}`);
  }
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const skew = options.skewSeconds ?? 300;
  const { nbf, exp } = jws.payload as { nbf?: number; exp?: number };
  if (typeof nbf === "number" && nbf - skew > now) return fail("ERR_RECEIPT_INVALID", "the receipt is not valid yet");
  void exp; // a receipt's exp is when the consent lapses, not when the receipt stops being evidence
  const vc = jws.payload.vc as { type?: unknown; credentialSubject?: unknown };
  const types = Array.isArray(vc?.type) ? vc.type : [vc?.type];
  if (!types.includes(expectedType)) return fail("ERR_RECEIPT_TYPE", `expected a ${expectedType}`);
  if (typeof vc.credentialSubject !== "object" || vc.credentialSubject === null) return fail("ERR_RECEIPT_INVALID", "the receipt has no subject");
  return { verified: true, errors: [], issuer: String(iss), subject: typeof jws.payload.sub === "string" ? jws.payload.sub : undefined, record: vc.credentialSubject as T };
}
