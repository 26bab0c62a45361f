import { createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";
import { b64url, fromB64url, isPlainObject, parseB64urlJson, utf8 } from "../encoding.js";
import { keyObjectFromPublicKey } from "../identity/did-key.js";

export type { PublicJwk } from "../identity/did-key.js";

/** A compact JWS split into parts; nothing verified yet. */
export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** Decodes a compact JWS with JSON object header and payload; undefined for anything malformed. */
export function decodeJws(compact: unknown): DecodedJws | undefined {
  if (typeof compact !== "string" || compact.length > 1_000_000) return undefined;
  const parts = compact.split(".");
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  const header = parseB64urlJson(h);
  const payload = parseB64urlJson(p);
  // An empty signature is let through here (alg "none") so that the caller refuses it by its algorithm.
  if (!isPlainObject(header) || !isPlainObject(payload) || !/^[A-Za-z0-9_-]*$/.test(s)) return undefined;
  return { header, payload, signingInput: `${h}.${p}`, signature: fromB64url(s) };
}

/** Verifies an EdDSA (Ed25519) signature with node:crypto; the caller decides which key is trusted. */
export function verifyEd25519(signingInput: string, signature: Uint8Array, publicKey: Uint8Array | KeyObject): boolean {
  const key = publicKey instanceof Uint8Array ? keyObjectFromPublicKey(publicKey) : publicKey;
  if (signature.length !== 64) return false;
  return edVerify(null, utf8(signingInput), key, signature);
}

/** An async signer over a JWS signing input, returning a base64url signature (did-jwt and sd-jwt shape). */
export type JwsSigner = (data: string) => Promise<string>;

export async function signJws(header: Record<string, unknown>, payload: Record<string, unknown>, signer: JwsSigner): Promise<string> {
  const signingInput = `${b64url(utf8(JSON.stringify(header)))}.${b64url(utf8(JSON.stringify(payload)))}`;
  return `${signingInput}.${await signer(signingInput)}`;
}

/**
 * A signer over a private key held in memory (services after unsealing, tests, benchmarks): EdDSA for an
 * Ed25519 key, ES256 for a P-256 key with the JWS signature form r||s (RFC 7518 §3.4, not DER).
 * TypeError for any other key: that is a programming error, not bad input.
 */
export function keyObjectSigner(privateKey: KeyObject): JwsSigner {
  if (privateKey.type !== "private") throw new TypeError("keyObjectSigner needs a private key");
  if (privateKey.asymmetricKeyType === "ed25519") return async (data) => b64url(edSign(null, utf8(data), privateKey));
  if (privateKey.asymmetricKeyType === "ec" && privateKey.asymmetricKeyDetails?.namedCurve === "prime256v1") {
    return async (data) => b64url(edSign("sha256", utf8(data), { key: privateKey, dsaEncoding: "ieee-p1363" }));
  }
  throw new TypeError(`keyObjectSigner supports Ed25519 and P-256 keys, not ${privateKey.asymmetricKeyType}`);
}

const jwkKeys = new Map<string, KeyObject>();
/** The KeyObject of a public JWK (cached), or undefined when the JWK is not one we accept or holds a private part. */
export function keyObjectFromJwk(jwk: unknown): { key: KeyObject; alg: "EdDSA" | "ES256" } | undefined {
  const j = jwk as Record<string, unknown> | undefined;
  if (!j || typeof j !== "object" || "d" in j) return undefined;
  let alg: "EdDSA" | "ES256";
  let material: Record<string, string>;
  if (j.kty === "OKP" && j.crv === "Ed25519" && typeof j.x === "string") {
    alg = "EdDSA";
    material = { kty: "OKP", crv: "Ed25519", x: j.x };
  } else if (j.kty === "EC" && j.crv === "P-256" && typeof j.x === "string" && typeof j.y === "string") {
    alg = "ES256";
    material = { kty: "EC", crv: "P-256", x: j.x, y: j.y };
  } else return undefined;
  const id = JSON.stringify(material);
  let key = jwkKeys.get(id);
  if (!key) {
    try {
      key = createPublicKey({ key: material, format: "jwk" });
    } catch {
      return undefined;
    }
    if (jwkKeys.size > 10_000) jwkKeys.clear();
    jwkKeys.set(id, key);
  }
  return { key, alg };
}

/** Verifies a JWS signature with `alg` (EdDSA or ES256) against a key of the matching type only. */
export function verifyWithAlg(alg: unknown, signingInput: string, signature: Uint8Array, key: { key: KeyObject; alg: "EdDSA" | "ES256" }): boolean {
  if (alg !== key.alg) return false;
  if (alg === "EdDSA") return signature.length === 64 && edVerify(null, utf8(signingInput), key.key, signature);
  if (signature.length !== 64) return false;
  return edVerify("sha256", utf8(signingInput), { key: key.key, dsaEncoding: "ieee-p1363" }, signature);
}
