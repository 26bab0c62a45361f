/**
 * Keys and did:key for the counterpart wallet and verifier, written from the did:key method text
 * (multicodec ed25519-pub 0xed, p256-pub 0x1200, base58btc multibase "z") with node:crypto only.
 * Nothing here comes from our own OpenID4VC layer: this is "someone else's" implementation.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import type { JWK } from "jose";

export type Alg = "EdDSA" | "ES256";
export const ALGS: readonly Alg[] = ["EdDSA", "ES256"];

export interface KeyPair {
  alg: Alg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
}

export function newKeyPair(alg: Alg): KeyPair {
  const { privateKey, publicKey } = alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { kty, crv, x, y } = publicKey.export({ format: "jwk" }) as JWK;
  return { alg, privateKey, publicKey, publicJwk: y ? { kty, crv, x, y } : { kty, crv, x } };
}

/** The JOSE alg a public JWK is used with (RFC 8037 for OKP, RFC 7518 for P-256). */
export function algOfJwk(jwk: JWK): Alg {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  throw new Error(`unsupported key type ${jwk.kty}/${jwk.crv}`);
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function base58Encode(bytes: Uint8Array): string {
  let n = BigInt("0x" + (Buffer.from(bytes).toString("hex") || "0"));
  let out = "";
  while (n > 0n) {
    out = B58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = "1" + out;
  }
  return out;
}

function base58Decode(text: string): Buffer {
  let n = 0n;
  for (const ch of text) {
    const v = B58.indexOf(ch);
    if (v < 0) throw new Error("not base58btc");
    n = n * 58n + BigInt(v);
  }
  let hex = n === 0n ? "" : n.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  const zeros = text.length - text.replace(/^1+/, "").length;
  return Buffer.concat([Buffer.alloc(zeros), Buffer.from(hex, "hex")]);
}

// DER SubjectPublicKeyInfo prefixes (RFC 8410 for Ed25519, RFC 5480 for a compressed P-256 point).
const ED25519_SPKI = Buffer.from("302a300506032b6570032100", "hex");
const P256_COMPRESSED_SPKI = Buffer.from("3039301306072a8648ce3d020106082a8648ce3d030107032200", "hex");
const ED25519_CODEC = Buffer.from([0xed, 0x01]);
const P256_CODEC = Buffer.from([0x80, 0x24]);

export function didKeyFromJwk(jwk: JWK): string {
  if (algOfJwk(jwk) === "EdDSA") return `did:key:z${base58Encode(Buffer.concat([ED25519_CODEC, Buffer.from(jwk.x!, "base64url")]))}`;
  const y = Buffer.from(jwk.y!, "base64url");
  const compressed = Buffer.concat([Buffer.from([y[y.length - 1] & 1 ? 0x03 : 0x02]), Buffer.from(jwk.x!, "base64url")]);
  return `did:key:z${base58Encode(Buffer.concat([P256_CODEC, compressed]))}`;
}

/** Resolves a did:key (Ed25519 or P-256) to its public JWK, as the did:key method's read operation does. */
export function jwkFromDidKey(did: string): JWK {
  const m = /^did:key:z([1-9A-HJ-NP-Za-km-z]+)$/.exec(did);
  if (!m) throw new Error("not a did:key");
  const bytes = base58Decode(m[1]);
  let key: KeyObject;
  if (bytes.subarray(0, 2).equals(ED25519_CODEC) && bytes.length === 34) key = createPublicKey({ key: Buffer.concat([ED25519_SPKI, bytes.subarray(2)]), format: "der", type: "spki" });
  else if (bytes.subarray(0, 2).equals(P256_CODEC) && bytes.length === 35) key = createPublicKey({ key: Buffer.concat([P256_COMPRESSED_SPKI, bytes.subarray(2)]), format: "der", type: "spki" });
  else throw new Error("unsupported did:key multicodec");
  const { kty, crv, x, y } = key.export({ format: "jwk" }) as JWK;
  return y ? { kty, crv, x, y } : { kty, crv, x };
}

/** The verification method id of a did:key: the DID, "#", the multibase key. */
export function didKeyVerificationMethod(did: string): string {
  return `${did}#${did.slice("did:key:".length)}`;
}

export const b64url = (data: string | Uint8Array) => Buffer.from(data).toString("base64url");
export const sha256b64url = (ascii: string) => createHash("sha256").update(ascii, "ascii").digest("base64url");
