import { verifyJwt } from "../crypto/algorithms.js";
import { decodeJws, signJws, type JwsSigner } from "../crypto/jws.js";
import { random128 } from "../encoding.js";
import { AgentError } from "../errors.js";
import { algForDidKey, didKeyKid } from "../identity/did-key.js";

/** A person asks the platform for their own trace, signed by one of their holder keys. */
export const TRACE_REQUEST_TYP = "trace-request+jwt";
/** A notary's legal request for a trace or the person behind a grant, signed by its registered key. */
export const LEGAL_REQUEST_TYP = "legal-request+jwt";
/** A signed request lives at most this long (exp − iat), and is refused once `exp` has passed. */
export const SIGNED_REQUEST_MAX_LIFETIME_SECONDS = 300;
const MAX_SKEW_SECONDS = 60;

/** Signs a short-lived, single-use request for `audience` (the platform's DID) with a did:key of either curve. */
export async function signRequest(typ: string, by: { did: string; signer: JwsSigner }, audience: string, claims: Record<string, unknown>, now = new Date(), lifetimeSeconds = 120): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return signJws({ typ, alg: algForDidKey(by.did), kid: didKeyKid(by.did) }, { ...claims, iss: by.did, aud: audience, iat, exp: iat + lifetimeSeconds, jti: random128() }, by.signer);
}

/**
 * Checks a signed request's envelope: signed by its own `iss` (a did:key), of the expected `typ`, for this
 * audience, fresh (iat not in the future, exp not passed, lifetime bounded), with a `jti` to spend. Codes:
 * `${prefix}_UNSIGNED`, `_AUDIENCE`, `_EXPIRED`, `_MALFORMED` (all 403). The caller judges the claims
 * and spends the jti last, once everything else holds.
 */
export function checkSignedRequest(jwt: unknown, options: { typ: string; audience: string; now: Date; codePrefix: string }): { iss: string; payload: Record<string, unknown>; iat: number; exp: number; jti: string } {
  const refuse = (suffix: string, message: string): never => {
    throw new AgentError(`${options.codePrefix}_${suffix}`, message);
  };
  const iss = decodeJws(jwt)?.payload.iss;
  if (typeof iss !== "string" || !iss.startsWith("did:key:")) return refuse("UNSIGNED", "the request is not a JWS signed by a did:key");
  const checked = verifyJwt(jwt, iss, { typ: options.typ });
  if (!checked.verified) return refuse("UNSIGNED", `the request's signature is not accepted (${checked.errors[0]!.code})`);
  const p = checked.payload!;
  if (p.aud !== options.audience) refuse("AUDIENCE", "the request is signed for another service");
  const t = Math.floor(options.now.getTime() / 1000);
  const { iat, exp, jti } = p;
  if (typeof iat !== "number" || typeof exp !== "number") return refuse("EXPIRED", "the request carries no iat and exp");
  if (iat > t + MAX_SKEW_SECONDS || exp <= t || exp - iat > SIGNED_REQUEST_MAX_LIFETIME_SECONDS) refuse("EXPIRED", "the request is expired, not yet valid, or lives too long");
  if (typeof jti !== "string" || jti.length < 16 || jti.length > 128) return refuse("MALFORMED", "the request carries no single-use identifier (jti)");
  return { iss, payload: p, iat, exp, jti };
}
