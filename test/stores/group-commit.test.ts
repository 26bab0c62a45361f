import { expect } from "chai";
import { GroupCommit } from "@realname/agent";

describe("GroupCommit: concurrent writes share one synced write", () => {
  it("writes submitted in one turn go out together, and each caller resolves only after that write", async () => {
    const writes: number[][] = [];
    let finishWrite!: () => void;
    const commit = new GroupCommit<number>(async (ops) => {
      writes.push(ops);
      await new Promise<void>((resolve) => (finishWrite = resolve));
    });
    const resolved: number[] = [];
    const first = Array.from({ length: 20 }, (_, i) => commit.submit([i]).then(() => resolved.push(i)));
    await new Promise((r) => setImmediate(r));
    expect(writes).to.deep.equal([Array.from({ length: 20 }, (_, i) => i)]);
    // Arriving while the first write is in flight: they wait for the next one, not for a sync of their own.
    const second = [commit.submit([100]).then(() => resolved.push(100)), commit.submit([101]).then(() => resolved.push(101))];
    await new Promise((r) => setImmediate(r));
    expect(resolved).to.deep.equal([]);
    finishWrite();
    await Promise.all(first);
    await new Promise((r) => setImmediate(r));
    expect(writes).to.have.length(2);
    expect(writes[1]).to.deep.equal([100, 101]);
    expect(resolved).to.not.include(100);
    finishWrite();
    await Promise.all(second);
    expect(resolved).to.have.length(22);
  });
  it("one caller's failing operation fails only that caller", async () => {
    const commit = new GroupCommit<number>(async (ops) => {
      if (ops.includes(-1)) throw new Error("bad op");
    });
    const results = await Promise.allSettled([commit.submit([1]), commit.submit([-1]), commit.submit([2])]);
    expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
  });
});
