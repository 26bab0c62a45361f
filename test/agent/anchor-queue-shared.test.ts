import { expect } from "chai";
import { AnchorQueue, AnchorRegistryClient, devAccountKey, MemoryDocumentStore, PgAdvisoryLease, PgDatabase, receiptHash, type Deployment, type DocumentStore, type ListOptions } from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { PG_URL, uniqueSchema } from "../helpers/pg.js";
import type { EmbeddedChain } from "../../scripts/lib/devnet.js";

/** Counts which keys a queue reads, to show that its tick stays off the history of confirmed batches. */
class CountingStore<T> extends MemoryDocumentStore<T> {
  batchReads = 0;
  override async get(key: string) {
    if (key.startsWith("batch:")) this.batchReads++;
    return super.get(key);
  }
  override async list(options: ListOptions = {}) {
    const out = await super.list(options);
    this.batchReads += out.filter(([k]) => k.startsWith("batch:")).length;
    return out;
  }
}

describe("AnchorQueue shared by processes on PostgreSQL, and its cost as history grows", function () {
  this.timeout(120_000);
  let chain: EmbeddedChain;
  let deployment: Deployment;
  let registry: AnchorRegistryClient;
  before(async () => {
    ({ chain, deployment } = await chainWithRegistry());
    registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deployment.address, privateKey: devAccountKey(4) });
  });
  after(async () => {
    registry.close();
    await chain.close();
  });
  const hashes = (n: number, tag: string) => Array.from({ length: n }, (_, i) => receiptHash(`${tag}-${i}-${Math.random()}`));

  it("two queues on one schema: only the lease holder anchors; when it stops the other takes over; every receipt anchored once", async () => {
    const schema = uniqueSchema("queue");
    const [dbA, dbB] = [await PgDatabase.open(PG_URL, { schema }), await PgDatabase.open(PG_URL, { schema })];
    const changes: string[] = [];
    const a = new AnchorQueue({ store: dbA.store("q"), registry, maxBatchSize: 16, maxAgeMs: 60_000, lease: new PgAdvisoryLease(PG_URL, `${schema}:anchoring`), onLeaseChange: (held) => changes.push(`a:${held}`) });
    const b = new AnchorQueue({ store: dbB.store("q"), registry, maxBatchSize: 16, maxAgeMs: 60_000, lease: new PgAdvisoryLease(PG_URL, `${schema}:anchoring`), onLeaseChange: (held) => changes.push(`b:${held}`) });
    try {
      const first = hashes(20, "first");
      await Promise.all(first.map((h, i) => (i % 2 ? a : b).enqueue(h)));
      await a.flush();
      await b.flush(); // b does not hold the lease: it leaves the queue alone
      expect(changes).to.deep.equal(["a:true"]);
      for (const h of first) expect((await b.get(h))!.status).to.equal("anchored");
      const second = hashes(10, "second");
      for (const h of second) await b.enqueue(h);
      await a.stop(); // ends a's session: its lock is released
      await b.flush();
      expect(changes).to.deep.equal(["a:true", "b:true"]);
      const roots = new Set<string>();
      for (const h of [...first, ...second]) {
        const r = (await a.get(h))!;
        expect(r.status, h).to.equal("anchored");
        roots.add(r.root!);
      }
      for (const root of roots) expect(await registry.contract.queryFilter(registry.contract.filters.RootAnchored(root))).to.have.length(1);
      expect(await b.backlog()).to.deep.equal({ pending: 0, unconfirmedBatches: 0 });
    } finally {
      await b.stop();
      await dbA.dropSchema();
      await Promise.all([dbA.close(), dbB.close()]);
    }
  });

  it("a tick reads no confirmed batch: the work per tick does not grow with the history", async () => {
    const store = new CountingStore();
    const queue = new AnchorQueue({ store: store as unknown as DocumentStore<never>, registry, maxBatchSize: 4, maxAgeMs: 60_000 });
    for (const h of hashes(40, "history")) await queue.enqueue(h);
    await queue.flush();
    expect((await store.list({ prefix: "batch:" })).length).to.equal(10);
    for (const h of hashes(2, "later")) await queue.enqueue(h);
    store.batchReads = 0;
    await queue.flush();
    // Only the one new batch is read back (to anchor it), not the ten confirmed before it.
    expect(store.batchReads).to.be.at.most(1);
    expect(await queue.backlog()).to.deep.equal({ pending: 0, unconfirmedBatches: 0 });
  });

  it("the audit's chain calls do not hold the queue: receipts are batched and anchored while it waits on the chain", async () => {
    let answerAudit!: () => void;
    const chainSlow = new Promise<void>((resolve) => (answerAudit = resolve));
    const anchor = { chainId: "31337", contract: "0x0", txHash: "0x1", blockNumber: 5, blockHash: "0xb", timestamp: 1 };
    const stub = {
      findAnchor: async () => undefined,
      anchorMany: async (batches: Array<{ root: string }>) => new Map(batches.map((b) => [b.root, anchor])),
      isLive: async () => (await chainSlow, true),
      contract: { anchoredAt: async () => [5n, 1n] },
      provider: { getBlock: async () => ({ hash: "0xb" }) },
    } as unknown as AnchorRegistryClient;
    const queue = new AnchorQueue({ store: new MemoryDocumentStore<never>(), registry: stub, maxBatchSize: 4, maxAgeMs: 60_000 });
    for (const h of hashes(4, "audited")) await queue.enqueue(h);
    await queue.flush();
    const auditing = queue.audit();
    const [later] = hashes(1, "during-audit");
    await queue.enqueue(later!);
    await queue.flush();
    expect((await queue.get(later!))!.status).to.equal("anchored");
    answerAudit();
    expect(await auditing).to.equal(0);
  });

  it("a folder written before the open-batch index: its unconfirmed batches are found and anchored", async () => {
    const store = new MemoryDocumentStore<never>();
    const old = new AnchorQueue({ store, registry: { findAnchor: async () => undefined, anchorMany: async () => { throw new Error("chain down"); } } as unknown as AnchorRegistryClient, maxBatchSize: 4, maxAgeMs: 60_000 });
    const hs = hashes(4, "legacy");
    for (const h of hs) await old.enqueue(h);
    await old.flush(); // batch built, anchoring failed: the batch stays open
    // What an older version left: the batch without its open marker, and no index marker.
    for (const [key] of await store.list({ prefix: "open:" })) await store.del(key);
    await store.del("meta:open-index");
    const queue = new AnchorQueue({ store, registry, maxBatchSize: 4, maxAgeMs: 60_000 });
    await queue.flush();
    for (const h of hs) expect((await queue.get(h))!.status).to.equal("anchored");
  });
});
