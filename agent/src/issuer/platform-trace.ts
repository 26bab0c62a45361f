import { randomBytes } from "node:crypto";
import { AgentError } from "../errors.js";
import type { GrantLevel } from "../sdjwt/identity-credential.js";
import type { DocumentStore } from "../stores/document-store.js";
import { DataKey } from "./data-key.js";

/** Where a receipt was anchored, as far as the platform knows (the notary checks it on chain). */
export interface TraceAnchor {
  root: string;
  status: string;
  chainId?: number;
  contract?: string;
  blockNumber?: number;
  txHash?: string;
}

/** One authorization the person gave: names and hashes, never a claim value. */
export interface TraceGrant {
  kind: "grant";
  /** sha-256 (hex) of the consent receipt: the entry's identity. */
  consentReceiptHash: string;
  grantReceiptHash?: string;
  /** The merchant's own grant id, when the report named it (a notary may know only that). */
  merchantGrantId?: string;
  merchant: { did: string; name: string };
  level: GrantLevel;
  claimNames: string[];
  purpose: string;
  grantedAt: string;
  reportedAt: string;
  anchors?: { consent?: TraceAnchor; grant?: TraceAnchor };
  withdrawnAt?: string;
}

/** A notary obtained this person's trace or identity under a legal request: shown to the person. */
export interface TraceAccess {
  kind: "access";
  accessId: string;
  notary: { did: string; name: string };
  legalBasis: string;
  caseReference: string;
  /** What the request named: one grant (by receipt hash or merchant grant id) or the person. */
  scope: "grant" | "person";
  accessedAt: string;
  /** sha-256 (hex) of the notary's signed request. */
  requestHash: string;
  /** sha-256 (hex) of this access record: what the platform anchored. */
  recordHash: string;
}

export type TraceEntry = TraceGrant | TraceAccess;

type SealedEntry = { sealed: string; at: string };

/**
 * The platform's trace (认证留痕): per person, every authorization and every legal access, sealed under a
 * data key of that person alone (random, kept wrapped under the platform's data key), so one person's
 * trace opens without touching anyone else's and destroying that key shreds it. Entries are stored under a
 * keyed index of the person, never the ID number or the vault ref itself.
 *
 * The escrow: a receipt hash (or a merchant's grant id) maps to the person, sealed, so the link between a
 * `verified`/`pseudonymous` grant and the real person exists here only; merchants and the chain hold hashes
 * and pairwise keys that lead nowhere without this store and the platform's key.
 */
export class PlatformTrace {
  private readonly keys = new Map<string, DataKey>();

  constructor(
    private readonly stores: {
      /** Per-person data keys, wrapped under the platform's key. */
      personKeys: DocumentStore<{ wrapped: string }>;
      entries: DocumentStore<SealedEntry>;
      escrow: DocumentStore<{ sealed: string }>;
    },
    private readonly platformKey: DataKey,
  ) {}

  private personIndex(identityRef: string): string {
    return this.platformKey.index("trace-person", identityRef);
  }

  /** The person's own data key (created on first use; of two concurrent creators one wins, both use it). */
  private async personKey(identityRef: string, create: boolean): Promise<DataKey | undefined> {
    const idx = this.personIndex(identityRef);
    const cached = this.keys.get(idx);
    if (cached) return cached;
    let record = await this.stores.personKeys.get(idx);
    if (!record && create) {
      await this.stores.personKeys.putIfAbsent(idx, { wrapped: this.platformKey.seal(randomBytes(32).toString("base64url"), `trace-key|${idx}`) });
      record = await this.stores.personKeys.get(idx);
    }
    if (!record) return undefined;
    const key = new DataKey(Buffer.from(this.platformKey.open(record.wrapped, `trace-key|${idx}`), "base64url"));
    if (this.keys.size > 1000) this.keys.clear();
    this.keys.set(idx, key);
    return key;
  }

  private entryKey(identityRef: string, entry: TraceEntry): string {
    // Keyed, like the person: a receipt hash in a store key would tie the (sealed) entry to the merchant's receipt.
    return `${this.personIndex(identityRef)}|${entry.kind === "grant" ? `g:${this.platformKey.index("trace-grant", entry.consentReceiptHash)}` : `a:${entry.accessId}`}`;
  }

  private escrowKey(kind: "receipt" | "merchant-grant", value: string): string {
    return this.platformKey.index(`escrow-${kind}`, value);
  }

  /**
   * Records (or updates: anchors learned later, a withdrawal) one grant in the person's trace and its escrow
   * entries. Idempotent per consent receipt: a report sent twice changes nothing but what it adds.
   */
  async recordGrant(identityRef: string, grant: TraceGrant): Promise<TraceGrant> {
    const key = (await this.personKey(identityRef, true))!;
    const storeKey = this.entryKey(identityRef, grant);
    const previous = await this.stores.entries.get(storeKey);
    const before = previous ? (JSON.parse(key.open(previous.sealed, storeKey)) as TraceGrant) : undefined;
    const merged: TraceGrant = before
      ? {
          ...before,
          grantReceiptHash: before.grantReceiptHash ?? grant.grantReceiptHash,
          merchantGrantId: before.merchantGrantId ?? grant.merchantGrantId,
          anchors: { ...before.anchors, ...grant.anchors },
          withdrawnAt: before.withdrawnAt ?? grant.withdrawnAt,
        }
      : grant;
    const escrow = [this.escrowKey("receipt", merged.consentReceiptHash)];
    if (merged.grantReceiptHash) escrow.push(this.escrowKey("receipt", merged.grantReceiptHash));
    if (merged.merchantGrantId) escrow.push(this.escrowKey("merchant-grant", `${merged.merchant.did}\u0000${merged.merchantGrantId}`));
    await this.stores.escrow.batch(escrow.map((k) => ({ type: "put" as const, key: k, value: { sealed: this.platformKey.seal(identityRef, `escrow|${k}`) } })));
    await this.stores.entries.put(storeKey, { sealed: key.seal(JSON.stringify(merged), storeKey), at: merged.grantedAt });
    return merged;
  }

  async recordAccess(identityRef: string, access: TraceAccess): Promise<void> {
    const key = (await this.personKey(identityRef, true))!;
    const storeKey = this.entryKey(identityRef, access);
    await this.stores.entries.put(storeKey, { sealed: key.seal(JSON.stringify(access), storeKey), at: access.accessedAt });
  }

  /** The person's whole trace, oldest first. */
  async trace(identityRef: string): Promise<TraceEntry[]> {
    const key = await this.personKey(identityRef, false);
    if (!key) return [];
    const rows = await this.stores.entries.list({ prefix: `${this.personIndex(identityRef)}|` });
    return rows
      .sort(([, a], [, b]) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
      .map(([k, row]) => JSON.parse(key.open(row.sealed, k)) as TraceEntry);
  }

  /** The person behind a grant: by a receipt hash (consent or grant), or by a merchant's grant id. */
  async personBehind(subject: { receiptHash: string } | { merchantDid: string; grantId: string }): Promise<string | undefined> {
    const k = "receiptHash" in subject ? this.escrowKey("receipt", subject.receiptHash.toLowerCase()) : this.escrowKey("merchant-grant", `${subject.merchantDid}\u0000${subject.grantId}`);
    const found = await this.stores.escrow.get(k);
    if (!found) return undefined;
    try {
      return this.platformKey.open(found.sealed, `escrow|${k}`);
    } catch (cause) {
      throw new AgentError("ERR_SEALED_DATA_CORRUPT", "an escrow record failed authentication", undefined, { cause });
    }
  }
}
