import { randomUUID } from "node:crypto";
import { AgentError } from "../errors.js";
import type { DocumentStore } from "../stores/document-store.js";
import { hammingDistance } from "./face-matcher.js";

/** What the refused person is told: the class of rule, never its internals. */
export type RiskClass = "blacklist" | "velocity" | "duplicate-portrait" | "device-reputation";

/** Everything risk control sees: keyed references, never the personal values themselves. */
export interface RiskContext {
  deviceId: string;
  /** Keyed hash of the client address. */
  addressRef: string;
  /** Keyed hash of the ID number. */
  personRef: string;
  /** Perceptual hash of the portrait. */
  portraitHash: string;
  now: Date;
  /** Set by the engine: this attempt's place in each velocity window, counted atomically when it was recorded. */
  attemptPlace?: Partial<Record<"device" | "address" | "person", number>>;
}

export interface RiskLogEntry {
  at: string;
  decision: "allow" | "refuse" | "note";
  rule?: string;
  riskClass?: RiskClass;
  reason: string;
  deviceId: string;
  personRef: string;
  addressRef: string;
}

export interface RiskLimits {
  perDevice: { max: number; windowSeconds: number };
  perAddress: { max: number; windowSeconds: number };
  perPerson: { max: number; windowSeconds: number };
  /** Identity or face mismatches after which a device is flagged. */
  deviceFailuresBeforeFlag: number;
  /** dHash distance under which two portraits count as the same picture. */
  samePortraitDistance: number;
}

export const DEFAULT_RISK_LIMITS: RiskLimits = {
  perDevice: { max: 30, windowSeconds: 3600 },
  perAddress: { max: 10, windowSeconds: 3600 },
  perPerson: { max: 5, windowSeconds: 86_400 },
  deviceFailuresBeforeFlag: 3,
  samePortraitDistance: 6,
};

type Doc = { refs?: string[]; times?: number[]; count?: number; at?: string; reason?: string; hash?: string; personRef?: string };

/** One risk rule: a named, tested unit that either passes or gives a reason. */
export interface RiskRule {
  name: string;
  riskClass: RiskClass;
  evaluate(ctx: RiskContext, state: RiskState): Promise<string | undefined>;
}

/** The state risk rules read: blacklists, attempt windows, portraits seen, device failures. */
export class RiskState {
  constructor(readonly store: DocumentStore<Doc>, readonly limits: RiskLimits) {}

  async isBlacklisted(kind: "person" | "device", subject: string): Promise<string | undefined> {
    return (await this.store.get(`bl:${kind}:${subject}`))?.reason;
  }
  async blacklist(kind: "person" | "device", subject: string, reason: string, now: Date): Promise<void> {
    await this.store.put(`bl:${kind}:${subject}`, { reason, at: now.toISOString() });
  }
  async unblacklist(kind: "person" | "device", subject: string): Promise<void> {
    await this.store.del(`bl:${kind}:${subject}`);
  }
  /** Attempts by `subject` within the window, including this one (recorded by the engine first). */
  async attempts(kind: string, subject: string, windowSeconds: number, now: Date): Promise<number> {
    const times = (await this.store.get(`att:${kind}:${subject}`))?.times ?? [];
    return times.filter((t) => t > now.getTime() - windowSeconds * 1000).length;
  }
  /**
   * Atomic (store.update): concurrent attempts are all counted, none overwrites another's. Returns this
   * attempt's place in the window (attempts within `windowSeconds` up to and including this one), so that of
   * N concurrent attempts exactly `max` pass a velocity rule.
   */
  async recordAttempt(kind: string, subject: string, now: Date, keepSeconds: number, windowSeconds = keepSeconds): Promise<number> {
    const doc = await this.store.update(`att:${kind}:${subject}`, (current) => {
      const times = (current?.times ?? []).filter((t) => t > now.getTime() - keepSeconds * 1000);
      return { times: [...times.slice(-999), now.getTime()] };
    });
    return doc!.times!.filter((t) => t > now.getTime() - windowSeconds * 1000).length;
  }
  /** Person refs that submitted this portrait (or one within the distance) before. */
  async portraitOwners(hash: string): Promise<string[]> {
    const owners = new Set<string>();
    for (const [, doc] of await this.store.list({ prefix: "pf:" })) {
      if (doc.hash && hammingDistance(doc.hash, hash) <= this.limits.samePortraitDistance) doc.refs?.forEach((r) => owners.add(r));
    }
    return [...owners];
  }
  async recordPortrait(hash: string, personRef: string): Promise<void> {
    await this.store.update(`pf:${hash}`, (doc) => ({ hash, refs: [...new Set([...(doc?.refs ?? []), personRef])] }));
  }
  async deviceFailures(deviceId: string): Promise<number> {
    return (await this.store.get(`df:${deviceId}`))?.count ?? 0;
  }
  /** Atomic increment: concurrent failures from one device all count. */
  async recordDeviceFailure(deviceId: string, now: Date): Promise<number> {
    const next = await this.store.update(`df:${deviceId}`, (doc) => ({ count: (doc?.count ?? 0) + 1, at: now.toISOString() }));
    return next!.count!;
  }
}

export const blacklistedPerson: RiskRule = {
  name: "blacklisted-person",
  riskClass: "blacklist",
  evaluate: async (ctx, s) => ((await s.isBlacklisted("person", ctx.personRef)) !== undefined ? "the person is on the blacklist" : undefined),
};
export const blacklistedDevice: RiskRule = {
  name: "blacklisted-device",
  riskClass: "blacklist",
  evaluate: async (ctx, s) => ((await s.isBlacklisted("device", ctx.deviceId)) !== undefined ? "the device is on the blacklist" : undefined),
};
const velocity = (name: string, kind: "device" | "address" | "person", pick: (c: RiskContext) => string, limit: (l: RiskLimits) => { max: number; windowSeconds: number }): RiskRule => ({
  name,
  riskClass: "velocity",
  evaluate: async (ctx, s) => {
    const { max, windowSeconds } = limit(s.limits);
    const n = ctx.attemptPlace?.[kind] ?? (await s.attempts(kind, pick(ctx), windowSeconds, ctx.now));
    return n > max ? `${n} attempts per ${kind} within ${windowSeconds}s (limit ${max})` : undefined;
  },
});
export const tooManyPerDevice = velocity("too-many-per-device", "device", (c) => c.deviceId, (l) => l.perDevice);
export const tooManyPerAddress = velocity("too-many-per-address", "address", (c) => c.addressRef, (l) => l.perAddress);
export const tooManyPerPerson = velocity("too-many-per-id-number", "person", (c) => c.personRef, (l) => l.perPerson);
export const portraitReusedForAnotherPerson: RiskRule = {
  name: "portrait-reused-for-another-id",
  riskClass: "duplicate-portrait",
  evaluate: async (ctx, s) => {
    const others = (await s.portraitOwners(ctx.portraitHash)).filter((r) => r !== ctx.personRef);
    return others.length ? `the same portrait was submitted for ${others.length} other ID number(s)` : undefined;
  },
};
export const flaggedDevice: RiskRule = {
  name: "device-flagged-by-failures",
  riskClass: "device-reputation",
  evaluate: async (ctx, s) => {
    const n = await s.deviceFailures(ctx.deviceId);
    return n >= s.limits.deviceFailuresBeforeFlag ? `the device had ${n} failed identity checks` : undefined;
  },
};

export const DEFAULT_RISK_RULES: RiskRule[] = [blacklistedPerson, blacklistedDevice, tooManyPerDevice, tooManyPerAddress, tooManyPerPerson, portraitReusedForAnotherPerson, flaggedDevice];

/**
 * Risk control, run before any identity check. Every attempt is counted first (so refused attempts count
 * too), the rules run in order, and every decision is written to the risk log with keyed references only.
 */
export class RiskEngine {
  constructor(
    readonly state: RiskState,
    private readonly log: DocumentStore<RiskLogEntry>,
    private readonly rules: RiskRule[] = DEFAULT_RISK_RULES,
  ) {}

  async assess(ctx: RiskContext): Promise<void> {
    const l = this.state.limits;
    const keep = Math.max(l.perDevice.windowSeconds, l.perAddress.windowSeconds, l.perPerson.windowSeconds);
    ctx.attemptPlace = {
      device: await this.state.recordAttempt("device", ctx.deviceId, ctx.now, keep, l.perDevice.windowSeconds),
      address: await this.state.recordAttempt("address", ctx.addressRef, ctx.now, keep, l.perAddress.windowSeconds),
      person: await this.state.recordAttempt("person", ctx.personRef, ctx.now, keep, l.perPerson.windowSeconds),
    };
    for (const rule of this.rules) {
      const reason = await rule.evaluate(ctx, this.state);
      if (reason) {
        await this.write({ decision: "refuse", rule: rule.name, riskClass: rule.riskClass, reason }, ctx);
        throw new AgentError("ERR_RISK_REFUSED", `refused by risk control (${rule.riskClass})`, { riskClass: rule.riskClass });
      }
    }
    await this.state.recordPortrait(ctx.portraitHash, ctx.personRef);
    await this.write({ decision: "allow", reason: "all rules passed" }, ctx);
  }

  /** An identity or face mismatch: counts against the device and is logged. */
  async recordFailure(ctx: RiskContext, reason: string): Promise<void> {
    const n = await this.state.recordDeviceFailure(ctx.deviceId, ctx.now);
    await this.write({ decision: "note", rule: "identity-check-failed", reason: `${reason} (device failures: ${n})` }, ctx);
  }

  async entries(limit = 1000): Promise<RiskLogEntry[]> {
    return (await this.log.list({ limit })).map(([, e]) => e);
  }

  private async write(entry: Omit<RiskLogEntry, "at" | "deviceId" | "personRef" | "addressRef">, ctx: RiskContext): Promise<void> {
    const at = ctx.now.toISOString();
    // hrtime keeps entries written within one millisecond in the order they happened.
    await this.log.put(`${at}:${process.hrtime.bigint().toString().padStart(20, "0")}:${randomUUID().slice(0, 8)}`, { at, ...entry, deviceId: ctx.deviceId, personRef: ctx.personRef, addressRef: ctx.addressRef });
  }
}
