import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { AgentError } from "../errors.js";
import { validateResidentIdNumber, type IdentityRegistry, type RegistryPerson } from "./identity-registry.js";

/** One record of a registry file: the person and where their registry photo is (a path or the bytes). */
export const registryRecordSchema = z
  .object({
    idNumber: z.string(),
    fullName: z.string().min(1).max(64),
    familyName: z.string().min(1).max(32),
    givenName: z.string().min(1).max(32),
    birthDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    recordId: z.string().min(1).max(128).optional(),
    /** Path of the registry photo, relative to the registry file. */
    photo: z.string().min(1).max(1024).optional(),
    /** The registry photo itself (PNG or JPEG), base64. */
    photoBase64: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/).optional(),
  })
  .strict()
  .refine((r) => !(r.photo && r.photoBase64), "a record has a photo path or an embedded photo, not both");
type RegistryRecord = z.infer<typeof registryRecordSchema>;

/**
 * Parses a registry file: JSON (`{"people": [...]}`) or NDJSON (one record per line; for large fixtures,
 * so a generator can stream them). Every record is checked as the registry would be: the ID number is a
 * valid GB 11643 number whose birth date is the record's, and no number appears twice. The first bad
 * record stops loading with ERR_REGISTRY_INVALID naming its line or index and the problem code.
 */
export function parseRegistryFile(text: string, ndjson: boolean): RegistryRecord[] {
  const raw: Array<{ at: string; value: unknown }> = [];
  if (ndjson) {
    text.split("\n").forEach((line, i) => {
      if (!line.trim()) return;
      try {
        raw.push({ at: `line ${i + 1}`, value: JSON.parse(line) });
      } catch {
        throw new AgentError("ERR_REGISTRY_INVALID", `registry line ${i + 1} is not JSON`, { at: `line ${i + 1}`, problem: "NOT_JSON" });
      }
    });
  } else {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new AgentError("ERR_REGISTRY_INVALID", "the registry file is not JSON", { problem: "NOT_JSON" });
    }
    const people = (doc as { people?: unknown })?.people;
    if (!Array.isArray(people)) throw new AgentError("ERR_REGISTRY_INVALID", "the registry file has no people array", { problem: "NO_PEOPLE" });
    people.forEach((value, i) => raw.push({ at: `people[${i}]`, value }));
  }
  const seen = new Set<string>();
  return raw.map(({ at, value }) => {
    const parsed = registryRecordSchema.safeParse(value);
    if (!parsed.success) throw new AgentError("ERR_REGISTRY_INVALID", `registry record ${at} is malformed`, { at, problem: "RECORD_SHAPE" });
    const record = { ...parsed.data, idNumber: parsed.data.idNumber.toUpperCase() };
    const check = validateResidentIdNumber(record.idNumber);
    if (!check.valid) throw new AgentError("ERR_REGISTRY_INVALID", `registry record ${at}: ${check.problem}`, { at, problem: check.code });
    if (check.birthDate !== record.birthDate) throw new AgentError("ERR_REGISTRY_INVALID", `registry record ${at}: the birth date is not the one in the ID number`, { at, problem: "BIRTH_DATE_MISMATCH" });
    if (seen.has(record.idNumber)) throw new AgentError("ERR_REGISTRY_INVALID", `registry record ${at}: the ID number appears twice`, { at, problem: "DUPLICATE" });
    seen.add(record.idNumber);
    return record;
  });
}

/**
 * The default adapter: a local file standing in for the civil registry (no real registry exists on this
 * machine). Loaded and checked once at start; photos are read when asked for.
 */
export class FileIdentityRegistry implements IdentityRegistry {
  private readonly people: Map<string, RegistryRecord>;
  constructor(private readonly file: string) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (cause) {
      throw new AgentError("ERR_REGISTRY_INVALID", `the registry file ${file} cannot be read`, { problem: "UNREADABLE" }, { cause });
    }
    const records = parseRegistryFile(text, /\.(ndjson|jsonl)$/.test(file));
    this.people = new Map(records.map((r, i) => [r.idNumber, { ...r, recordId: r.recordId ?? `record-${i + 1}` }]));
  }

  get size(): number {
    return this.people.size;
  }

  async lookup(idNumber: string): Promise<RegistryPerson | undefined> {
    const found = this.people.get(idNumber.toUpperCase());
    if (!found) return undefined;
    const { photo: _photo, photoBase64: _bytes, ...person } = found;
    return person;
  }

  async photo(idNumber: string): Promise<Uint8Array | undefined> {
    const found = this.people.get(idNumber.toUpperCase());
    return found ? this.photoOf(found) : undefined;
  }

  /** Every record with a photo (for the 1:N face index, see issuer/face/candidate-index.ts). */
  async *photoRecords(): AsyncIterable<{ idNumber: string; photo: Uint8Array }> {
    for (const record of this.people.values()) {
      const photo = this.photoOf(record);
      if (photo) yield { idNumber: record.idNumber, photo };
    }
  }

  private photoOf(record: RegistryRecord): Uint8Array | undefined {
    if (record.photoBase64) return Buffer.from(record.photoBase64, "base64");
    return record.photo ? readFileSync(resolve(dirname(this.file), record.photo)) : undefined;
  }
}
