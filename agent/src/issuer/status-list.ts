import { randomInt } from "node:crypto";
import { StatusList, createHeaderAndPayload } from "@sd-jwt/jwt-status-list";
import { signJws, type JwsSigner } from "../crypto/jws.js";
import { AgentError } from "../errors.js";
import { didKeyKid } from "../identity/did-key.js";
import type { DocumentStore } from "../stores/document-store.js";
import { sha256Hex } from "../encoding.js";

/** IETF Token Status List values used here (2 bits per credential). */
export const STATUS = { valid: 0, revoked: 1, suspended: 2 } as const;
export type StatusName = keyof typeof STATUS;
export const STATUS_LIST_TYP = "statuslist+jwt";

interface ListDoc {
  listId: string;
  size: number;
  bits: 2;
  lst: string;
  version: number;
  updatedAt: string;
}

/** A change waiting for its publication slot. */
interface PendingChange {
  listId: string;
  idx: number;
  status: StatusName;
  slot: number;
  /** A decoy: an index no credential carries, flipped so that a version's size says nothing. */
  decoy?: true;
}

/** When scheduled changes become visible, and how they are spread. */
export interface PublicationSchedule {
  /** Length of a publication slot: the list changes at most once per slot. Default 5 s. */
  intervalSeconds?: number;
  /** A person's changes are spread over at least this many slots (one change per slot). Default 6. */
  spreadSlots?: number;
  /** Each published version also flips 1..maxDecoys unused indexes. Default 3. */
  maxDecoys?: number;
}

/**
 * One IETF Token Status List: each credential gets a random, unused index (so indexes say nothing about
 * issuance order or person), changes are versioned, and the list is served as a signed JWT. Every change
 * is reported to `onChange` with the new signed list, so its hash can be anchored.
 *
 * Publication (issue 12 §3): a merchant that saw several of one person's credentials (a `verified` and a
 * `full` answer, say, each with a fresh credential) must not link them when the person is revoked. If all
 * of the person's indexes flipped in one new version, the merchant would see its known indexes change
 * together and conclude they belong to one person. So changes are not applied when asked (`schedule`):
 * - time is cut into fixed slots; the list changes only at a slot boundary, one version per slot, carrying
 *   every change due in that slot from everyone (the merchant cannot tell the moment of the admin's call);
 * - the N changes of one call are put into N *different* slots, chosen at random among the next
 *   max(spreadSlots, N): no version ever holds two indexes of one revocation, and the order says nothing;
 * - every published version also flips 1..maxDecoys random indexes no credential carries (reserved like
 *   real ones, so they are never handed out later): a version holding a single flip is not "one person".
 * The cost is delay: a change is visible at most `intervalSeconds × max(spreadSlots, N)` after the call
 * (50 s for a batch of 10 at the defaults), plus the merchant's own cache. What remains: an observer who
 * knows two indexes still sees both change within that window; the smaller the issuer's revocation rate,
 * the more that says. A longer spread buys more privacy for a longer bound.
 * The issuer itself sees changes at once (`statusOf`), so a revoked person cannot refresh a batch meanwhile.
 */
export class StatusListService {
  constructor(
    private readonly store: DocumentStore<ListDoc | { listId: string; idx: number }>,
    private readonly options: {
      listId: string;
      uri: () => string;
      /** `iss`: the identifier the issuer's credentials carry (the DID unless given: its https URL). */
      issuer: { did: string; signer: JwsSigner; iss?: () => string };
      size?: number;
      ttlSeconds?: number;
      onChange?: (signedList: string, version: number) => Promise<void>;
      clock?: () => Date;
      schedule?: PublicationSchedule;
      /** Randomness for slots and decoys (tests inject a seeded one; the default is node:crypto). */
      random?: (max: number) => number;
    },
  ) {}

  /** Changes of the list are applied one at a time (read, modify, write). */
  private queue: Promise<unknown> = Promise.resolve();
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private get intervalMs(): number {
    return Math.max(1, Math.round((this.options.schedule?.intervalSeconds ?? 5) * 1000));
  }
  private slotAt(date: Date): number {
    return Math.floor(date.getTime() / this.intervalMs);
  }
  private draw(max: number): number {
    return (this.options.random ?? randomInt)(max);
  }

  get ttlSeconds(): number {
    return this.options.ttlSeconds ?? 300;
  }

  private async list(): Promise<ListDoc> {
    const key = `list:${this.options.listId}`;
    const existing = (await this.store.get(key)) as ListDoc | undefined;
    if (existing) return existing;
    const size = this.options.size ?? 1 << 17;
    const fresh: ListDoc = { listId: this.options.listId, size, bits: 2, lst: new StatusList(new Array(size).fill(0), 2).compressStatusList(), version: 1, updatedAt: new Date(0).toISOString() };
    await this.store.putIfAbsent(key, fresh);
    return (await this.store.get(key)) as ListDoc;
  }

  /** A random index never handed out before in this list. */
  async allocate(): Promise<{ idx: number; uri: string }> {
    const { size } = await this.list();
    for (let attempt = 0; attempt < 64; attempt++) {
      const idx = randomInt(size);
      if (await this.store.putIfAbsent(`idx:${this.options.listId}:${idx}`, { listId: this.options.listId, idx })) return { idx, uri: this.options.uri() };
    }
    throw new AgentError("ERR_STATUS_LIST_FULL", "the status list has no free index left");
  }

  async statusOf(idx: number): Promise<StatusName> {
    const doc = await this.list();
    const value = StatusList.decompressStatusList(doc.lst, 2).getStatus(idx);
    return (Object.keys(STATUS) as StatusName[]).find((k) => STATUS[k] === value) ?? "revoked";
  }

  /**
   * The status the issuer knows, scheduled changes included (the published list may still lag behind).
   */
  async effectiveStatusOf(idx: number): Promise<StatusName> {
    const pending = (await this.store.list({ prefix: `pending:${this.options.listId}:` })).map(([, v]) => v as unknown as PendingChange).filter((c) => c.idx === idx && !c.decoy);
    return pending.length ? pending.sort((a, b) => a.slot - b.slot)[pending.length - 1]!.status : this.statusOf(idx);
  }

  /**
   * Changes the status of credentials now, all in one new version. Only for changes that cannot link
   * anyone (tests, a single correction); a person's credentials go through `schedule`.
   */
  async setStatus(indexes: number[], status: StatusName): Promise<number> {
    return this.serial(async () => {
      const version = await this.apply(indexes.map((idx) => ({ idx, status })));
      await this.signCurrent();
      return version;
    });
  }

  /**
   * Schedules status changes: each index gets its own random publication slot (see the class comment).
   * Refusals (an index out of range, reinstating a revoked credential) happen now, not at publication.
   * Returns when every change will be visible in the published list at the latest.
   */
  async schedule(indexes: number[], status: StatusName): Promise<{ effectiveBy: Date }> {
    const doc = await this.list();
    for (const idx of indexes) {
      if (!Number.isInteger(idx) || idx < 0 || idx >= doc.size) throw new AgentError("ERR_INVALID_INPUT", "status index out of range");
      if ((await this.effectiveStatusOf(idx)) === "revoked" && status !== "revoked") throw new AgentError("ERR_CONFLICT", "a revoked credential cannot be reinstated");
    }
    const first = this.slotAt(this.now()) + 1;
    const span = Math.max(this.options.schedule?.spreadSlots ?? 6, indexes.length);
    // N distinct slots out of the next `span`, in random order (a partial Fisher-Yates shuffle).
    const slots = Array.from({ length: span }, (_, i) => first + i);
    for (let i = 0; i < indexes.length; i++) {
      const j = i + this.draw(span - i);
      [slots[i], slots[j]] = [slots[j]!, slots[i]!];
    }
    await this.store.batch(
      indexes.map((idx, i) => ({ type: "put" as const, key: `pending:${this.options.listId}:${String(slots[i]).padStart(16, "0")}:${idx}`, value: { listId: this.options.listId, idx, status, slot: slots[i]! } as never })),
    );
    return { effectiveBy: new Date((first + span) * this.intervalMs) };
  }

  /**
   * Publishes every slot that has begun: one new version per slot, in order, each with its decoys. Called on
   * the schedule's timer and before the list is served, so a served list is never behind its schedule.
   */
  async publishDue(): Promise<number> {
    return this.serial(async () => {
      const current = this.slotAt(this.now());
      const due = (await this.store.list({ prefix: `pending:${this.options.listId}:` }))
        .map(([key, v]) => ({ key, change: v as unknown as PendingChange }))
        .filter(({ change }) => change.slot <= current);
      const bySlot = new Map<number, typeof due>();
      for (const d of due) bySlot.set(d.change.slot, [...(bySlot.get(d.change.slot) ?? []), d]);
      let published = 0;
      for (const slot of [...bySlot.keys()].sort((a, b) => a - b)) {
        const changes = bySlot.get(slot)!.map(({ change }) => ({ idx: change.idx, status: change.status }));
        for (let n = 1 + this.draw(this.options.schedule?.maxDecoys ?? 3); n > 0; n--) changes.push({ idx: (await this.allocate()).idx, status: "revoked" });
        await this.apply(changes);
        await this.store.batch(bySlot.get(slot)!.map(({ key }) => ({ type: "del" as const, key })));
        await this.signCurrent();
        published++;
      }
      return published;
    });
  }

  /**
   * One new version holding exactly these changes, as one atomic update of the list document: replicas on one
   * database (and two calls in one process) never read the list, change it and write it back over each other's
   * change (a lost revocation would show a revoked credential as valid).
   */
  private async apply(changes: Array<{ idx: number; status: StatusName }>): Promise<number> {
    const key = `list:${this.options.listId}`;
    await this.list();
    const next = (await this.store.update(key, (current) => {
      const doc = current as ListDoc;
      const list = StatusList.decompressStatusList(doc.lst, 2);
      for (const { idx, status } of changes) {
        if (!Number.isInteger(idx) || idx < 0 || idx >= doc.size) throw new AgentError("ERR_INVALID_INPUT", "status index out of range");
        if (list.getStatus(idx) === STATUS.revoked && status !== "revoked") throw new AgentError("ERR_CONFLICT", "a revoked credential cannot be reinstated");
        list.setStatus(idx, STATUS[status]);
      }
      return { ...doc, lst: list.compressStatusList(), version: doc.version + 1, updatedAt: this.now().toISOString() } as never;
    })) as unknown as ListDoc;
    return next.version;
  }

  /**
   * The list as a signed JWT (`typ: statuslist+jwt`). One JWT per version, re-signed only when it nears
   * its expiry; every JWT ever served is kept as a snapshot (by its hash) and handed to `onChange` to be
   * anchored, so "which list did the merchant see?" can be answered and proven later.
   */
  async signedList(): Promise<string> {
    await this.publishDue();
    return this.serial(() => this.signCurrent());
  }

  private async signCurrent(): Promise<string> {
    const doc = await this.list();
    const now = Math.floor(this.now().getTime() / 1000);
    const currentKey = `current:${this.options.listId}`;
    const current = (await this.store.get(currentKey)) as unknown as { version: number; jwt: string; exp: number } | undefined;
    if (current && current.version === doc.version && current.exp - 3600 > now) return current.jwt;
    const list = StatusList.decompressStatusList(doc.lst, 2);
    const exp = now + 24 * 3600;
    const { header, payload } = createHeaderAndPayload(
      list,
      { iss: this.options.issuer.iss?.() ?? this.options.issuer.did, sub: this.options.uri(), iat: now, exp, ttl: this.ttlSeconds },
      { alg: "EdDSA", typ: STATUS_LIST_TYP, kid: didKeyKid(this.options.issuer.did) },
    );
    const jwt = await signJws(header as Record<string, unknown>, payload as Record<string, unknown>, this.options.issuer.signer);
    await this.store.put(`snapshot:${sha256Hex(jwt)}`, { listId: this.options.listId, idx: doc.version, jwt } as never);
    await this.store.put(currentKey, { version: doc.version, jwt, exp } as never);
    await this.options.onChange?.(jwt, doc.version);
    return jwt;
  }

  /** A list JWT this issuer served, by the sha-256 (hex) of its exact bytes. */
  async snapshot(hash: string): Promise<string | undefined> {
    return ((await this.store.get(`snapshot:${hash}`)) as unknown as { jwt?: string } | undefined)?.jwt;
  }

  private now(): Date {
    return (this.options.clock ?? (() => new Date()))();
  }
}
