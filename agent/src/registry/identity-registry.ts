import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { timingSafeEqual } from "node:crypto";

/** One person as the authoritative identity registry knows them. */
export interface RegistryPerson {
  idNumber: string;
  fullName: string;
  familyName: string;
  givenName: string;
  birthDate: string;
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

const fileSchema = z.object({
  people: z.array(
    z.object({
      idNumber: z.string(),
      fullName: z.string().min(1),
      familyName: z.string().min(1),
      givenName: z.string().min(1),
      birthDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      /** Path of the registry photo, relative to the registry file. */
      photo: z.string().optional(),
    }),
  ),
});

export class FileIdentityRegistry implements IdentityRegistry {
  private readonly people: Map<string, RegistryPerson & { photo?: string }>;
  constructor(private readonly file: string) {
    const parsed = fileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
    this.people = new Map(parsed.people.map((p) => [p.idNumber.toUpperCase(), p]));
  }
  async lookup(idNumber: string): Promise<RegistryPerson | undefined> {
    const found = this.people.get(idNumber.toUpperCase());
    if (!found) return undefined;
    const { photo: _photo, ...person } = found;
    return person;
  }
  async photo(idNumber: string): Promise<Uint8Array | undefined> {
    const found = this.people.get(idNumber.toUpperCase());
    return found?.photo ? readFileSync(resolve(dirname(this.file), found.photo)) : undefined;
  }
}

/** Constant-time comparison of two names after Unicode normalisation. */
export function sameName(a: string, b: string): boolean {
  const x = Buffer.from(a.normalize("NFC").trim());
  const y = Buffer.from(b.normalize("NFC").trim());
  return x.length === y.length && timingSafeEqual(x, y);
}

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";

/** Validates an 18-digit resident identity number (GB 11643-1999): shape, birth date and check digit. */
export function validateResidentIdNumber(value: string): { valid: boolean; problem?: string; birthDate?: string } {
  if (!/^\d{17}[\dX]$/.test(value)) return { valid: false, problem: "must be 17 digits and a check digit (0-9 or X)" };
  const y = Number(value.slice(6, 10));
  const m = Number(value.slice(10, 12));
  const d = Number(value.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    return { valid: false, problem: "contains an impossible birth date" };
  }
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(value[i]), 0);
  if (CHECK[sum % 11] !== value[17]) return { valid: false, problem: "check digit does not match" };
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
