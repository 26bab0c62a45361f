import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { AgentError, type VerificationIssue } from "../errors.js";
import { didKeyFromJwk, jwkFromDidKey, publicJwkFrom, type PublicJwk } from "../identity/did-key.js";
import { decodeJws, keyObjectFromJwk, keyObjectSigner, signJws, verifyWithAlg, type JwsSigner } from "./jws.js";

/**
 * The algorithm layer: the two JWS algorithms we sign and accept, EdDSA (Ed25519, RFC 8037) and ES256
 * (P-256 with SHA-256, RFC 7518 §3.4: the signature is r||s, 64 bytes, never DER). The key decides the
 * algorithm, never the token's header: a header naming another algorithm than the key's is refused, which
 * closes the alg confusions (alg none, HS256 keyed with the public key, EdDSA over an ES256 key).
 */
export type JwsAlg = "EdDSA" | "ES256";
export const JWS_ALGS: readonly JwsAlg[] = ["EdDSA", "ES256"];

export const isJwsAlg = (alg: unknown): alg is JwsAlg => alg === "EdDSA" || alg === "ES256";

/** The algorithm a public JWK signs with; ERR_UNSUPPORTED_KEY for other keys (or a P-256 point off the curve). */
export function algForJwk(jwk: unknown): JwsAlg {
  return publicJwkFrom(jwk).kty === "EC" ? "ES256" : "EdDSA";
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) over the required members in lexicographic order. */
export function jwkThumbprint(jwk: unknown): string {
  const p = publicJwkFrom(jwk);
  const members = p.kty === "EC" ? { crv: p.crv, kty: p.kty, x: p.x, y: p.y } : { crv: p.crv, kty: p.kty, x: p.x };
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}

/** A fresh in-memory key pair of `alg` with its public JWK, did:key and signer (tests, ephemeral keys). */
export function generateSigningKey(alg: JwsAlg): { alg: JwsAlg; privateKey: KeyObject; publicJwk: PublicJwk; did: string; signer: JwsSigner } {
  if (!isJwsAlg(alg)) throw new TypeError(`unsupported algorithm ${String(alg)}: EdDSA or ES256`);
  const { privateKey, publicKey } = alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const publicJwk = publicJwkFrom(publicKey.export({ format: "jwk" }));
  return { alg, privateKey, publicJwk, did: didKeyFromJwk(publicJwk), signer: keyObjectSigner(privateKey) };
}

/** The public JWK of a KeyObject (private or public) of either curve. */
export function publicJwkOfKeyObject(key: KeyObject): PublicJwk {
  const { kty, crv, x, y } = key.export({ format: "jwk" }) as Record<string, string>;
  return publicJwkFrom(kty === "EC" ? { kty, crv, x, y } : { kty, crv, x });
}

/** Signs a compact JWS with `alg` set from the signing key's algorithm (never chosen separately). */
export async function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: { alg: JwsAlg; signer: JwsSigner }): Promise<string> {
  if (!isJwsAlg(key.alg)) throw new TypeError(`unsupported algorithm ${String(key.alg)}`);
  return signJws({ ...header, alg: key.alg }, payload, key.signer);
}

export interface JwtVerification {
  verified: boolean;
  errors: VerificationIssue[];
  header?: Record<string, unknown>;
  payload?: Record<string, unknown>;
  alg?: JwsAlg;
}

/**
 * Verifies a compact JWS against one key the caller trusts: a did:key (Ed25519 or P-256) or a public JWK.
 * Only the signature and the header are judged here (alg of the key, `typ` when asked, no `crit` we do not
 * understand); the claims are the caller's. Reports with codes, never throws on bad input:
 * ERR_JWS_MALFORMED, ERR_JWS_ALG, ERR_JWS_TYP, ERR_JWS_CRIT, ERR_UNSUPPORTED_KEY, ERR_JWS_SIGNATURE.
 */
export function verifyJwt(compact: unknown, trusted: string | PublicJwk, options: { typ?: string; algs?: readonly JwsAlg[] } = {}): JwtVerification {
  const fail = (code: string, message: string): JwtVerification => ({ verified: false, errors: [{ code, message }] });
  let jwk: PublicJwk;
  try {
    jwk = typeof trusted === "string" ? jwkFromDidKey(trusted) : publicJwkFrom(trusted);
  } catch (error) {
    return fail("ERR_UNSUPPORTED_KEY", `the signing key is not an Ed25519 or P-256 key: ${(error as Error).message}`);
  }
  const key = keyObjectFromJwk(jwk);
  if (!key) return fail("ERR_UNSUPPORTED_KEY", "the signing key is not an Ed25519 or P-256 key");
  const jws = decodeJws(compact);
  if (!jws) return fail("ERR_JWS_MALFORMED", "not a compact JWS with JSON header and payload");
  const alg = jws.header.alg;
  if (!isJwsAlg(alg) || !(options.algs ?? JWS_ALGS).includes(alg)) return fail("ERR_JWS_ALG", `algorithm ${JSON.stringify(alg)} is not accepted`);
  if (alg !== key.alg) return fail("ERR_JWS_ALG", `the key signs ${key.alg}, the token says ${alg}`);
  if (jws.header.crit !== undefined) return fail("ERR_JWS_CRIT", "critical header parameters are not understood");
  if (options.typ !== undefined && jws.header.typ !== options.typ) return fail("ERR_JWS_TYP", `typ must be ${options.typ}`);
  if (!verifyWithAlg(alg, jws.signingInput, jws.signature, key)) return fail("ERR_JWS_SIGNATURE", "the signature is invalid");
  return { verified: true, errors: [], header: jws.header, payload: jws.payload, alg };
}

/** OpenID4VP request objects (RFC 9101): `typ` oauth-authz-req+jwt, signed by the merchant's did:key, EdDSA or ES256. */
export const REQUEST_OBJECT_TYP = "oauth-authz-req+jwt";

/**
 * Verifies a request object signed by `did` (the DID in its `client_id`), EdDSA or ES256 by the key's curve,
 * and that its `kid`, when given, names that DID. The payload's terms are the caller's to check.
 */
export function verifyRequestObjectSignature(jwt: unknown, did: string): JwtVerification {
  const r = verifyJwt(jwt, did, { typ: REQUEST_OBJECT_TYP });
  if (!r.verified) return r;
  const kid = r.header!.kid;
  if (kid !== undefined && (typeof kid !== "string" || kid.split("#")[0] !== did)) {
    return { verified: false, errors: [{ code: "ERR_JWS_KID", message: "the request object's kid is not the client's DID" }] };
  }
  return r;
}

/** Throws the first issue of a failed verification as an AgentError (for callers that throw). */
export function assertVerified(r: JwtVerification): asserts r is JwtVerification & { verified: true; header: Record<string, unknown>; payload: Record<string, unknown>; alg: JwsAlg } {
  if (!r.verified) throw new AgentError(r.errors[0]!.code, r.errors[0]!.message);
}
