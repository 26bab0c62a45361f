import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest } from "@sd-jwt/crypto-nodejs";
import { randomBytes } from "node:crypto";
import type { JwsSigner } from "../crypto/jws.js";
import { didKeyKid, type Ed25519PublicJwk } from "../identity/did-key.js";
import { IDENTITY_CLAIM_NAMES, IDENTITY_VCT, type IdentityClaims } from "./identity-credential.js";

export interface IssueIdentityCredentialArgs {
  issuerDid: string;
  signer: JwsSigner;
  holderJwk: Ed25519PublicJwk;
  claims: IdentityClaims;
  now: Date;
  validForSeconds: number;
  /** Decoy digests mixed into `_sd`, so the number of real claims does not show. */
  decoys?: number;
  /** IETF Token Status List reference (plain, never disclosable). */
  status?: { idx: number; uri: string };
}

/** 128-bit salts, base64url (RFC 9901 §9.3 recommends at least 128 bits). */
const saltGenerator = async () => randomBytes(16).toString("base64url");

/**
 * Issues an SD-JWT VC: EdDSA by the issuer's did:key, `typ: dc+sd-jwt`, every identity claim selectively
 * disclosable, decoys, holder binding through `cnf.jwk`. `iss`, `iat`, `exp`, `vct`, `cnf` stay plain.
 */
export async function issueIdentityCredential(args: IssueIdentityCredentialArgs): Promise<string> {
  const sdjwt = new SDJwtVcInstance({
    signer: args.signer,
    signAlg: "EdDSA",
    hasher: digest,
    hashAlg: "sha-256",
    saltGenerator,
  });
  const iat = Math.floor(args.now.getTime() / 1000);
  const payload = {
    iss: args.issuerDid,
    iat,
    exp: iat + args.validForSeconds,
    vct: IDENTITY_VCT,
    cnf: { jwk: args.holderJwk },
    ...(args.status ? { status: { status_list: { idx: args.status.idx, uri: args.status.uri } } } : {}),
    ...args.claims,
  };
  const disclosable = IDENTITY_CLAIM_NAMES.filter((n) => args.claims[n] !== undefined);
  return sdjwt.issue(
    payload,
    { _sd: disclosable, _sd_decoy: args.decoys ?? 4 } as never,
    { header: { kid: didKeyKid(args.issuerDid) } },
  );
}
