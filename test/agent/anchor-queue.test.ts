import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnchorQueue, AnchorRegistryClient, devAccountKey, LevelDatabase, receiptHash, verifyMerkleInclusion, type Deployment } from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { startEmbeddedChain, type EmbeddedChain } from "../../scripts/lib/devnet.js";

describe("AnchorQueue on a real Hardhat chain and LevelDB", function () {
  this.timeout(120_000);
  let chain: EmbeddedChain;
  let deployment: Deployment;
  let registry: AnchorRegistryClient;
  let dir: string;
  let db: LevelDatabase;

  before(async () => {
    ({ chain, deployment } = await chainWithRegistry());
    registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deployment.address, privateKey: devAccountKey(4) });
  });
  after(async () => {
    registry.close();
    await chain.close();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "queue-"));
    db = await LevelDatabase.open(dir);
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const hashes = (n: number, tag: string) => Array.from({ length: n }, (_, i) => receiptHash(`${tag}-${i}-${Math.random()}`));

  it("batches by size, anchors each root once, and gives every receipt a proof to its on-chain root", async () => {
    const queue = new AnchorQueue({ store: db.store("q"), registry, maxBatchSize: 64, maxAgeMs: 60_000 });
    const all = hashes(150, "size");
    for (const h of all) await queue.enqueue(h);
    expect(await queue.backlog()).to.deep.equal({ pending: 150, unconfirmedBatches: 0 });
    await queue.flush();
    expect(await queue.backlog()).to.deep.equal({ pending: 0, unconfirmedBatches: 0 });
    const roots = new Map<string, number>();
    for (const h of all) {
      const r = (await queue.get(h))!;
      expect(r.status).to.equal("anchored");
      expect(verifyMerkleInclusion(r.root!, r.leaf, r.proof!)).to.equal(true);
      roots.set(r.root!, (roots.get(r.root!) ?? 0) + 1);
    }
    expect([...roots.values()].sort((a, b) => a - b)).to.deep.equal([22, 64, 64]);
    for (const [root, count] of roots) {
      const onChain = await registry.contract.anchorOf(root);
      expect(Number(onChain.leafCount)).to.equal(count);
    }
  });

  it("closes a batch on age when it is not full", async () => {
    const queue = new AnchorQueue({ store: db.store("q"), registry, maxBatchSize: 256, maxAgeMs: 200 });
    queue.start(50);
    const [h] = hashes(1, "age");
    await queue.enqueue(h!);
    const deadline = Date.now() + 10_000;
    while ((await queue.get(h!))!.status !== "anchored" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await queue.stop();
    expect((await queue.get(h!))!.status).to.equal("anchored");
  });

  it("is idempotent per receipt: enqueueing twice queues once", async () => {
    const queue = new AnchorQueue({ store: db.store("q"), registry });
    const [h] = hashes(1, "idem");
    const a = await queue.enqueue(h!);
    const b = await queue.enqueue(h!);
    expect(b.salt).to.equal(a.salt);
    expect((await queue.backlog()).pending).to.equal(1);
  });

  it("survives a restart between closing a batch and anchoring it, and never anchors a root twice", async () => {
    const down = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deployment.address, privateKey: devAccountKey(4) });
    down.provider.destroy(); // this client can no longer reach the chain: the "crash" happens before the transaction
    const first = new AnchorQueue({ store: db.store("q"), registry: down, maxBatchSize: 8 });
    const all = hashes(8, "restart");
    for (const h of all) await first.enqueue(h);
    await first.flush().catch(() => undefined);
    const batched = (await first.get(all[0]!))!;
    expect(batched.status).to.equal("batched");
    // Someone (a previous process) already sent this very root before dying: the chain has it.
    const sent = await registry.anchor(batched.root!, 8);
    // A new process over the same LevelDB reconciles with the chain instead of sending again.
    const second = new AnchorQueue({ store: db.store("q"), registry, maxBatchSize: 8 });
    await second.flush();
    for (const h of all) {
      const r = (await second.get(h))!;
      expect(r.status).to.equal("anchored");
      expect(r.anchor!.txHash).to.equal(sent.txHash);
    }
  });

  it("keeps accepting while the chain is down and anchors everything when it is back", async () => {
    const port = Number(new URL(chain.url).port);
    const queue = new AnchorQueue({ store: db.store("q"), registry, maxBatchSize: 4, maxAgeMs: 50 });
    await chain.close();
    const all = hashes(10, "down");
    for (const h of all) await queue.enqueue(h);
    await queue.flush().catch(() => undefined);
    expect((await queue.backlog()).unconfirmedBatches).to.be.greaterThan(0);
    chain = await startEmbeddedChain(port); // the same in-process network, served again
    await queue.flush();
    for (const h of all) expect((await queue.get(h))!.status).to.equal("anchored");
    expect(await queue.backlog()).to.deep.equal({ pending: 0, unconfirmedBatches: 0 });
  });
});
