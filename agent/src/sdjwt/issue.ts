import { hash, randomBytes } from "node:crypto";
import type { JwsSigner } from "../crypto/jws.js";
import { didKeyKid, type PublicJwk } from "../identity/did-key.js";
import type { JwsAlg } from "../crypto/algorithms.js";
import { IDENTITY_CLAIM_NAMES, type IdentityClaims } from "./identity-credential.js";
import type { CredentialTimes } from "./credential-times.js";

export interface IssueIdentityCredentialArgs {
  issuerDid: string;
  /**
   * The credential's `iss`: the issuer's DID (the default) or its https public URL, whose JWT VC Issuer Metadata
   * publishes the same keys (see issuer-metadata.ts). The header `kid` names the DID's key either way.
   */
  iss?: string;
  /** The credential type: an https URL serving its SD-JWT VC Type Metadata (identityVct(issuer's URL)). */
  vct: string;
  signer: JwsSigner;
  /** The issuer key's algorithm (EdDSA by default; ES256 for the P-256 key). */
  signAlg?: JwsAlg;
  /** The header `kid` naming the signing key (default: the issuer did:key's own verification method). */
  kid?: string;
  /** The holder key the credential is bound to (`cnf.jwk`): Ed25519 or P-256. */
  holderJwk: PublicJwk;
  claims: IdentityClaims;
  now: Date;
  validForSeconds: number;
  /** Decoy digests mixed into `_sd`, so the number of real claims does not show (at least this many). */
  decoys?: number;
  /**
   * This credential's own `iat`/`exp` (see credential-times.ts: drawn per credential so that no two
   * credentials share them). Without it, `iat` is `now` and `exp` is `now + validForSeconds`.
   */
  times?: CredentialTimes;
  /** Per-merchant pseudonyms (claim name -> value, see merchant-pseudonym.ts), each selectively disclosable. */
  pseudonyms?: Record<string, string>;
  /** IETF Token Status List reference (plain, never disclosable). */
  status?: { idx: number; uri: string };
}

/**
 * `_sd` is padded with decoys to a multiple of this: the number of digests then says neither how many claims
 * a person has nor how many merchants were registered when the credential was issued (within a bucket).
 */
export const SD_DIGEST_BUCKET = 16;

/**
 * 128-bit salts, base64url (RFC 9901 §9.3 recommends at least 128 bits). Cut from a pool drawn from the
 * CSPRNG 4 KiB at a time: one `randomBytes` call per 256 salts instead of one per salt (a credential takes
 * 16). Every byte is used once.
 */
let pool = Buffer.alloc(0);
let poolOffset = 0;
/** `n` fresh random bytes as base64url, cut from a pool (every byte used once). */
function randomB64url(n: number): string {
  if (poolOffset + n > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + n).toString("base64url");
  poolOffset += n;
  return out;
}
const nextSalt = () => randomB64url(16);
/**
 * A decoy digest (RFC 9901 §4.2.5): 32 random bytes in the encoding of a SHA-256 digest, which is what hashing
 * a random value gives too (a uniform 256-bit string), without the hash.
 */
const decoyDigest = () => randomB64url(32);

/** The base64url SHA-256 of an ASCII string (a disclosure, RFC 9901 §4.2.3); one-shot `hash` (Node ≥ 20.12). */
const sha256B64url = (ascii: string) => hash("sha256", ascii, "base64url");
const b64urlJson = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");

/**
 * Issues an SD-JWT VC (RFC 9901, SD-JWT VC): EdDSA by the issuer's did:key (or ES256 by its P-256 key),
 * `typ: dc+sd-jwt`, every identity claim selectively disclosable (object properties at the top level), decoy
 * digests, `_sd` sorted (so its order says nothing about the claims), holder binding through `cnf.jwk`.
 * `iss`, `iat`, `exp`, `vct`, `cnf` and `status` stay plain.
 *
 * Built directly rather than through @sd-jwt/sd-jwt-vc's `issue`: the format is a few lines (a disclosure is
 * base64url(JSON [salt, name, value]), its digest base64url(SHA-256) of that), and the library's generic
 * packing (async per claim, a structure walk, re-serialisation) cost ~0.3 ms a credential, 8 times one Ed25519
 * signature; issuance is now within 2 × a signature (see `npm run bench`). What is issued is still read by the
 * library: the tests decode and verify these credentials with @sd-jwt/sd-jwt-vc and with our strict verifier.
 */
export async function issueIdentityCredential(args: IssueIdentityCredentialArgs): Promise<string> {
  const iat = args.times?.iat ?? Math.floor(args.now.getTime() / 1000);
  const exp = args.times?.exp ?? iat + args.validForSeconds;
  const pseudonyms = args.pseudonyms ?? {};
  const disclosed: [string, unknown][] = [
    ...IDENTITY_CLAIM_NAMES.filter((n) => args.claims[n] !== undefined).map((n): [string, unknown] => [n, args.claims[n]]),
    ...Object.entries(pseudonyms),
  ];
  for (const [name] of disclosed) {
    // RFC 9901 §4.2.1: these names are the SD-JWT's own; a claim by that name would be read as structure.
    if (name === "_sd" || name === "..." || name === "_sd_alg" || name === "cnf" || name === "iss" || name === "vct" || name === "status") throw new TypeError(`${name} cannot be a selectively disclosable claim`);
  }
  const disclosures = disclosed.map(([name, value]) => b64urlJson([nextSalt(), name, value]));
  const minimum = disclosed.length + (args.decoys ?? 4);
  const decoys = Math.ceil(minimum / SD_DIGEST_BUCKET) * SD_DIGEST_BUCKET - disclosed.length;
  const sd = [...disclosures.map(sha256B64url), ...Array.from({ length: decoys }, decoyDigest)].sort();
  const payload = {
    iss: args.iss ?? args.issuerDid,
    iat,
    exp,
    vct: args.vct,
    cnf: { jwk: args.holderJwk },
    ...(args.status ? { status: { status_list: { idx: args.status.idx, uri: args.status.uri } } } : {}),
    _sd: sd,
    _sd_alg: "sha-256",
  };
  const header = { typ: "dc+sd-jwt", kid: args.kid ?? didKeyKid(args.issuerDid), alg: args.signAlg ?? "EdDSA" };
  const signingInput = `${b64urlJson(header)}.${b64urlJson(payload)}`;
  return `${signingInput}.${await args.signer(signingInput)}~${disclosures.join("~")}~`;
}
