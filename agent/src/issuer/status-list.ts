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

/**
 * One IETF Token Status List: each credential gets a random, unused index (so indexes say nothing about
 * issuance order or person), changes are versioned, and the list is served as a signed JWT. Every change
 * is reported to `onChange` with the new signed list, so its hash can be anchored.
 */
export class StatusListService {
  constructor(
    private readonly store: DocumentStore<ListDoc | { listId: string; idx: number }>,
    private readonly options: {
      listId: string;
      uri: () => string;
      issuer: { did: string; signer: JwsSigner };
      size?: number;
      ttlSeconds?: number;
      onChange?: (signedList: string, version: number) => Promise<void>;
      clock?: () => Date;
    },
  ) {}

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

  async setStatus(indexes: number[], status: StatusName): Promise<number> {
    const key = `list:${this.options.listId}`;
    const doc = await this.list();
    const list = StatusList.decompressStatusList(doc.lst, 2);
    for (const idx of indexes) {
      if (!Number.isInteger(idx) || idx < 0 || idx >= doc.size) throw new AgentError("ERR_INVALID_INPUT", "status index out of range");
      if (list.getStatus(idx) === STATUS.revoked && status !== "revoked") throw new AgentError("ERR_CONFLICT", "a revoked credential cannot be reinstated");
      list.setStatus(idx, STATUS[status]);
    }
    const next: ListDoc = { ...doc, lst: list.compressStatusList(), version: doc.version + 1, updatedAt: this.now().toISOString() };
    await this.store.put(key, next);
    await this.signedList();
    return next.version;
  }

  /**
   * The list as a signed JWT (`typ: statuslist+jwt`). One JWT per version, re-signed only when it nears
   * its expiry; every JWT ever served is kept as a snapshot (by its hash) and handed to `onChange` to be
   * anchored, so "which list did the merchant see?" can be answered and proven later.
   */
  async signedList(): Promise<string> {
    const doc = await this.list();
    const now = Math.floor(this.now().getTime() / 1000);
    const currentKey = `current:${this.options.listId}`;
    const current = (await this.store.get(currentKey)) as unknown as { version: number; jwt: string; exp: number } | undefined;
    if (current && current.version === doc.version && current.exp - 3600 > now) return current.jwt;
    const list = StatusList.decompressStatusList(doc.lst, 2);
    const exp = now + 24 * 3600;
    const { header, payload } = createHeaderAndPayload(
      list,
      { iss: this.options.issuer.did, sub: this.options.uri(), iat: now, exp, ttl: this.ttlSeconds },
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
