import { randomInt } from "node:crypto";

/** The plain time claims of one credential (seconds since the epoch). */
export interface CredentialTimes {
  iat: number;
  exp: number;
}

/** How far `iat` is moved back from the moment of issuance, at most: the issuance moment hides within a day. */
export const IAT_WINDOW_SECONDS = 86_400;
/** How far `exp` is brought forward from the nominal end of validity, at most. */
export const EXP_WINDOW_SECONDS = 7 * 86_400;

/**
 * Time claims for every credential of a batch, each drawn on its own so that no two credentials of a batch
 * (or of two people issued in the same second) share `iat` or `exp`, and `exp - iat` is no constant either.
 *
 * A merchant sees `iat` and `exp` in clear. Equal values across a batch would let it link two answers of one
 * person (a `verified` and a `full` one, or answers at two merchants); an exact `iat` would also let it match
 * a credential to the moment it saw someone register. So:
 * - `iat` is a uniformly random second in the day before issuance: never in the future (verifiers accept the
 *   credential at once) and never later than the truth ("issued no later than");
 * - `exp` is a uniformly random second in the week before the nominal end of validity: the credential never
 *   outlives the configured validity, and is valid at least half of it;
 * - no `nbf`: validity starts at issuance, which `iat` already bounds; a second time claim would only be one
 *   more field to compare.
 * Values are distinct within the batch (redrawn on a collision), so even a batch of thousands never repeats one.
 */
export function batchCredentialTimes(now: Date, validForSeconds: number, count: number, draw: (max: number) => number = randomInt): CredentialTimes[] {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const iatWindow = Math.max(count, IAT_WINDOW_SECONDS);
  const expWindow = Math.max(count, Math.min(EXP_WINDOW_SECONDS, Math.floor(validForSeconds / 2)));
  const distinct = (window: number, at: (offset: number) => number) => {
    const used = new Set<number>();
    return Array.from({ length: count }, () => {
      let value: number;
      do value = at(draw(window));
      while (used.has(value));
      used.add(value);
      return value;
    });
  };
  const iats = distinct(iatWindow, (offset) => nowSeconds - offset);
  const exps = distinct(expWindow, (offset) => nowSeconds + validForSeconds - offset);
  return iats.map((iat, i) => ({ iat, exp: exps[i]! }));
}
