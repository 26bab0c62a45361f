import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from "node:crypto";
import { verifyJwt } from "../crypto/algorithms.js";
import { decodeJws, keyObjectSigner, signJws } from "../crypto/jws.js";
import { fromB64url } from "../encoding.js";
import type { VerificationIssue } from "../errors.js";
import { didKeyFromPublicKey } from "../identity/did-key.js";

/**
 * Per-merchant pseudonyms. The wallet derives an Ed25519 key from its secret seed and the merchant's DID
 * (HKDF-SHA256), so the identifier is stable at one merchant, different at every other, and cannot be
 * linked across merchants without the seed. Control is proven by signing with the derived key.
 */
export const PAIRWISE_PROOF_TYP = "pairwise-proof+jwt";
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export function derivePairwiseKey(seed: Uint8Array, merchantDid: string): { did: string; privateKey: KeyObject } {
  if (seed.length < 32) throw new TypeError("the pairwise seed needs 32 bytes");
  const derived = Buffer.from(hkdfSync("sha256", seed, Buffer.from("realname-pairwise-v1"), Buffer.from(merchantDid, "utf8"), 32));
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, derived]), format: "der", type: "pkcs8" });
  const x = createPublicKey(privateKey).export({ format: "jwk" }).x as string;
  return { did: didKeyFromPublicKey(fromB64url(x)), privateKey };
}

/** Proof that the presenter controls `did` at this merchant, bound to this presentation by `sd_hash`. */
export async function signPairwiseProof(key: { did: string; privateKey: KeyObject }, args: { audience: string; nonce: string; sdHash: string; now: Date; origin?: string }): Promise<string> {
  return signJws(
    { typ: PAIRWISE_PROOF_TYP, alg: "EdDSA" },
    // `origin` (a login): the web origin the wallet answered, so a proof relayed from another site is refused.
    { iss: key.did, aud: args.audience, nonce: args.nonce, sd_hash: args.sdHash, iat: Math.floor(args.now.getTime() / 1000), ...(args.origin ? { origin: args.origin } : {}) },
    keyObjectSigner(key.privateKey),
  );
}

export function verifyPairwiseProof(proof: unknown, expected: { audience: string; nonce: string; sdHash: string; origin?: string }): { verified: boolean; errors: VerificationIssue[]; pseudonym?: string } {
  const fail = (code: string, message: string) => ({ verified: false, errors: [{ code, message }] });
  const jws = decodeJws(proof);
  if (!jws || jws.header.typ !== PAIRWISE_PROOF_TYP || (jws.header.alg !== "EdDSA" && jws.header.alg !== "ES256")) return fail("ERR_PAIRWISE_PROOF_MALFORMED", "the pseudonym proof is missing or malformed");
  const { iss, aud, nonce, sd_hash } = jws.payload;
  // The pseudonym is a did:key (ours derive Ed25519; a P-256 one verifies too): its curve fixes the algorithm.
  const checked = verifyJwt(proof, String(iss), { typ: PAIRWISE_PROOF_TYP });
  if (!checked.verified) {
    const code = checked.errors[0]!.code;
    if (code === "ERR_UNSUPPORTED_KEY" || code === "ERR_JWS_MALFORMED") return fail("ERR_PAIRWISE_PROOF_MALFORMED", "the pseudonym is not an Ed25519 or P-256 did:key");
    return fail("ERR_PAIRWISE_PROOF_SIGNATURE", "the pseudonym proof's signature is invalid");
  }
  if (aud !== expected.audience) return fail("ERR_PAIRWISE_PROOF_AUDIENCE", "the pseudonym proof is for another merchant");
  if (nonce !== expected.nonce || sd_hash !== expected.sdHash) return fail("ERR_PAIRWISE_PROOF_BINDING", "the pseudonym proof belongs to another presentation");
  if (expected.origin !== undefined && jws.payload.origin !== expected.origin) return fail("ERR_PAIRWISE_PROOF_ORIGIN", "the proof was made for another website (a relayed login)");
  return { verified: true, errors: [], pseudonym: String(iss) };
}
