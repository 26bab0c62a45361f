import { randomUUID } from "node:crypto";
import { AgentError } from "../errors.js";
import type { DocumentStore } from "../stores/document-store.js";
import { cosineSimilarity } from "./face/analyse.js";

/** What the refused person is told: the class of rule, never its internals. */
export type RiskClass = "blacklist" | "velocity" | "device-reputation" | "duplicate-face";

/** Everything risk control sees: keyed references, never the personal values themselves. */
export interface RiskContext {
  deviceId: string;
  /** Keyed hash of the client address. */
  addressRef: string;
  /** Keyed hash of the ID number. */
  personRef: string;
  /** Keyed hash of the region (the ID number's administrative division code), when known. */
  regionRef?: string;
  /**
   * The live face's embedding (FaceMatcher.embed), for the duplicate-face hook only: the same face for another
   * ID number is a risk. Remembered (the embedding, never the image) only after the identity check passed.
   */
  faceEmbedding?: number[];
  now: Date;
  /** Set by the engine: this attempt's place in each velocity window, counted atomically when it was recorded. */
  attemptPlace?: Partial<Record<"device" | "address" | "person" | "region", number>>;
}

/** Trust detection's evidence: counts and ages only. */
export interface TrustSignals {
  /** Successful identity checks from this device within the trust window. */
  deviceSuccesses: number;
  /** Identity or face mismatches from this device within the failure window (they decay out of it). */
  deviceFailures: number;
  /** Earlier successful identity checks of this person. */
  personSuccesses: number;
  /** Seconds since this person's first successful identity check (0 when none). */
  accountAgeSeconds: number;
  /** Attempts from this region within its window. */
  regionAttempts: number;
}

/**
 * Seed 002's outcome of risk and trust detection when nothing refused: "trusted" lets the identity be found
 * from the face among candidates and only confirmed masked; "untrusted" means the person types the identity
 * items and a 1:1 check follows.
 */
export interface RiskAssessment {
  trust: "trusted" | "untrusted";
  signals: TrustSignals;
}

export interface RiskLogEntry {
  at: string;
  decision: "allow" | "refuse" | "note" | "admin";
  rule?: string;
  riskClass?: RiskClass;
  reason: string;
  deviceId?: string;
  personRef?: string;
  addressRef?: string;
  trust?: RiskAssessment["trust"];
  signals?: TrustSignals;
  /** Keyed hash of the registry's record reference (seed 001). */
  registryRecordRef?: string;
  /** Admin actions: what was done and to which (keyed) subject. */
  action?: string;
  subjectRef?: string;
  /** Credentials issued (count only) for a `credential-issued` note. */
  credentials?: number;
}

export interface Window {
  max: number;
  windowSeconds: number;
}

export interface RiskLimits {
  perDevice: Window;
  perAddress: Window;
  perPerson: Window;
  /**
   * Attempts per region: above `max` the region is busy. Not a refusal (that would refuse a whole city); it
   * takes away trust, so the person types their details and gets a 1:1 check.
   */
  perRegion: Window;
  /** Identity or face mismatches per device: `max` within the window refuses the device; older ones decay. */
  deviceFailures: Window;
  trust: {
    /** Successful checks a device needs within `windowSeconds` to count as having a history. */
    minDeviceSuccesses: number;
    windowSeconds: number;
    /** A returning person's first success must be at least this old to count. */
    minAccountAgeSeconds: number;
  };
}

export const DEFAULT_RISK_LIMITS: RiskLimits = {
  perDevice: { max: 30, windowSeconds: 3600 },
  perAddress: { max: 10, windowSeconds: 3600 },
  perPerson: { max: 5, windowSeconds: 86_400 },
  perRegion: { max: 200, windowSeconds: 3600 },
  deviceFailures: { max: 3, windowSeconds: 3600 },
  trust: { minDeviceSuccesses: 3, windowSeconds: 30 * 86_400, minAccountAgeSeconds: 86_400 },
};

type Doc = { times?: number[]; first?: number; count?: number; at?: string; reason?: string; embedding?: number[]; refs?: string[] };

/** One risk rule: a named, tested unit that either passes or gives a reason. */
export interface RiskRule {
  name: string;
  riskClass: RiskClass;
  /**
   * The rule reads the person (their ID number's ref or their face's other owners): in a face-first
   * registration it runs once the face has found the identity (see RiskEngine.assess's phases).
   */
  aboutPerson?: boolean;
  evaluate(ctx: RiskContext, state: RiskState): Promise<string | undefined>;
}

// Events newer than `now` count too: concurrent attempts read their clocks in any order, and each must see
// all attempts recorded before its own count (else two can take one place in the window).
const within = (times: number[] | undefined, now: Date, seconds: number) => (times ?? []).filter((t) => t > now.getTime() - seconds * 1000).length;

/** The state risk rules read: blacklists, attempt windows, device failure and success windows, person history. */
export class RiskState {
  constructor(readonly store: DocumentStore<Doc>, readonly limits: RiskLimits) {}

  async isBlacklisted(kind: "person" | "device", subject: string): Promise<string | undefined> {
    return (await this.store.get(`bl:${kind}:${subject}`))?.reason;
  }
  async blacklist(kind: "person" | "device", subject: string, reason: string, now: Date): Promise<void> {
    await this.store.put(`bl:${kind}:${subject}`, { reason, at: now.toISOString() });
  }
  /** Removes a blacklist entry; false when there was none. */
  async unblacklist(kind: "person" | "device", subject: string): Promise<boolean> {
    return (await this.store.take(`bl:${kind}:${subject}`)) !== undefined;
  }
  /** Attempts by `subject` within the window, including this one (recorded by the engine first). */
  async attempts(kind: string, subject: string, windowSeconds: number, now: Date): Promise<number> {
    return within((await this.store.get(`att:${kind}:${subject}`))?.times, now, windowSeconds);
  }
  /**
   * Atomic (store.update): concurrent attempts are all counted, none overwrites another's. Returns this
   * attempt's place in the window (attempts within `windowSeconds` up to and including this one), so that of
   * N concurrent attempts exactly `max` pass a velocity rule. Entries older than `keepSeconds` are dropped.
   */
  async recordAttempt(kind: string, subject: string, now: Date, keepSeconds: number, windowSeconds = keepSeconds): Promise<number> {
    return this.pushTime(`att:${kind}:${subject}`, now, keepSeconds, windowSeconds);
  }
  /** Failures of a device within the failure window: older ones have decayed out. */
  async deviceFailures(deviceId: string, now: Date): Promise<number> {
    return within((await this.store.get(`df:${deviceId}`))?.times, now, this.limits.deviceFailures.windowSeconds);
  }
  /** Atomic: concurrent failures from one device all count. Returns the failures now in the window. */
  async recordDeviceFailure(deviceId: string, now: Date): Promise<number> {
    const w = this.limits.deviceFailures.windowSeconds;
    return this.pushTime(`df:${deviceId}`, now, w, w);
  }
  async deviceSuccesses(deviceId: string, now: Date): Promise<number> {
    return within((await this.store.get(`ds:${deviceId}`))?.times, now, this.limits.trust.windowSeconds);
  }
  /** A successful identity check: builds the device's history and the person's (first success, count). */
  async recordSuccess(deviceId: string, personRef: string, now: Date): Promise<void> {
    const w = this.limits.trust.windowSeconds;
    await this.pushTime(`ds:${deviceId}`, now, w, w);
    await this.store.update(`ps:${personRef}`, (doc) => ({ first: doc?.first ?? now.getTime(), count: (doc?.count ?? 0) + 1 }));
  }
  async personHistory(personRef: string): Promise<{ successes: number; first?: number }> {
    const doc = await this.store.get(`ps:${personRef}`);
    return { successes: doc?.count ?? 0, first: doc?.first };
  }
  /** The admin's reset: the device's failures, attempt window and history are forgotten. */
  async resetDevice(deviceId: string): Promise<void> {
    for (const key of [`df:${deviceId}`, `att:device:${deviceId}`, `ds:${deviceId}`]) await this.store.del(key);
  }

  private async pushTime(key: string, now: Date, keepSeconds: number, windowSeconds: number): Promise<number> {
    const doc = await this.store.update(key, (current) => {
      const times = (current?.times ?? []).filter((t) => t > now.getTime() - keepSeconds * 1000);
      return { times: [...times.slice(-999), now.getTime()] };
    });
    return within(doc!.times, now, windowSeconds);
  }

  /**
   * Person refs whose verified face is this one (embedding similarity at or above `threshold`, the matcher's).
   * A linear scan: fine for a pilot's volumes; a vector index replaces it at scale.
   */
  async faceOwners(embedding: number[], threshold: number): Promise<string[]> {
    const owners = new Set<string>();
    for (const [, doc] of await this.store.list({ prefix: "fe:" })) {
      if (doc.embedding && cosineSimilarity(doc.embedding, embedding) >= threshold) doc.refs?.forEach((r) => owners.add(r));
    }
    return [...owners];
  }
  /** One entry per ID number: its latest verified face (the embedding only, never the image). */
  async recordFace(embedding: number[], personRef: string): Promise<void> {
    await this.store.put(`fe:${personRef}`, { embedding, refs: [personRef] });
  }
}

export const blacklistedPerson: RiskRule = {
  name: "blacklisted-person",
  riskClass: "blacklist",
  aboutPerson: true,
  evaluate: async (ctx, s) => ((await s.isBlacklisted("person", ctx.personRef)) !== undefined ? "the person is on the blacklist" : undefined),
};
export const blacklistedDevice: RiskRule = {
  name: "blacklisted-device",
  riskClass: "blacklist",
  evaluate: async (ctx, s) => ((await s.isBlacklisted("device", ctx.deviceId)) !== undefined ? "the device is on the blacklist" : undefined),
};
const velocity = (name: string, kind: "device" | "address" | "person", pick: (c: RiskContext) => string, limit: (l: RiskLimits) => Window): RiskRule => ({
  name,
  riskClass: "velocity",
  aboutPerson: kind === "person",
  evaluate: async (ctx, s) => {
    const { max, windowSeconds } = limit(s.limits);
    const n = ctx.attemptPlace?.[kind] ?? (await s.attempts(kind, pick(ctx), windowSeconds, ctx.now));
    return n > max ? `${n} attempts per ${kind} within ${windowSeconds}s (limit ${max})` : undefined;
  },
});
export const tooManyPerDevice = velocity("too-many-per-device", "device", (c) => c.deviceId, (l) => l.perDevice);
export const tooManyPerAddress = velocity("too-many-per-address", "address", (c) => c.addressRef, (l) => l.perAddress);
export const tooManyPerPerson = velocity("too-many-per-id-number", "person", (c) => c.personRef, (l) => l.perPerson);
export const flaggedDevice: RiskRule = {
  name: "device-flagged-by-failures",
  riskClass: "device-reputation",
  evaluate: async (ctx, s) => {
    const n = await s.deviceFailures(ctx.deviceId, ctx.now);
    const { max, windowSeconds } = s.limits.deviceFailures;
    return n >= max ? `the device had ${n} failed identity checks within ${windowSeconds}s` : undefined;
  },
};

export const DEFAULT_RISK_RULES: RiskRule[] = [blacklistedPerson, blacklistedDevice, tooManyPerDevice, tooManyPerAddress, tooManyPerPerson, flaggedDevice];

/**
 * The duplicate-face rule's hook: given the attempt (with its live face's embedding), the reason if the same
 * face was verified before under another ID number, else undefined. Risk control has no face model of its own
 * (an image hash would refuse the second real customer at one kiosk, and accept the same face re-captured):
 * the embedding comes from the FaceMatcher, and `duplicateFaceByEmbedding` fills the hook.
 */
export type DuplicateFaceCheck = (ctx: RiskContext, state: RiskState) => Promise<string | undefined>;

/**
 * The duplicate-face rule on embeddings: the same face (cosine similarity at or above `threshold`, the face
 * matcher's) verified earlier for another ID number. Faces are remembered by `RiskEngine.recordSuccess` only
 * after they passed the identity check, so an impostor's failed attempt on someone else's number does not lock
 * the impostor's own face, and a different person at the same kiosk is a different face.
 */
export function duplicateFaceByEmbedding(threshold: number): DuplicateFaceCheck {
  return async (ctx, state) => {
    if (!ctx.faceEmbedding) return undefined;
    const others = (await state.faceOwners(ctx.faceEmbedding, threshold)).filter((r) => r !== ctx.personRef);
    return others.length ? `the same face was verified for ${others.length} other ID number(s)` : undefined;
  };
}

/**
 * Risk and trust detection, run before any identity check (seed 002). Every attempt is counted first (so
 * refused attempts count too), the refusal rules run in order, then trust is assessed from the device's
 * history, the person's earlier successes and account age, and the region's load. Every decision and every
 * admin action is written to the risk log with keyed references only.
 */
export class RiskEngine {
  private readonly rules: RiskRule[];
  constructor(
    readonly state: RiskState,
    private readonly log: DocumentStore<RiskLogEntry>,
    options: { rules?: RiskRule[]; duplicateFaceCheck?: DuplicateFaceCheck } = {},
  ) {
    const duplicateFace: RiskRule[] = options.duplicateFaceCheck
      ? [{ name: "duplicate-face", riskClass: "duplicate-face", aboutPerson: true, evaluate: (ctx, state) => options.duplicateFaceCheck!(ctx, state) }]
      : [];
    this.rules = [...(options.rules ?? DEFAULT_RISK_RULES), ...duplicateFace];
  }

  /**
   * Seed 002: risk and trust detection before any identity check. `phase` splits it for a face-first
   * registration, where the person is not known until their face has found them among the candidates:
   * "device" counts the device's and address's attempts and runs the rules about them (the person's ref in
   * `ctx` is not read), "person" then counts the person's and region's attempts and runs the rules about the
   * person (blacklist, velocity, duplicate face). "all" (typed details) runs both at once. Each phase logs its
   * decision and answers trust from what it knows: before the person is known, only the device can earn trust.
   */
  async assess(ctx: RiskContext, phase: "all" | "device" | "person" = "all"): Promise<RiskAssessment> {
    const l = this.state.limits;
    const keep = Math.max(l.perDevice.windowSeconds, l.perAddress.windowSeconds, l.perPerson.windowSeconds, l.perRegion.windowSeconds);
    const place = { ...ctx.attemptPlace };
    if (phase !== "person") {
      place.device = await this.state.recordAttempt("device", ctx.deviceId, ctx.now, keep, l.perDevice.windowSeconds);
      place.address = await this.state.recordAttempt("address", ctx.addressRef, ctx.now, keep, l.perAddress.windowSeconds);
    }
    if (phase !== "device") {
      place.person = await this.state.recordAttempt("person", ctx.personRef, ctx.now, keep, l.perPerson.windowSeconds);
      if (ctx.regionRef) place.region = await this.state.recordAttempt("region", ctx.regionRef, ctx.now, keep, l.perRegion.windowSeconds);
    }
    ctx.attemptPlace = place;
    const logged = phase === "device" ? { ...ctx, personRef: undefined } : ctx;
    for (const rule of this.rules) {
      if (phase === "device" && rule.aboutPerson) continue;
      if (phase === "person" && !rule.aboutPerson) continue;
      const reason = await rule.evaluate(ctx, this.state);
      if (reason) {
        await this.write({ decision: "refuse", rule: rule.name, riskClass: rule.riskClass, reason }, logged);
        throw new AgentError("ERR_RISK_REFUSED", `refused by risk control (${rule.riskClass})`, { riskClass: rule.riskClass });
      }
    }
    const assessment = await this.trust(ctx, phase !== "device");
    await this.write({ decision: "allow", reason: phase === "device" ? "device rules passed (person not yet known)" : "all rules passed", trust: assessment.trust, signals: assessment.signals }, logged);
    return assessment;
  }

  /** Trust detection: a known device with no recent failures, or a returning person of some age; never a busy region. */
  private async trust(ctx: RiskContext, personKnown: boolean): Promise<RiskAssessment> {
    const l = this.state.limits;
    const person = personKnown ? await this.state.personHistory(ctx.personRef) : { successes: 0, first: undefined };
    const signals: TrustSignals = {
      deviceSuccesses: await this.state.deviceSuccesses(ctx.deviceId, ctx.now),
      deviceFailures: await this.state.deviceFailures(ctx.deviceId, ctx.now),
      personSuccesses: person.successes,
      accountAgeSeconds: person.first ? Math.max(0, Math.floor((ctx.now.getTime() - person.first) / 1000)) : 0,
      regionAttempts: ctx.attemptPlace?.region ?? 0,
    };
    const regionBusy = signals.regionAttempts > l.perRegion.max;
    const knownDevice = signals.deviceSuccesses >= l.trust.minDeviceSuccesses;
    const returningPerson = signals.personSuccesses > 0 && signals.accountAgeSeconds >= l.trust.minAccountAgeSeconds;
    const trusted = !regionBusy && signals.deviceFailures === 0 && (knownDevice || returningPerson);
    return { trust: trusted ? "trusted" : "untrusted", signals };
  }

  /** An identity or face mismatch: counts against the device (within the failure window) and is logged. */
  async recordFailure(ctx: RiskContext, reason: string): Promise<void> {
    const n = await this.state.recordDeviceFailure(ctx.deviceId, ctx.now);
    await this.write({ decision: "note", rule: "identity-check-failed", reason: `${reason} (device failures in window: ${n})` }, ctx);
  }

  /** A decision that is neither a refusal nor a pass (face-first declined, the person must type): logged. */
  async recordNote(ctx: Omit<RiskContext, "personRef"> & { personRef?: string }, rule: string, reason: string): Promise<void> {
    await this.write({ decision: "note", rule, reason }, ctx);
  }

  /** A passed identity check: the device's and the person's history (trust detection reads it) and the log. */
  async recordSuccess(ctx: RiskContext, registryRecordRef?: string): Promise<void> {
    await this.state.recordSuccess(ctx.deviceId, ctx.personRef, ctx.now);
    // Only now is the face remembered for the duplicate-face hook (see duplicateFaceByEmbedding).
    if (ctx.faceEmbedding) await this.state.recordFace(ctx.faceEmbedding, ctx.personRef);
    await this.write({ decision: "note", rule: "identity-check-passed", reason: "registry and face confirmed", ...(registryRecordRef ? { registryRecordRef } : {}) }, ctx);
  }

  /** A device refused at the security gateway or at enrolment (seed 001: device refusals are in the risk log). */
  async recordDeviceRefusal(args: { deviceId?: string; addressRef?: string; code: string; reason: string }, now: Date): Promise<void> {
    await this.append({ at: now.toISOString(), decision: "refuse", rule: "device-refused", riskClass: "device-reputation", reason: `${args.code}: ${args.reason}`, ...(args.deviceId ? { deviceId: args.deviceId } : {}), ...(args.addressRef ? { addressRef: args.addressRef } : {}) });
  }

  /** Seed 001: what was issued, for which (keyed) person and registry record. */
  async recordIssued(args: { personRef: string; registryRecordRef?: string; credentials: number }, now: Date): Promise<void> {
    await this.append({ at: now.toISOString(), decision: "note", rule: "credential-issued", reason: "credentials issued", personRef: args.personRef, credentials: args.credentials, ...(args.registryRecordRef ? { registryRecordRef: args.registryRecordRef } : {}) });
  }

  /** An admin action (device reset, enrolment, blacklist change, ...): the subject as a keyed reference or device id. */
  async recordAdmin(args: { action: string; subjectRef: string; reason: string }, now: Date): Promise<void> {
    await this.append({ at: now.toISOString(), decision: "admin", ...args });
  }

  async entries(limit = 1000): Promise<RiskLogEntry[]> {
    return (await this.log.list({ limit })).map(([, e]) => e);
  }

  private write(entry: Omit<RiskLogEntry, "at" | "deviceId" | "personRef" | "addressRef">, ctx: Omit<RiskContext, "personRef"> & { personRef?: string }): Promise<void> {
    return this.append({ at: ctx.now.toISOString(), ...entry, deviceId: ctx.deviceId, ...(ctx.personRef ? { personRef: ctx.personRef } : {}), addressRef: ctx.addressRef });
  }

  private async append(entry: RiskLogEntry): Promise<void> {
    // hrtime keeps entries written within one millisecond in the order they happened.
    await this.log.put(`${entry.at}:${process.hrtime.bigint().toString().padStart(20, "0")}:${randomUUID().slice(0, 8)}`, entry);
  }
}
