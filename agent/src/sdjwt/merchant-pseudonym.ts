import { createHash } from "node:crypto";

/**
 * Per-merchant pseudonyms issued inside the identity credential. For every merchant registered at
 * `pseudonymous` or above, the issuer puts one selectively disclosable claim into each credential: its name
 * is derived from the merchant's DID, its value is the issuer's keyed hash of (person, merchant DID). A
 * merchant receives only its own claim and keys its account by the value, so one person holds one account
 * there whatever wallet or credential they use; two merchants' values are unrelated without the issuer's key.
 */
const CLAIM_PREFIX = "merchant_pseudonym_";

/** The claim name carrying the pseudonym for one merchant: the same on the issuer, wallet and verifier side. */
export function merchantPseudonymClaim(merchantDid: string): string {
  return CLAIM_PREFIX + createHash("sha256").update(`realname-merchant-pseudonym-v1\u0000${merchantDid}`).digest("base64url").slice(0, 22);
}

export function isMerchantPseudonymClaim(name: string): boolean {
  return name.startsWith(CLAIM_PREFIX);
}
