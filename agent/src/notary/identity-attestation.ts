import { randomUUID } from "node:crypto";
import { z } from "zod";
import { signJws, type JwsSigner } from "../crypto/jws.js";
import { sha256Hex } from "../encoding.js";
import { fetchJson } from "../http/json-client.js";
import { residentIdNumberSchema } from "../registry/identity-registry.js";

export const IDENTITY_ATTESTATION_TYP = "identity-attestation+jwt";

/** The identity a notary verified in person (checked the ID document, saw the person). */
export const attestedPersonSchema = z
  .object({
    idNumber: residentIdNumberSchema,
    fullName: z.string().trim().min(1).max(64),
    familyName: z.string().trim().min(1).max(32),
    givenName: z.string().trim().min(1).max(32),
    birthDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  })
  .strict();
export type AttestedPerson = z.infer<typeof attestedPersonSchema>;

/**
 * The notary's signed statement: this person, verified in person, with this portrait (by its SHA-256), for
 * this issuer, now, once (jti).
 */
export function signIdentityAttestation(args: { notaryDid: string; signer: JwsSigner; issuerDid: string; person: AttestedPerson; portrait: Uint8Array; now?: Date }): Promise<string> {
  const iat = Math.floor((args.now ?? new Date()).getTime() / 1000);
  return signJws({ typ: IDENTITY_ATTESTATION_TYP, alg: "EdDSA" }, { iss: args.notaryDid, aud: args.issuerDid, iat, jti: randomUUID(), person: args.person, portrait_sha256: sha256Hex(args.portrait) }, args.signer);
}

export interface AttestationResult {
  attestedBy: string;
  credentialOffer: string;
  expiresAt: string;
  qrText: string;
}

/** Uploads a notary's attestation with the portrait to the issuer; the answer is a credential offer for the person. */
export async function uploadIdentityAttestation(args: { issuerUrl: string; notaryDid: string; signer: JwsSigner; person: AttestedPerson; portrait: Uint8Array }): Promise<AttestationResult> {
  const base = args.issuerUrl.replace(/\/$/, "");
  const { did: issuerDid } = await fetchJson<{ did: string }>(`${base}/health`);
  const attestation = await signIdentityAttestation({ ...args, issuerDid });
  return fetchJson<AttestationResult>(`${base}/attested-identities`, { body: { attestation, portrait: Buffer.from(args.portrait).toString("base64") }, maxBytes: 100_000 });
}
