import { z } from "zod";
import { timingSafeEqual } from "node:crypto";

/** One person as the authoritative identity registry knows them. */
export interface RegistryPerson {
  idNumber: string;
  fullName: string;
  familyName: string;
  givenName: string;
  birthDate: string;
  /**
   * The registry's own reference for the record (a line of the file, the ID-check service's record id): kept
   * with the verified identity and in the risk log only as a keyed hash (seed 001).
   */
  recordId?: string;
}

/** The registry's authoritative photo of a person, for the face check. */
export interface RegistryPhotoSource {
  photo(idNumber: string): Promise<Uint8Array | undefined>;
}

/**
 * The authoritative identity registry (the civil registry, in production). Adapters implement this; the
 * default reads a local file standing in for it, since no real registry exists on this machine.
 */
export interface IdentityRegistry extends RegistryPhotoSource {
  /** The person with this ID number, or undefined. */
  lookup(idNumber: string): Promise<RegistryPerson | undefined>;
}

/** Constant-time comparison of two names after Unicode normalisation. */
export function sameName(a: string, b: string): boolean {
  const x = Buffer.from(a.normalize("NFC").trim());
  const y = Buffer.from(b.normalize("NFC").trim());
  return x.length === y.length && timingSafeEqual(x, y);
}

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";

/**
 * Province-level prefixes of GB/T 2260 administrative division codes (the first two digits of every
 * resident identity number): 11-15 north, 21-23 north-east, 31-37 east, 41-46 south-central, 50-54
 * south-west, 61-65 north-west, 71 Taiwan, 81-82 Hong Kong and Macao (residence permits), 83 (permits for
 * Taiwan residents), 91 (abroad).
 */
const PROVINCES = new Set(["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83", "91"]);

/** Why an ID number is not valid: a stable code per cause (the edge answers it as `details.problem`). */
export type IdNumberProblem = "ID_FORMAT" | "ID_REGION" | "ID_BIRTH_DATE" | "ID_CHECK_DIGIT";

/**
 * Validates an 18-digit resident identity number (GB 11643-1999): shape, region (province prefix), birth
 * date (a real date, 1900 or later, not after `today` when given) and the ISO 7064 MOD 11-2 check digit.
 */
export function validateResidentIdNumber(value: string, today?: Date): { valid: boolean; problem?: string; code?: IdNumberProblem; birthDate?: string } {
  if (!/^\d{17}[\dX]$/.test(value)) return { valid: false, code: "ID_FORMAT", problem: "must be 17 digits and a check digit (0-9 or X)" };
  if (!PROVINCES.has(value.slice(0, 2)) || value.slice(2, 6) === "0000") return { valid: false, code: "ID_REGION", problem: "does not start with an administrative region code" };
  const y = Number(value.slice(6, 10));
  const m = Number(value.slice(10, 12));
  const d = Number(value.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d || (today && date.getTime() > today.getTime())) {
    return { valid: false, code: "ID_BIRTH_DATE", problem: "contains an impossible birth date" };
  }
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(value[i]), 0);
  if (CHECK[sum % 11] !== value[17]) return { valid: false, code: "ID_CHECK_DIGIT", problem: "check digit does not match" };
  return { valid: true, birthDate: `${value.slice(6, 10)}-${value.slice(10, 12)}-${value.slice(12, 14)}` };
}

/** Completes a 17-digit prefix with its check digit (for fixtures and tests). */
export function withCheckDigit(first17: string): string {
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(first17[i]), 0);
  return first17 + CHECK[sum % 11];
}

export function ageOn(birthDate: string, on: Date): number {
  const [y, m, d] = birthDate.split("-").map(Number) as [number, number, number];
  let age = on.getUTCFullYear() - y;
  if (on.getUTCMonth() + 1 < m || (on.getUTCMonth() + 1 === m && on.getUTCDate() < d)) age--;
  return age;
}

/**
 * The ID number at an input edge: trimmed, upper-cased, validated; a bad one is answered ERR_INVALID_INPUT
 * with a problem that starts with its stable code (ID_FORMAT, ID_REGION, ID_BIRTH_DATE, ID_CHECK_DIGIT).
 */
export const residentIdNumberSchema = z
  .string()
  .trim()
  .toUpperCase()
  .superRefine((v, ctx) => {
    const r = validateResidentIdNumber(v);
    if (!r.valid) ctx.addIssue({ code: "custom", message: `${r.code}: not a valid resident ID number: ${r.problem}` });
  });
