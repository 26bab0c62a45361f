import { z } from "zod";
import { decodeJws, signJws, verifyEd25519, type JwsSigner } from "../crypto/jws.js";
import { random128, sha256Hex } from "../encoding.js";
import type { VerificationIssue } from "../errors.js";
import { didKeyKid, publicKeyFromDidKey } from "../identity/did-key.js";
import { FULL_LEVEL_CLAIMS, GRANT_LEVELS } from "../sdjwt/identity-credential.js";

/** A merchant's signed presentation request: who asks, at which level, why, for how long, and the nonce. */
export const PRESENTATION_REQUEST_TYP = "realname-request+jwt";

export const presentationRequestSchema = z.object({
  iss: z.string().startsWith("did:key:"),
  request_id: z.string().min(8).max(128),
  merchant_name: z.string().min(1).max(128),
  level: z.enum(GRANT_LEVELS),
  purpose: z.string().min(1).max(500),
  retention_days: z.number().int().min(0).max(3650),
  claims: z.array(z.enum(FULL_LEVEL_CLAIMS as [string, ...string[]])).max(FULL_LEVEL_CLAIMS.length).default([]),
  age_over_18: z.boolean().default(false),
  nonce: z.string().min(22).max(128),
  response_uri: z.string().url(),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type PresentationRequest = z.infer<typeof presentationRequestSchema>;

export async function signPresentationRequest(
  request: Omit<PresentationRequest, "iat" | "exp" | "nonce" | "iss"> & { nonce?: string },
  merchant: { did: string; signer: JwsSigner },
  now: Date,
  validForSeconds: number,
): Promise<{ jwt: string; request: PresentationRequest }> {
  const iat = Math.floor(now.getTime() / 1000);
  const full: PresentationRequest = { ...request, iss: merchant.did, nonce: request.nonce ?? random128(), iat, exp: iat + validForSeconds };
  const jwt = await signJws({ typ: PRESENTATION_REQUEST_TYP, alg: "EdDSA", kid: didKeyKid(merchant.did) }, full, merchant.signer);
  return { jwt, request: full };
}

export const requestHash = (jwt: string): string => sha256Hex(jwt);

/** The wallet's check of a merchant's request: shape, signature by the merchant's own DID, not expired. */
export function verifyPresentationRequest(jwt: unknown, now: Date): { verified: boolean; errors: VerificationIssue[]; request?: PresentationRequest } {
  const fail = (code: string, message: string) => ({ verified: false, errors: [{ code, message }] });
  const jws = decodeJws(jwt);
  if (!jws) return fail("ERR_REQUEST_MALFORMED", "the merchant's request is not a signed JWT");
  if (jws.header.alg !== "EdDSA" || jws.header.typ !== PRESENTATION_REQUEST_TYP) return fail("ERR_REQUEST_MALFORMED", "the merchant's request has the wrong type or algorithm");
  const parsed = presentationRequestSchema.safeParse(jws.payload);
  if (!parsed.success) return fail("ERR_REQUEST_MALFORMED", "the merchant's request is incomplete or malformed");
  let key: Uint8Array;
  try {
    key = publicKeyFromDidKey(parsed.data.iss);
  } catch {
    return fail("ERR_REQUEST_SIGNATURE", "the merchant's identifier cannot be resolved");
  }
  if (!verifyEd25519(jws.signingInput, jws.signature, key)) return fail("ERR_REQUEST_SIGNATURE", "the merchant's signature on the request is invalid");
  const t = Math.floor(now.getTime() / 1000);
  if (parsed.data.exp <= t) return fail("ERR_REQUEST_EXPIRED", "the merchant's request has expired");
  if (parsed.data.iat - 60 > t) return fail("ERR_REQUEST_MALFORMED", "the merchant's request is dated in the future");
  return { verified: true, errors: [], request: parsed.data };
}
