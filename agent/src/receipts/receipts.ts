import { createVerifiableCredentialJwt, verifyCredential } from "did-jwt-vc";
import { Resolver } from "did-resolver";
import { getDidKeyResolver } from "@veramo/did-provider-key";
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
  /** When the consent lapses unless renewed. */
  expiresAt: string;
  /** For `pseudonymous`: the per-merchant identifier the person controls. */
  pseudonym?: string;
}

export interface GrantRecord {
  receiptId: string;
  schemaVersion: string;
  grantTimestamp: string;
  consentReceiptId: string;
  /** sha-256 (hex) of the consent receipt JWT the merchant counter-signs. */
  consentReceiptHash: string;
  level: GrantLevel;
  claimNames: string[];
  retentionUntil: string;
  pseudonym?: string;
  /** The issuer's status list the merchant checked the credential against: where, and the hash of its exact JWT. */
  statusList?: { uri: string; hash: string };
}

export interface ReceiptSigner {
  did: string;
  signer: JwsSigner;
}

// did-jwt bundles its own did-resolver types; the runtime objects are the same shape.
const resolver = new Resolver({ ...getDidKeyResolver() } as never) as never;

export const newReceiptId = (): string => `urn:uuid:${randomUUID()}`;

/** sha-256 over the exact JWT bytes: the identity of a receipt everywhere (queue, proofs, bundles). */
export const receiptHash = (jwt: string): string => sha256Hex(jwt);

async function signReceipt(type: string, subjectId: string, subject: object, by: ReceiptSigner, now: Date, expiresAt?: Date): Promise<string> {
  const payload = {
    sub: subjectId,
    nbf: Math.floor(now.getTime() / 1000),
    ...(expiresAt ? { exp: Math.floor(expiresAt.getTime() / 1000) } : {}),
    jti: (subject as { receiptId: string }).receiptId,
    vc: {
      "@context": [RECEIPT_CONTEXT],
      type: ["VerifiableCredential", type],
      credentialSubject: subject,
    },
  };
  const signer = (data: string | Uint8Array) => by.signer(typeof data === "string" ? data : Buffer.from(data).toString("utf8"));
  return createVerifiableCredentialJwt(payload, { did: by.did, signer, alg: "EdDSA" });
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

/** Verifies a receipt's signature (did:key resolved offline) and type. Reports, never throws. */
export async function verifyReceipt<T>(jwt: unknown, expectedType: string, options: { now?: Date } = {}): Promise<ReceiptVerification<T>> {
  if (typeof jwt !== "string" || jwt.length > 32_768) return { verified: false, errors: [{ code: "ERR_RECEIPT_MALFORMED", message: "a receipt is a JWT string" }] };
  try {
    const verified = await verifyCredential(jwt, resolver, {
      policies: { now: Math.floor((options.now ?? new Date()).getTime() / 1000), exp: false },
    });
    const types = verified.verifiableCredential.type as string[];
    if (!types.includes(expectedType)) {
      return { verified: false, errors: [{ code: "ERR_RECEIPT_TYPE", message: `expected a ${expectedType}` }] };
    }
    const record = verified.verifiableCredential.credentialSubject as unknown as T;
    return { verified: true, errors: [], issuer: verified.issuer, subject: verified.payload.sub, record };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const code = /signature/i.test(message) ? "ERR_RECEIPT_SIGNATURE" : "ERR_RECEIPT_INVALID";
    return { verified: false, errors: [{ code, message: `the receipt does not verify: ${message.slice(0, 200)}` }] };
  }
}
