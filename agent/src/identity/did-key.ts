import { bytesToMultibase, multibaseToBytes } from "did-jwt";
import { createPublicKey, type KeyObject } from "node:crypto";
import { AgentError } from "../errors.js";
import { b64url, fromB64url } from "../encoding.js";

/** A public Ed25519 key as a JWK (RFC 8037). */
export interface Ed25519PublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
}

const DID_KEY = /^did:key:z[1-9A-HJ-NP-Za-km-z]+$/;

export function didKeyFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new TypeError("an Ed25519 public key has 32 bytes");
  return `did:key:${bytesToMultibase(publicKey, "base58btc", "ed25519-pub")}`;
}

/** The raw Ed25519 public key inside a did:key; throws ERR_UNSUPPORTED_DID for anything else. */
export function publicKeyFromDidKey(did: string): Uint8Array {
  const bare = typeof did === "string" ? did.split("#")[0]! : "";
  if (!DID_KEY.test(bare)) throw new AgentError("ERR_UNSUPPORTED_DID", "only Ed25519 did:key identifiers are supported");
  let decoded: { keyBytes: Uint8Array; keyType: string };
  try {
    decoded = multibaseToBytes(bare.slice("did:key:".length)) as { keyBytes: Uint8Array; keyType: string };
  } catch (cause) {
    throw new AgentError("ERR_UNSUPPORTED_DID", "the did:key could not be decoded", undefined, { cause });
  }
  if (decoded.keyType !== "Ed25519" || decoded.keyBytes.length !== 32) {
    throw new AgentError("ERR_UNSUPPORTED_DID", "only Ed25519 did:key identifiers are supported");
  }
  return decoded.keyBytes;
}

export const jwkFromPublicKey = (publicKey: Uint8Array): Ed25519PublicJwk => ({ kty: "OKP", crv: "Ed25519", x: b64url(publicKey) });
export const jwkFromDidKey = (did: string): Ed25519PublicJwk => jwkFromPublicKey(publicKeyFromDidKey(did));

export function publicKeyFromJwk(jwk: unknown): Uint8Array {
  const j = jwk as Partial<Ed25519PublicJwk> & { d?: unknown };
  if (!j || j.kty !== "OKP" || j.crv !== "Ed25519" || typeof j.x !== "string" || j.d !== undefined) {
    throw new AgentError("ERR_UNSUPPORTED_KEY", "only public Ed25519 JWKs (kty OKP, crv Ed25519) are accepted");
  }
  const bytes = fromB64url(j.x);
  if (bytes.length !== 32) throw new AgentError("ERR_UNSUPPORTED_KEY", "an Ed25519 key has 32 bytes");
  return bytes;
}

export const didKeyFromJwk = (jwk: unknown): string => didKeyFromPublicKey(publicKeyFromJwk(jwk));

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
