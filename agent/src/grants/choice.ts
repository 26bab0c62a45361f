import { AgentError } from "../errors.js";
import { claimsForLevel, FULL_LEVEL_CLAIMS, GRANT_LEVELS, type GrantLevel } from "../sdjwt/identity-credential.js";
import { merchantPseudonymClaim } from "../sdjwt/merchant-pseudonym.js";

/**
 * What a merchant would accept besides what it prefers, and what the person picks within it.
 *
 * The request's `realname_grant` transaction data states the preferred level (`level`, `claims`) and, when the
 * merchant accepts less, `accepted_levels` (further levels it accepts) and `optional_claims` (claims of a `full`
 * grant the person may switch off). The DCQL query asks for the preferred set, so a standard wallet answers
 * that. Our wallet may answer any acceptable choice; the choice is what the presentation discloses (and our
 * consent receipt names it), bound to these very terms by the key-binding JWT's `transaction_data_hashes`.
 */
export interface ChoiceTerms {
  iss: string;
  level: GrantLevel;
  claims: readonly string[];
  age_over_18: boolean;
  accepted_levels?: readonly GrantLevel[];
  optional_claims?: readonly string[];
}

/** One acceptable answer: a level and, for `full`, the identity claims disclosed. */
export interface GrantChoice {
  level: GrantLevel;
  claims: string[];
}

/** Whether the terms offer any choice at all (a plain single-level request does not). */
export const offersChoice = (terms: ChoiceTerms): boolean => (terms.accepted_levels?.length ?? 0) > 0 || (terms.optional_claims?.length ?? 0) > 0;

/** The acceptable levels, the preferred one first, then the others from most to least disclosing. */
export function acceptableLevels(terms: ChoiceTerms): GrantLevel[] {
  const others = [...GRANT_LEVELS].reverse().filter((l) => l !== terms.level && terms.accepted_levels?.includes(l));
  return [terms.level, ...others];
}

/** The merchant's preferred answer. */
export const preferredChoice = (terms: ChoiceTerms): GrantChoice => ({ level: terms.level, claims: terms.level === "full" ? [...terms.claims] : [] });

/** A choice from a level and the optional claims switched off (what the CLI and the consent form send). */
export function choiceOf(terms: ChoiceTerms, level: GrantLevel, without: readonly string[] = []): GrantChoice {
  return { level, claims: level === "full" ? terms.claims.filter((c) => !without.includes(c)) : [] };
}

/** Why `choice` is outside what the merchant stated (stable codes), or nothing when it is within. */
export function choiceErrors(terms: ChoiceTerms, choice: GrantChoice): Array<{ code: string; message: string }> {
  if (!acceptableLevels(terms).includes(choice.level)) return [{ code: "ERR_LEVEL_NOT_ACCEPTED", message: `the merchant does not accept the level ${choice.level}` }];
  if (choice.level !== "full") return choice.claims.length ? [{ code: "ERR_CLAIMS_NOT_ALLOWED", message: "only a full grant discloses identity claims" }] : [];
  const extra = choice.claims.filter((c) => !terms.claims.includes(c));
  if (extra.length) return [{ code: "ERR_CLAIMS_NOT_ALLOWED", message: `claims the merchant did not ask for: ${extra.join(", ")}` }];
  const required = terms.claims.filter((c) => !(terms.optional_claims ?? []).includes(c));
  const missing = required.filter((c) => !choice.claims.includes(c));
  if (missing.length) return [{ code: "ERR_CLAIMS_MISSING", message: `claims the merchant requires: ${missing.join(", ")}` }];
  if (choice.claims.length === 0) return [{ code: "ERR_CLAIMS_MISSING", message: "a full grant discloses at least one identity claim" }];
  return [];
}

/** Throws the first choice error (what the wallet does before anything leaves it). */
export function assertChoice(terms: ChoiceTerms, choice: GrantChoice): void {
  const [first] = choiceErrors(terms, choice);
  if (first) throw new AgentError(first.code, first.message);
}

/** The claim names a choice discloses (the consent receipt's `claimNames`), without the merchant pseudonym. */
export const choiceClaimNames = (terms: ChoiceTerms, choice: GrantChoice): string[] =>
  claimsForLevel(choice.level, { requestedClaims: choice.claims, ageOver18: terms.age_over_18 });

/** Every claim name some acceptable choice may disclose, the merchant pseudonym included when `pseudonymous` is acceptable. */
export function allChoosableClaimNames(terms: ChoiceTerms): string[] {
  const names = new Set<string>();
  for (const level of acceptableLevels(terms)) {
    for (const n of choiceClaimNames(terms, choiceOf(terms, level))) names.add(n);
    if (level === "pseudonymous") names.add(merchantPseudonymClaim(terms.iss));
  }
  return [...names];
}

/**
 * The choice a presentation's disclosures state: this merchant's pseudonym claim means `pseudonymous`, any
 * identity claim beyond `real_name_verified`/`age_over_18` means `full`, else `verified`.
 */
export function choiceFromDisclosed(terms: ChoiceTerms, disclosed: readonly string[]): GrantChoice {
  if (disclosed.includes(merchantPseudonymClaim(terms.iss))) return { level: "pseudonymous", claims: [] };
  const identity = disclosed.filter((n) => (FULL_LEVEL_CLAIMS as readonly string[]).includes(n));
  // `age_over_18` alone is a `verified` claim when the merchant asked for it at that level.
  const full = identity.some((n) => n !== "age_over_18") || (identity.includes("age_over_18") && !terms.age_over_18);
  return full ? { level: "full", claims: identity } : { level: "verified", claims: [] };
}

/** Whether what a merchant states is coherent: optional claims among the claims, a `full` option naming claims. */
export function termsAreCoherent(terms: ChoiceTerms): boolean {
  if (!(terms.optional_claims ?? []).every((c) => terms.claims.includes(c))) return false;
  if (acceptableLevels(terms).includes("full") && terms.claims.length === 0) return false;
  return terms.level === "full" || terms.accepted_levels?.includes("full") || terms.claims.length === 0;
}
