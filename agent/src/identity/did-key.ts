import { bytesToMultibase, multibaseToBytes } from "did-jwt";
import { createPublicKey, ECDH, type KeyObject } from "node:crypto";
import { AgentError } from "../errors.js";
import { b64url, fromB64url } from "../encoding.js";

/** A public Ed25519 key as a JWK (RFC 8037). */
export interface Ed25519PublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
}

/** A public P-256 key as a JWK (RFC 7518 §6.2): both coordinates, 32 bytes each. */
export interface P256PublicJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
}

/** A public key of an algorithm we accept: Ed25519 (EdDSA) or P-256 (ES256). */
export type PublicJwk = Ed25519PublicJwk | P256PublicJwk;

const DID_KEY = /^did:key:z[1-9A-HJ-NP-Za-km-z]+$/;

/** did:key of a raw Ed25519 public key (multicodec ed25519-pub 0xed). */
export function didKeyFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new TypeError("an Ed25519 public key has 32 bytes");
  return `did:key:${bytesToMultibase(publicKey, "base58btc", "ed25519-pub")}`;
}

/**
 * The point of a P-256 JWK, checked to lie on the curve (node refuses one that does not), compressed
 * (SEC1: 0x02/0x03 by the parity of y, then x): the form did:key uses (multicodec p256-pub 0x1200).
 */
function compressP256(jwk: P256PublicJwk): Uint8Array {
  const x = fromB64url(jwk.x);
  const y = fromB64url(jwk.y);
  if (x.length !== 32 || y.length !== 32) throw new AgentError("ERR_UNSUPPORTED_KEY", "a P-256 coordinate has 32 bytes");
  try {
    createPublicKey({ key: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, format: "jwk" });
  } catch (cause) {
    throw new AgentError("ERR_UNSUPPORTED_KEY", "the P-256 point is not on the curve", undefined, { cause });
  }
  return Uint8Array.from([y[31]! & 1 ? 0x03 : 0x02, ...x]);
}

/** The JWK of a compressed P-256 point; ERR_UNSUPPORTED_KEY when it is not a point of the curve. */
function decompressP256(compressed: Uint8Array): P256PublicJwk {
  if (compressed.length !== 33 || (compressed[0] !== 0x02 && compressed[0] !== 0x03)) throw new AgentError("ERR_UNSUPPORTED_KEY", "a compressed P-256 point has 33 bytes and starts with 02 or 03");
  let uncompressed: Buffer;
  try {
    uncompressed = ECDH.convertKey(Buffer.from(compressed), "prime256v1", undefined, undefined, "uncompressed") as Buffer;
  } catch (cause) {
    throw new AgentError("ERR_UNSUPPORTED_KEY", "the P-256 point is not on the curve", undefined, { cause });
  }
  return { kty: "EC", crv: "P-256", x: b64url(uncompressed.subarray(1, 33)), y: b64url(uncompressed.subarray(33, 65)) };
}

function decodeDidKey(did: string): { keyBytes: Uint8Array; keyType: string } {
  const bare = typeof did === "string" ? did.split("#")[0]! : "";
  if (!DID_KEY.test(bare)) throw new AgentError("ERR_UNSUPPORTED_DID", "only Ed25519 and P-256 did:key identifiers are supported");
  try {
    return multibaseToBytes(bare.slice("did:key:".length)) as { keyBytes: Uint8Array; keyType: string };
  } catch (cause) {
    throw new AgentError("ERR_UNSUPPORTED_DID", "the did:key could not be decoded", undefined, { cause });
  }
}

/** The raw Ed25519 public key inside a did:key; throws ERR_UNSUPPORTED_DID for anything else (P-256 included). */
export function publicKeyFromDidKey(did: string): Uint8Array {
  const decoded = decodeDidKey(did);
  if (decoded.keyType !== "Ed25519" || decoded.keyBytes.length !== 32) {
    throw new AgentError("ERR_UNSUPPORTED_DID", "only Ed25519 did:key identifiers are supported here");
  }
  return decoded.keyBytes;
}

export const jwkFromPublicKey = (publicKey: Uint8Array): Ed25519PublicJwk => ({ kty: "OKP", crv: "Ed25519", x: b64url(publicKey) });

/** The public JWK inside a did:key of either curve; ERR_UNSUPPORTED_DID for other key types or bad points. */
export function jwkFromDidKey(did: string): PublicJwk {
  const decoded = decodeDidKey(did);
  if (decoded.keyType === "Ed25519" && decoded.keyBytes.length === 32) return jwkFromPublicKey(decoded.keyBytes);
  if (decoded.keyType === "P-256") {
    try {
      return decompressP256(decoded.keyBytes);
    } catch (cause) {
      throw new AgentError("ERR_UNSUPPORTED_DID", "the did:key holds no valid P-256 point", undefined, { cause });
    }
  }
  throw new AgentError("ERR_UNSUPPORTED_DID", "only Ed25519 and P-256 did:key identifiers are supported");
}

/** The JWS algorithm a did:key's key signs with. */
export const algForDidKey = (did: string): "EdDSA" | "ES256" => (jwkFromDidKey(did).kty === "EC" ? "ES256" : "EdDSA");

/** The raw Ed25519 key of a public Ed25519 JWK; ERR_UNSUPPORTED_KEY for anything else. */
export function publicKeyFromJwk(jwk: unknown): Uint8Array {
  const j = jwk as Partial<Ed25519PublicJwk> & { d?: unknown };
  if (!j || j.kty !== "OKP" || j.crv !== "Ed25519" || typeof j.x !== "string" || j.d !== undefined) {
    throw new AgentError("ERR_UNSUPPORTED_KEY", "only public Ed25519 JWKs (kty OKP, crv Ed25519) are accepted");
  }
  const bytes = fromB64url(j.x);
  if (bytes.length !== 32) throw new AgentError("ERR_UNSUPPORTED_KEY", "an Ed25519 key has 32 bytes");
  return bytes;
}

/**
 * A public JWK of either curve reduced to its members (kty, crv, x[, y]) after checking it: no private part,
 * the right lengths, a P-256 point on the curve. ERR_UNSUPPORTED_KEY otherwise.
 */
export function publicJwkFrom(jwk: unknown): PublicJwk {
  const j = jwk as Record<string, unknown> | undefined;
  if (!j || typeof j !== "object" || j.d !== undefined) throw new AgentError("ERR_UNSUPPORTED_KEY", "a public JWK of Ed25519 or P-256 is expected");
  if (j.kty === "OKP") return jwkFromPublicKey(publicKeyFromJwk(j));
  if (j.kty === "EC" && j.crv === "P-256" && typeof j.x === "string" && typeof j.y === "string") {
    const p: P256PublicJwk = { kty: "EC", crv: "P-256", x: j.x, y: j.y };
    compressP256(p);
    return p;
  }
  throw new AgentError("ERR_UNSUPPORTED_KEY", "only Ed25519 (OKP) and P-256 (EC) public JWKs are accepted");
}

/** did:key of a public JWK of either curve (Ed25519: ed25519-pub; P-256: p256-pub, compressed point). */
export function didKeyFromJwk(jwk: unknown): string {
  const p = publicJwkFrom(jwk);
  if (p.kty === "OKP") return didKeyFromPublicKey(fromB64url(p.x));
  return `did:key:${bytesToMultibase(compressP256(p), "base58btc", "p256-pub")}`;
}

/** The did:key verification method id: `did:key:z…#z…`. */
export const didKeyKid = (did: string): string => `${did}#${did.slice("did:key:".length)}`;

// Public keys are immutable; caching their KeyObjects makes repeated verification cheap (issue 7's bench).
const keyObjects = new Map<string, KeyObject>();
export function keyObjectFromPublicKey(publicKey: Uint8Array): KeyObject {
  const x = b64url(publicKey);
  let key = keyObjects.get(x);
  if (!key) {
    key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    if (keyObjects.size > 10_000) keyObjects.clear();
    keyObjects.set(x, key);
  }
  return key;
}

/** A minimal did:key DID document (W3C DID Core), enough for a notary's bundle to be read offline. */
export function didKeyDocument(did: string): Record<string, unknown> {
  const jwk = jwkFromDidKey(did);
  const vm = didKeyKid(did);
  return {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
    id: did,
    verificationMethod: [{ id: vm, type: "JsonWebKey2020", controller: did, publicKeyJwk: jwk }],
    authentication: [vm],
    assertionMethod: [vm],
  };
}
