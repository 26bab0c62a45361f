import { expect } from "chai";
import type { AddressInfo } from "node:net";
import { AnchorQueue, createServiceApp, errorHandler, MemoryDocumentStore, receiptHash, type AnchorRegistryClient } from "@realname/agent";
import { startStack, type Stack } from "../../drill/stack.js";
import { attackDrill, faultDrill, linkabilityDrill, loadDrill, privacyScan, singleUseDrill, walletTrustDrill } from "../../drill/drills.js";

describe("Drills (short form of `npm run drill`)", function () {
  this.timeout(300_000);
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.stop();
  });

  it("attacks: ≥50 malformed or malicious inputs at every endpoint and CLI, each refused with a code, no 500, no crash", async () => {
    const r = await attackDrill(stack);
    expect(r.cases).to.be.greaterThanOrEqual(50);
    expect(r.serverErrors).to.deep.equal([]);
    expect(r.accepted).to.deep.equal([]);
    expect(r.refusedWithCode).to.equal(r.cases);
    expect(r.servicesAlive).to.equal(true);
  });
  it("load: concurrent answers and their replays: zero errors, zero accepted replays, memory flat", async () => {
    const r = await loadDrill(stack, 40, 20);
    expect(r.errors).to.equal(0);
    expect(r.replaysAccepted).to.equal(0);
    expect(r.accepted).to.equal(r.answers);
    expect(r.rssSecondHalfMiB).to.be.at.most(r.rssFirstHalfMiB * 1.5 + 20);
  });
  it("faults: kill -9 of the verifier mid-load and the chain down then up: every acknowledged receipt anchored once", async () => {
    const r = await faultDrill(stack, 20);
    expect(r.acknowledged).to.be.greaterThan(0);
    expect(r.missing).to.equal(0);
    expect(r.anchoredOnce).to.equal(r.acknowledged);
    expect(r.degradedAnswersAccepted).to.be.greaterThan(0);
  });
  it("single use under concurrency and the bounded fetch: one success per double-spend, every hostile server refused with its code", async () => {
    const r = await singleUseDrill(stack, 8);
    for (const d of r.doubleSpends) expect(d, d.name).to.include({ succeeded: 1, refusedWithCode: d.attempts - 1 });
    for (const f of r.fetches) expect(f.got, f.name).to.equal(f.expected);
    expect(r.held).to.equal(true);
  });
  it("privacy: nothing on chain and nothing in the logs contains a claim value", async () => {
    const r = await privacyScan(stack);
    expect(r.transactionsScanned).to.be.greaterThan(0);
    expect(r.findings).to.deep.equal([]);
  });
  it("linkability: answers at one merchant share no plain field; a second wallet of the same person lands in the same account", async () => {
    const r = await linkabilityDrill(stack);
    expect(r.checks).to.be.greaterThan(10);
    expect(r.findings).to.deep.equal([]);
  });
  it("disk full: a storage failure is a 503 with a code, and nothing is acknowledged as queued", async () => {
    const full = Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    const app = createServiceApp();
    app.get("/write", () => {
      throw full;
    });
    app.use(errorHandler(() => undefined));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/write`);
      expect(res.status).to.equal(503);
      expect((await res.json()).error.code).to.equal("ERR_STORAGE_UNAVAILABLE");
    } finally {
      server.close();
    }
    const store = new MemoryDocumentStore<never>();
    store.batch = async () => {
      throw full;
    };
    const queue = new AnchorQueue({ store, registry: {} as AnchorRegistryClient });
    try {
      await queue.enqueue(receiptHash("x"));
      expect.fail("enqueue acknowledged a write that failed");
    } catch (error) {
      expect((error as { code: string }).code).to.equal("ENOSPC");
    }
    expect(await queue.get(receiptHash("x"))).to.equal(undefined);
  });
  it("the wallet as the target: a swapped request, stale consent forms, a look-alike login relay, fetches from a GET: each refused", async () => {
    const r = await walletTrustDrill(stack);
    expect(r.accepted).to.deep.equal([]);
    expect(r.serverErrors).to.deep.equal([]);
    expect(r.cases).to.be.greaterThanOrEqual(8);
    expect(r.refusedWithCode).to.equal(r.cases);
  });
});
