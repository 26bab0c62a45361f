import { createPublicKey, randomBytes } from "node:crypto";
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { AgentError } from "../errors.js";

/**
 * Encrypted authorization responses (OpenID4VP 1.0 §8.3, response mode `direct_post.jwt` §8.3.1) on the HAIP
 * profile: key agreement ECDH-ES on P-256, content encryption A128GCM or A256GCM. The verifier makes one
 * ephemeral key pair per request and publishes its public half in `client_metadata.jwks`; the wallet sends the
 * response parameters as the JSON payload of an unsigned compact JWE in the form field `response`.
 * jose does the JOSE work; this file decides which keys, algorithms and sizes are acceptable.
 */
export const RESPONSE_MODE_PLAIN = "direct_post";
export const RESPONSE_MODE_ENCRYPTED = "direct_post.jwt";
export type ResponseMode = typeof RESPONSE_MODE_PLAIN | typeof RESPONSE_MODE_ENCRYPTED;
export const RESPONSE_MODES = [RESPONSE_MODE_PLAIN, RESPONSE_MODE_ENCRYPTED] as const;

export const RESPONSE_ENCRYPTION_ALG = "ECDH-ES";
/** HAIP 1.0: both MUST be supported; the verifier offers them in this order. */
export const RESPONSE_ENC_VALUES = ["A128GCM", "A256GCM"] as const;
/** §8.3: the `enc` a wallet uses when the verifier's metadata lists none. */
export const DEFAULT_RESPONSE_ENC = "A128GCM";
/**
 * The longest JWE the verifier opens (characters): the largest plain answer it accepts (presentation 64 KiB,
 * consent receipt 32 KiB, pseudonym proof 8 KiB), base64url-expanded, with room for the JWE header.
 */
export const MAX_ENCRYPTED_RESPONSE_CHARS = 140_000;

/** What the verifier keeps with a request to open its answer: never published, deleted with the request. */
export interface ResponseDecryptionKey {
  kid: string;
  /** The ephemeral private key (P-256), as a JWK. */
  privateJwk: JWK;
  /** The `enc` values the request offered. */
  encValues: string[];
}

/** The verifier's side: a fresh P-256 key pair for one request, and the client metadata that publishes it. */
export async function newResponseEncryptionKey(): Promise<{ key: ResponseDecryptionKey; clientMetadata: { jwks: { keys: JWK[] }; encrypted_response_enc_values_supported: string[] } }> {
  const { publicKey, privateKey } = await generateKeyPair(RESPONSE_ENCRYPTION_ALG, { crv: "P-256", extractable: true });
  const kid = randomBytes(16).toString("base64url");
  const { kty, crv, x, y } = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const encValues = [...RESPONSE_ENC_VALUES];
  return {
    key: { kid, privateJwk, encValues },
    clientMetadata: { jwks: { keys: [{ kty, crv, x, y, kid, use: "enc", alg: RESPONSE_ENCRYPTION_ALG }] }, encrypted_response_enc_values_supported: encValues },
  };
}

const fail = (code: string, message: string): never => {
  throw new AgentError(code, message);
};

/**
 * The verifier's side: opens the wallet's `response` JWE for the request holding `key`. Only ECDH-ES, only an
 * `enc` the request offered, only this request's key (`kid`), no compression, no critical headers; the
 * payload must be a JSON object (the authorization response parameters). Anything else is refused by code.
 */
export async function decryptAuthorizationResponse(jwe: unknown, key: ResponseDecryptionKey): Promise<Record<string, unknown>> {
  if (typeof jwe !== "string" || jwe.length === 0) return fail("ERR_RESPONSE_ENCRYPTION_MALFORMED", "the response is not a compact JWE");
  if (jwe.length > MAX_ENCRYPTED_RESPONSE_CHARS) return fail("ERR_BODY_TOO_LARGE", "the encrypted response is too large");
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(jwe)) return fail("ERR_RESPONSE_ENCRYPTION_MALFORMED", "the response is not a compact JWE");
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jwe) as Record<string, unknown>;
  } catch {
    return fail("ERR_RESPONSE_ENCRYPTION_MALFORMED", "the JWE header is not readable");
  }
  if (header.alg !== RESPONSE_ENCRYPTION_ALG) fail("ERR_RESPONSE_ENCRYPTION_ALG", `key management ${JSON.stringify(header.alg)?.slice(0, 40)} is not ECDH-ES`);
  if (typeof header.enc !== "string" || !key.encValues.includes(header.enc)) fail("ERR_RESPONSE_ENCRYPTION_ENC", "content encryption not offered by this request");
  // §8.3: a key with a kid is named by it; only the key made for this very request opens its answer.
  if (header.kid !== key.kid) fail("ERR_RESPONSE_ENCRYPTION_KID", "the response is encrypted to another key than this request's");
  if (header.zip !== undefined || header.crit !== undefined) fail("ERR_RESPONSE_ENCRYPTION_MALFORMED", "compressed or critical JWE headers are not accepted");
  let plaintext: Uint8Array;
  try {
    const privateKey = await importJWK(key.privateJwk, RESPONSE_ENCRYPTION_ALG);
    ({ plaintext } = await compactDecrypt(jwe, privateKey, { keyManagementAlgorithms: [RESPONSE_ENCRYPTION_ALG], contentEncryptionAlgorithms: key.encValues }));
  } catch {
    return fail("ERR_RESPONSE_ENCRYPTION_INVALID", "the response does not decrypt with this request's key");
  }
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext));
  } catch {
    return fail("ERR_RESPONSE_ENCRYPTION_PAYLOAD", "the decrypted response is not UTF-8 JSON");
  }
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) return fail("ERR_RESPONSE_ENCRYPTION_PAYLOAD", "the decrypted response is not a JSON object");
  return payload as Record<string, unknown>;
}

/** Where the wallet encrypts its answer to: the verifier's key and the content encryption to use. */
export interface ResponseEncryptionTarget {
  jwk: JWK;
  kid?: string;
  enc: string;
}

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/**
 * The wallet's side, before anything is shown or a PIN asked: reads the verifier's encryption key and `enc`
 * from the request's client_metadata (§8.3). A key set that is malformed or carries private key material
 * refuses the request (ERR_REQUEST_ENCRYPTION_KEY_INVALID); one with no ECDH-ES P-256 key, or offering no
 * `enc` this wallet supports, too (ERR_REQUEST_ENCRYPTION_UNSUPPORTED).
 */
export function responseEncryptionTarget(clientMetadata: unknown): ResponseEncryptionTarget {
  const invalid = (why: string): never => fail("ERR_REQUEST_ENCRYPTION_KEY_INVALID", `the merchant's encryption keys are unusable: ${why}`);
  const metadata = clientMetadata && typeof clientMetadata === "object" && !Array.isArray(clientMetadata) ? (clientMetadata as Record<string, unknown>) : invalid("no client_metadata");
  const jwks = metadata.jwks as { keys?: unknown } | undefined;
  if (!jwks || typeof jwks !== "object" || !Array.isArray(jwks.keys) || jwks.keys.length === 0 || jwks.keys.length > 10) return invalid("client_metadata.jwks must hold 1 to 10 keys");
  let chosen: ResponseEncryptionTarget["jwk"] | undefined;
  for (const entry of jwks.keys as unknown[]) {
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) return invalid("a key is not a JSON object");
    const k = entry as Record<string, unknown>;
    if (typeof k.kty !== "string") invalid("a key has no kty");
    // A verifier that publishes private key material has lost it: nothing encrypted to it would stay secret.
    if (PRIVATE_MEMBERS.some((m) => m in k)) invalid("a key carries private key material");
    if (k.kid !== undefined && (typeof k.kid !== "string" || k.kid.length === 0 || k.kid.length > 256)) invalid("a key's kid is not a string");
    const usable = k.kty === "EC" && k.crv === "P-256" && k.alg === RESPONSE_ENCRYPTION_ALG && (k.use === undefined || k.use === "enc");
    if (!usable || chosen) continue;
    if (typeof k.x !== "string" || typeof k.y !== "string") invalid("the P-256 key has no coordinates");
    try {
      // node:crypto refuses coordinates of the wrong length or off the curve.
      createPublicKey({ key: { kty: "EC", crv: "P-256", x: k.x as string, y: k.y as string }, format: "jwk" });
    } catch {
      invalid("the P-256 key is not a point on the curve");
    }
    chosen = { kty: "EC", crv: "P-256", x: k.x as string, y: k.y as string, alg: RESPONSE_ENCRYPTION_ALG, ...(typeof k.kid === "string" ? { kid: k.kid } : {}) };
  }
  if (!chosen) return fail("ERR_REQUEST_ENCRYPTION_UNSUPPORTED", "the merchant offers no ECDH-ES P-256 key to encrypt the answer to");
  const offered = metadata.encrypted_response_enc_values_supported;
  let enc: string = DEFAULT_RESPONSE_ENC;
  if (offered !== undefined) {
    if (!Array.isArray(offered) || offered.length === 0 || !offered.every((e) => typeof e === "string")) return invalid("encrypted_response_enc_values_supported is not a list of strings");
    // The verifier's own order of preference, among what HAIP makes both sides support.
    enc = (offered as string[]).find((e) => (RESPONSE_ENC_VALUES as readonly string[]).includes(e)) ?? fail("ERR_REQUEST_ENCRYPTION_UNSUPPORTED", "the merchant offers no content encryption this wallet supports (A128GCM, A256GCM)");
  }
  return { jwk: chosen, ...(chosen.kid ? { kid: chosen.kid } : {}), enc };
}

/** The wallet's side: the response parameters as an unsigned compact JWE to the verifier's key (§8.3). */
export async function encryptAuthorizationResponse(parameters: Record<string, unknown>, target: ResponseEncryptionTarget): Promise<string> {
  const key = await importJWK(target.jwk, RESPONSE_ENCRYPTION_ALG);
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(parameters)))
    .setProtectedHeader({ alg: RESPONSE_ENCRYPTION_ALG, enc: target.enc, ...(target.kid ? { kid: target.kid } : {}) })
    .encrypt(key);
}
