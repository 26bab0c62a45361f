import type { JwsSigner } from "../crypto/jws.js";
import { fetchJson } from "../http/json-client.js";
import { LEGAL_REQUEST_TYP, signRequest } from "../issuer/signed-request.js";
import type { LegalAnswer } from "../issuer/trace-service.js";

/** What a legal request names: one grant (a receipt hash, or a merchant's grant id) or one person. */
export type LegalSubject = { receipt_hash: string } | { merchant: string; grant_id: string } | { id_number: string };

/**
 * A registered notary asks the platform for the person behind one grant, or one person's trace, under a
 * legal basis and case reference: a short-lived, single-use request signed by the notary's key, for the
 * platform alone. The platform logs the access in the person's trace and anchors its record.
 */
export async function signLegalRequest(notary: { did: string; signer: JwsSigner }, platformDid: string, terms: { legalBasis: string; caseReference: string; subject: LegalSubject }, now = new Date()): Promise<string> {
  return signRequest(LEGAL_REQUEST_TYP, notary, platformDid, { legal_basis: terms.legalBasis, case_reference: terms.caseReference, subject: terms.subject }, now);
}

export async function requestFromPlatform(platformUrl: string, request: string): Promise<LegalAnswer> {
  return fetchJson<LegalAnswer>(new URL("/trace/legal-requests", platformUrl).href, { body: { request } });
}
