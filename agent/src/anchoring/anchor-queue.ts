import { randomBytes, randomUUID } from "node:crypto";
import { iterateStore, type DocumentStore } from "../stores/document-store.js";
import { SOLE_OWNER_LEASE, type Lease } from "../stores/lease.js";
import { buildMerkleBatch, newLeafSalt, receiptLeaf } from "../merkle/merkle.js";
import type { AnchorRegistryClient, ChainAnchor } from "./registry-contract.js";

/** Everything a receipt's owner needs to prove it was anchored: its salted leaf, the path, and where. */
export interface AnchorRecord {
  receiptHash: string;
  receiptId?: string;
  salt: string;
  leaf: string;
  status: "queued" | "batched" | "anchored";
  queuedAt: string;
  batchId?: string;
  root?: string;
  proof?: string[];
  anchor?: ChainAnchor;
}

interface BatchDoc {
  batchId: string;
  root: string;
  receiptHashes: string[];
  status: "built" | "confirmed";
  createdAt: string;
  anchor?: ChainAnchor;
  attempts: number;
  lastError?: string;
}

type QueueDoc = AnchorRecord | BatchDoc | { receiptHash: string } | { batchId: string } | { done: true };

export interface AnchorQueueOptions {
  store: DocumentStore<QueueDoc>;
  registry: AnchorRegistryClient;
  /** A batch closes when it has this many receipts… */
  maxBatchSize?: number;
  /** …or when its oldest receipt has waited this long. */
  maxAgeMs?: number;
  confirmations?: number;
  onError?: (error: unknown) => void;
  onAnchored?: (batch: { root: string; size: number; anchor: ChainAnchor }) => void;
  /** Who anchors when several processes share the store (default: this process, the store's sole owner). */
  lease?: Lease;
  /** Told when this process starts or stops being the one that anchors (logged: who anchors, and when). */
  onLeaseChange?: (held: boolean) => void;
}

/**
 * A durable anchoring queue in a DocumentStore (LevelDB, or PostgreSQL shared by replicas). `enqueue` returns
 * only after the receipt's leaf is stored (synced), so an acknowledged receipt survives a crash. Batches are
 * written (root, members, proofs) before their transaction is sent and, on retry, the chain is asked first
 * whether the root is already there, so a restart or a replica taking over never anchors a root twice (the
 * contract refuses a second anchor of a root anyway). Only the holder of the lease closes and anchors batches;
 * any replica enqueues.
 *
 * Keys: `record:<hash>` per receipt, `pending:<time>:…` per receipt not yet in a batch, `batch:<id>` per
 * batch, and `open:<id>` per batch not yet confirmed: the tick reads only pending and open entries, never the
 * history of confirmed batches.
 */
export class AnchorQueue {
  private readonly store: DocumentStore<QueueDoc>;
  private readonly maxBatchSize: number;
  private readonly maxAgeMs: number;
  private readonly confirmations: number;
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private seq = 0;
  private failures = 0;
  private nextAttemptAt = 0;
  private readonly lease: Lease;
  private openIndexReady = false;
  private leaseHeld = false;
  /** Distinguishes this process's pending keys from another replica's written in the same millisecond. */
  private readonly instance = randomBytes(4).toString("hex");

  constructor(private readonly options: AnchorQueueOptions) {
    this.store = options.store;
    this.maxBatchSize = options.maxBatchSize ?? 256;
    this.maxAgeMs = options.maxAgeMs ?? 2000;
    this.confirmations = options.confirmations ?? 1;
    this.lease = options.lease ?? SOLE_OWNER_LEASE;
  }

  /** Durably queues a receipt's hash; idempotent per receipt hash. */
  async enqueue(receiptHash: string, receiptId?: string): Promise<AnchorRecord> {
    if (!/^[0-9a-f]{64}$/.test(receiptHash)) throw new TypeError("receiptHash must be 64 hex characters");
    const salt = newLeafSalt();
    const record: AnchorRecord = { receiptHash, receiptId, salt, leaf: receiptLeaf(receiptHash, salt), status: "queued", queuedAt: new Date().toISOString() };
    const key = `pending:${Date.now().toString().padStart(15, "0")}:${this.instance}:${String(this.seq++).padStart(9, "0")}`;
    const existing = await this.get(receiptHash);
    if (existing) return existing;
    // Record and pending marker in one atomic write: a crash leaves both or neither.
    await this.store.batch([
      { type: "put", key: `record:${receiptHash}`, value: record },
      { type: "put", key, value: { receiptHash } },
    ]);
    return record;
  }

  async get(receiptHash: string): Promise<AnchorRecord | undefined> {
    return (await this.store.get(`record:${receiptHash}`)) as AnchorRecord | undefined;
  }

  async backlog(): Promise<{ pending: number; unconfirmedBatches: number }> {
    const pending = (await this.store.list({ prefix: "pending:" })).length;
    await this.ensureOpenIndex();
    const batches = (await this.store.list({ prefix: "open:" })).length;
    return { pending, unconfirmedBatches: batches };
  }

  start(tickMs = Math.min(250, this.maxAgeMs)): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.lease.release();
  }

  /** Whether this process anchors now: takes the lease when free, and indexes open batches on first use. */
  private async leading(): Promise<boolean> {
    const held = await this.lease.acquire();
    if (held !== this.leaseHeld) {
      this.leaseHeld = held;
      this.options.onLeaseChange?.(held);
    }
    if (!held) return false;
    await this.ensureOpenIndex();
    return true;
  }

  /**
   * Folders written before open batches had their own index: one streamed pass over the batches marks the
   * unconfirmed ones, then a marker records that it was done (never repeated).
   */
  private async ensureOpenIndex(): Promise<void> {
    if (this.openIndexReady) return;
    if (!(await this.store.get("meta:open-index"))) {
      for await (const [, doc] of iterateStore(this.store, { prefix: "batch:" })) {
        const batch = doc as BatchDoc;
        if (batch.status !== "confirmed") await this.store.put(`open:${batch.batchId}`, { batchId: batch.batchId });
      }
      await this.store.put("meta:open-index", { done: true });
    }
    this.openIndexReady = true;
  }

  /** Closes a batch of whatever is pending now (regardless of size or age) and anchors every open batch. */
  async flush(): Promise<void> {
    await this.serial(async () => {
      if (!(await this.leading())) return;
      this.nextAttemptAt = 0;
      await this.closeBatches(true);
      await this.anchorOpenBatches();
    });
  }

  private async tick(): Promise<void> {
    await this.serial(async () => {
      if (!(await this.leading())) return;
      await this.closeBatches(false);
      if (Date.now() >= this.nextAttemptAt) await this.anchorOpenBatches();
    });
  }

  private serial<R>(fn: () => Promise<R>): Promise<R | undefined> {
    const next = this.running.then(fn).catch((error) => {
      this.options.onError?.(error);
      return undefined;
    });
    this.running = next.then(() => undefined);
    return next;
  }

  private async closeBatches(force: boolean): Promise<void> {
    for (;;) {
      const pending = await this.store.list({ prefix: "pending:", limit: this.maxBatchSize });
      if (pending.length === 0) return;
      const oldest = Number(pending[0]![0].split(":")[1]);
      if (!force && pending.length < this.maxBatchSize && Date.now() - oldest < this.maxAgeMs) return;
      const records = await Promise.all(pending.map(([, p]) => this.get((p as { receiptHash: string }).receiptHash)));
      const members = records.filter((r): r is AnchorRecord => r !== undefined);
      const batch = buildMerkleBatch(members.map((r) => r.leaf));
      const batchId = `${Date.now().toString().padStart(15, "0")}-${randomUUID()}`;
      const doc: BatchDoc = { batchId, root: batch.root, receiptHashes: members.map((r) => r.receiptHash), status: "built", createdAt: new Date().toISOString(), attempts: 0 };
      await this.store.batch([
        { type: "put", key: `batch:${batchId}`, value: doc },
        { type: "put", key: `open:${batchId}`, value: { batchId } },
        ...members.map((r) => ({ type: "put" as const, key: `record:${r.receiptHash}`, value: { ...r, status: "batched" as const, batchId, root: batch.root, proof: batch.proofs.get(r.leaf)! } })),
        ...pending.map(([key]) => ({ type: "del" as const, key })),
      ]);
      if (pending.length < this.maxBatchSize) return;
    }
  }

  /**
   * Anchors every open batch: first asks the chain which roots it already shows (a restart after the
   * transaction went out), then sends the rest together in one `anchorBatch` transaction.
   */
  private async anchorOpenBatches(): Promise<void> {
    const open = await this.openBatches();
    if (open.length === 0) return;
    try {
      const toSend: BatchDoc[] = [];
      for (const batch of open) {
        const already = await this.options.registry.findAnchor(batch.root);
        if (already) await this.confirm(batch, already);
        else toSend.push(batch);
      }
      for (let i = 0; i < toSend.length; i += 50) {
        const chunk = toSend.slice(i, i + 50);
        const anchors = await this.options.registry.anchorMany(chunk.map((b) => ({ root: b.root, leafCount: b.receiptHashes.length })), this.confirmations);
        for (const batch of chunk) await this.confirm(batch, anchors.get(batch.root)!);
      }
      this.failures = 0;
    } catch (error) {
      this.failures++;
      // Exponential back-off up to 30 s while the chain is unreachable; nothing is dropped meanwhile.
      this.nextAttemptAt = Date.now() + Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
      for (const batch of open) {
        const current = (await this.store.get(`batch:${batch.batchId}`)) as BatchDoc | undefined;
        if (current && current.status !== "confirmed") await this.store.put(`batch:${batch.batchId}`, { ...current, attempts: current.attempts + 1, lastError: String((error as Error)?.message ?? error).slice(0, 300) });
      }
      throw error;
    }
  }

  /** The batches not yet confirmed, through their index (bounded by the backlog, not by history). */
  private async openBatches(): Promise<BatchDoc[]> {
    const markers = await this.store.list({ prefix: "open:" });
    const docs = (await Promise.all(markers.map(([key]) => this.store.get(`batch:${key.slice("open:".length)}`)))) as Array<BatchDoc | undefined>;
    // A marker left behind (the one-time indexing pass racing a confirmation) is dropped, not followed.
    for (const [i, doc] of docs.entries()) if (!doc || doc.status === "confirmed") await this.store.del(markers[i]![0]);
    return docs.filter((b): b is BatchDoc => b !== undefined && b.status !== "confirmed");
  }

  private async confirm(batch: BatchDoc, anchor: ChainAnchor): Promise<void> {
    const records = await Promise.all(batch.receiptHashes.map((h) => this.get(h)));
    await this.store.batch([
      { type: "put", key: `batch:${batch.batchId}`, value: { ...batch, status: "confirmed", anchor } },
      { type: "del", key: `open:${batch.batchId}` },
      ...records.filter((r): r is AnchorRecord => !!r).map((r) => ({ type: "put" as const, key: `record:${r.receiptHash}`, value: { ...r, status: "anchored" as const, anchor } })),
    ]);
    this.options.onAnchored?.({ root: batch.root, size: batch.receiptHashes.length, anchor });
  }

  /**
   * Checks confirmed batches against the chain. A root the chain no longer shows (a Hardhat node restarted,
   * a reorganisation) is reopened: its receipts go back to "batched" (no anchor claimed) and the batch is
   * anchored again. Returns how many batches were reopened. The chain calls run outside the queue's turn
   * (enqueues and the tick go on meanwhile); only a change is written inside it, after re-reading the batch.
   * Confirmed batches are read page by page. Only the lease holder audits.
   */
  async audit(): Promise<number> {
    if (!(await this.lease.acquire())) return 0;
    let reopened = 0;
    let live: boolean | undefined;
    for await (const [, doc] of iterateStore(this.store, { prefix: "batch:" })) {
      const batch = doc as BatchDoc;
      if (batch.status !== "confirmed") continue;
      // One code check for all batches; then per batch the cheapest question first (block of the root, and
      // that block's hash); the full lookup of the event only when something differs.
      live ??= await this.options.registry.isLive();
      let onChain: ChainAnchor | undefined;
      if (live) {
        const [blockNumber] = (await this.options.registry.contract.anchoredAt(batch.root)) as [bigint, bigint];
        if (Number(blockNumber) === batch.anchor?.blockNumber && (await this.options.registry.provider.getBlock(Number(blockNumber)))?.hash === batch.anchor.blockHash) continue;
        onChain = blockNumber === 0n ? undefined : await this.options.registry.findAnchor(batch.root);
      }
      const changed = await this.serial(async () => {
        const current = (await this.store.get(`batch:${batch.batchId}`)) as BatchDoc | undefined;
        if (!current || current.status !== "confirmed") return false;
        if (onChain) {
          await this.confirm(current, onChain);
          return false;
        }
        await this.reopen(current);
        return true;
      });
      if (changed) reopened++;
    }
    return reopened;
  }

  private async reopen(batch: BatchDoc): Promise<void> {
    const records = await Promise.all(batch.receiptHashes.map((h) => this.get(h)));
    const { anchor: _gone, ...open } = batch;
    await this.store.batch([
      { type: "put", key: `batch:${batch.batchId}`, value: { ...open, status: "built", attempts: 0, lastError: "the chain no longer shows this root: re-anchoring" } },
      { type: "put", key: `open:${batch.batchId}`, value: { batchId: batch.batchId } },
      ...records.filter((r): r is AnchorRecord => !!r).map((r) => {
        const { anchor: _old, ...rest } = r;
        return { type: "put" as const, key: `record:${r.receiptHash}`, value: { ...rest, status: "batched" as const } };
      }),
    ]);
  }
}
