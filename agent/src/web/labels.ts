import type { GrantLevel } from "../sdjwt/identity-credential.js";
import type { Translate } from "../i18n/index.js";
import { html, type SafeHtml } from "./html.js";

/** The names people read for claims, levels and anchoring states (the code names stay in the data). */
export const CLAIM_LABELS: Record<string, string> = {
  real_name_verified: "Real-name verified",
  age_over_18: "Over 18",
  family_name: "Family name",
  given_name: "Given name",
  full_name: "Full name",
  id_number: "Resident ID number",
  birth_date: "Date of birth",
  verification_commitment: "How the identity was checked (sealed)",
};
export const claimLabel = (name: string): string => CLAIM_LABELS[name] ?? name;

export const LEVEL_LABELS: Record<GrantLevel, { name: string; explains: string }> = {
  verified: { name: "Verified only", explains: "only that a real-name-verified person stands behind the answer" },
  pseudonymous: { name: "Pseudonymous account", explains: "a member identifier for this merchant alone, with no identity data" },
  full: { name: "Full identity", explains: "the identity details named in the request" },
};

export function claimValue(value: unknown): string {
  if (value === true) return "yes";
  if (value === false) return "no";
  if (value === undefined || value === null) return "—";
  return String(value);
}

export const ANCHOR_STATE_WORDS: Record<string, string> = {
  queued: "waiting to be anchored",
  batched: "in a batch, being anchored",
  anchored: "anchored on chain",
  unknown: "not checked yet",
  unreachable: "the merchant could not be reached",
};

/** Short form of a long identifier for display (the full one is in a title and in the evidence). */
export const shortId = (id: string, keep = 16): string => (id.length > keep * 2 + 1 ? `${id.slice(0, keep + 8)}…${id.slice(-6)}` : id);

// The same names in the reader's language (the catalogues in i18n/): what the pages use.
export const claimName = (t: Translate, name: string): string => t(`claims.${name}`, { defaultValue: name });
export const levelName = (t: Translate, level: GrantLevel): string => t(`levels.${level}`);
export const levelExplains = (t: Translate, level: GrantLevel): string => t(`wallet.levelExplains.${level}`);
export const anchorWord = (t: Translate, state: string): string => t(`wallet.anchor.${state}`, { defaultValue: state });
export function claimValueIn(t: Translate, value: unknown): string {
  if (value === true) return t("values.yes");
  if (value === false) return t("values.no");
  return claimValue(value);
}

/**
 * A merchant's mark: its logo when the page serves one itself, else a monogram of its registered name, drawn
 * here. The wallet draws the monogram only: fetching a logo the merchant names would tell the merchant (or
 * whoever serves the picture) that this person is looking at its request.
 */
export function merchantMark(name: string, url?: string): SafeHtml {
  if (url) return html`<img class="shop-logo" src="${url}" alt="${name}" width="40" height="40">`;
  const initial = [...name.trim()][0] ?? "?";
  return html`<svg class="shop-logo" role="img" aria-label="${name}" width="40" height="40" viewBox="0 0 40 40"><rect width="40" height="40" rx="8" fill="#1d4ed8"/><text x="20" y="27" text-anchor="middle" font-size="20" font-family="sans-serif" fill="#fff">${initial}</text></svg>`;
}
