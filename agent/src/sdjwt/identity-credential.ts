/** The identity credential's type, claims and the grant levels' disclosure policy, shared by all roles. */

/**
 * The identity credential's type (`vct`) is an https URL under the issuer's public URL, where the issuer serves
 * its SD-JWT VC Type Metadata (see type-metadata.ts): `${issuerUrl}${IDENTITY_VCT_PATH}`. It depends on where the
 * issuer lives, so it is threaded through configuration (issuer: PUBLIC_URL; verifier: its issuer's URL or
 * IDENTITY_VCT), never a constant.
 */
export const IDENTITY_VCT_PATH = "/vct/realname-identity/v1";
export function identityVct(issuerUrl: string): string {
  return `${issuerUrl.replace(/\/+$/, "")}${IDENTITY_VCT_PATH}`;
}
export const SD_JWT_TYP = "dc+sd-jwt";
export const KB_JWT_TYP = "kb+jwt";

/** Claims an issuer puts into the identity credential, each one selectively disclosable. */
export interface IdentityClaims {
  real_name_verified: true;
  age_over_18: boolean;
  family_name: string;
  given_name: string;
  full_name: string;
  id_number: string;
  birth_date: string; // YYYY-MM-DD
  /** Salted commitment (sha-256, base64url) to how the identity was verified: method, time, assurance. */
  verification_commitment?: string;
}

export const IDENTITY_CLAIM_NAMES = [
  "real_name_verified",
  "age_over_18",
  "family_name",
  "given_name",
  "full_name",
  "id_number",
  "birth_date",
  "verification_commitment",
] as const;
export type IdentityClaimName = (typeof IDENTITY_CLAIM_NAMES)[number];

/** Claims a merchant can ask for at the `full` level (beyond the always-disclosed `real_name_verified`). */
export const FULL_LEVEL_CLAIMS: readonly IdentityClaimName[] = ["family_name", "given_name", "full_name", "id_number", "birth_date", "age_over_18"];

export const GRANT_LEVELS = ["verified", "pseudonymous", "full"] as const;
export type GrantLevel = (typeof GRANT_LEVELS)[number];

/**
 * Top-level claims that may never be disclosed selectively: the registered claims SD-JWT VC §3.2.2.2 says
 * "MUST NOT be included in the Disclosures" (`iss`, `nbf`, `exp`, `cnf`, `vct`, `vct#integrity`, `status`) and
 * SD-JWT's own names (RFC 9901 §4.2: `_sd`, `...`; `_sd_alg` lives only plain at the top level). `sub` and
 * `iat` are not here: the draft lets them be disclosed, and a verifier must accept that.
 */
export const NEVER_DISCLOSABLE = new Set(["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "_sd", "_sd_alg", "..."]);

/** Claims that must be plain at every depth: no part of them may be disclosed either (no `_sd`, no array digest inside). */
export const PLAIN_SUBTREES: readonly string[] = ["cnf", "status"];

/**
 * The exact set of claim names a presentation discloses for a request: the smallest disclosure that
 * satisfies the level. Wallet and verifier call the same function, so "more than the level allows" is
 * one definition, not two.
 */
export function claimsForLevel(level: GrantLevel, options: { requestedClaims?: readonly string[]; ageOver18?: boolean } = {}): IdentityClaimName[] {
  const base: IdentityClaimName[] = ["real_name_verified"];
  if (level === "full") {
    const requested = (options.requestedClaims ?? []).filter((c): c is IdentityClaimName => (FULL_LEVEL_CLAIMS as readonly string[]).includes(c));
    return [...new Set([...base, ...requested])];
  }
  return options.ageOver18 ? [...base, "age_over_18"] : base;
}
