import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest } from "@sd-jwt/crypto-nodejs";
import { randomBytes } from "node:crypto";
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
 * 16), which was a fifth of the time of an issuance. Every byte is used once.
 */
const SALT_BYTES = 16;
let saltPool = Buffer.alloc(0);
let saltOffset = 0;
const saltGenerator = async (): Promise<string> => {
  if (saltOffset + SALT_BYTES > saltPool.length) {
    saltPool = randomBytes(SALT_BYTES * 256);
    saltOffset = 0;
  }
  const salt = saltPool.subarray(saltOffset, saltOffset + SALT_BYTES).toString("base64url");
  saltOffset += SALT_BYTES;
  return salt;
};

/** One SD-JWT VC instance per signer and algorithm (it holds no per-credential state): not rebuilt per credential. */
const instances = new WeakMap<JwsSigner, Map<string, SDJwtVcInstance>>();
function instanceFor(signer: JwsSigner, signAlg: string): SDJwtVcInstance {
  let bySigner = instances.get(signer);
  if (!bySigner) instances.set(signer, (bySigner = new Map()));
  let instance = bySigner.get(signAlg);
  if (!instance) bySigner.set(signAlg, (instance = new SDJwtVcInstance({ signer, signAlg, hasher: digest, hashAlg: "sha-256", saltGenerator })));
  return instance;
}

/**
 * Issues an SD-JWT VC: EdDSA by the issuer's did:key (or ES256 by its P-256 key), `typ: dc+sd-jwt`, every identity claim selectively
 * disclosable, decoys, holder binding through `cnf.jwk`. `iss`, `iat`, `exp`, `vct`, `cnf` stay plain.
 */
export async function issueIdentityCredential(args: IssueIdentityCredentialArgs): Promise<string> {
  const sdjwt = instanceFor(args.signer, args.signAlg ?? "EdDSA");
  const iat = args.times?.iat ?? Math.floor(args.now.getTime() / 1000);
  const exp = args.times?.exp ?? iat + args.validForSeconds;
  const pseudonyms = args.pseudonyms ?? {};
  const payload = {
    iss: args.iss ?? args.issuerDid,
    iat,
    exp,
    vct: args.vct,
    cnf: { jwk: args.holderJwk },
    ...(args.status ? { status: { status_list: { idx: args.status.idx, uri: args.status.uri } } } : {}),
    ...args.claims,
    ...pseudonyms,
  };
  const disclosable = [...IDENTITY_CLAIM_NAMES.filter((n) => args.claims[n] !== undefined), ...Object.keys(pseudonyms)];
  const minimum = disclosable.length + (args.decoys ?? 4);
  const decoys = Math.ceil(minimum / SD_DIGEST_BUCKET) * SD_DIGEST_BUCKET - disclosable.length;
  return sdjwt.issue(
    payload,
    { _sd: disclosable, _sd_decoy: decoys } as never,
    { header: { kid: args.kid ?? didKeyKid(args.issuerDid) } },
  );
}
