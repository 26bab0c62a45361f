import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest } from "@sd-jwt/crypto-nodejs";
import { signJws, type JwsSigner } from "../crypto/jws.js";
import { sha256B64url } from "../encoding.js";
import { KB_JWT_TYP } from "./identity-credential.js";

const sdjwt = new SDJwtVcInstance({ hasher: digest, hashAlg: "sha-256" });

/**
 * Step 1 of a presentation: the issuer-signed JWT with only the chosen disclosures, ending in `~`.
 * Its hash (`sd_hash`) is what the consent receipt records as "the exact presentation".
 */
export async function selectDisclosures(credential: string, claimNames: readonly string[]): Promise<{ presented: string; sdHash: string }> {
  const frame = Object.fromEntries(claimNames.map((n) => [n, true]));
  const presented = await sdjwt.present(credential, frame);
  if (!presented.endsWith("~")) throw new TypeError("expected an SD-JWT without key binding");
  return { presented, sdHash: sha256B64url(presented) };
}

/** Step 2: the key-binding JWT (RFC 9901 §4.3) signed by the credential's holder key, appended. */
export async function bindPresentation(args: {
  presented: string;
  sdHash: string;
  audience: string;
  nonce: string;
  now: Date;
  signer: JwsSigner;
  /** The holder key's algorithm: EdDSA (Ed25519, the default) or ES256 (P-256). */
  alg?: "EdDSA" | "ES256";
  /** Extra claims bound under the holder's signature, e.g. the consent receipt's hash. */
  extraClaims?: Record<string, unknown>;
}): Promise<string> {
  const kb = await signJws(
    { typ: KB_JWT_TYP, alg: args.alg ?? "EdDSA" },
    { ...args.extraClaims, iat: Math.floor(args.now.getTime() / 1000), aud: args.audience, nonce: args.nonce, sd_hash: args.sdHash },
    args.signer,
  );
  return args.presented + kb;
}

/** Every disclosure in a credential, decoded, for a wallet to show the person what it holds. */
export async function readCredentialClaims(credential: string): Promise<Record<string, unknown>> {
  return (await sdjwt.getClaims(credential)) as Record<string, unknown>;
}
