import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { durably, LevelDatabase, MemoryDocumentStore, type StoreDatabase } from "@realname/agent";

/**
 * `durably` (one sync for a handler's several writes): the writes are applied at once (reads and takes see
 * them), an error still reaches the caller after the sync, nesting is one unit, and the backup dump does not
 * carry the sync marker. That the sync precedes the acknowledgement on disk is proven by the strace drill
 * (test/e2e/durability.test.ts), which runs the verifier's answers through it.
 */
describe("StoreDatabase.durably", () => {
  let dir: string;
  let db: LevelDatabase;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "durably-"));
    db = await LevelDatabase.open(dir);
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes inside are visible at once; a take inside spends the value for everyone", async () => {
    const s = db.store<{ n: number }>("s");
    await s.put("nonce", { n: 1 });
    const result = await durably(db, async () => {
      await s.put("a", { n: 2 });
      expect(await s.get("a")).to.deep.equal({ n: 2 });
      const [first, second] = await Promise.all([s.take("nonce"), s.take("nonce")]);
      return [first, second];
    });
    expect(result).to.deep.equal([{ n: 1 }, undefined]);
    expect(await s.get("nonce")).to.equal(undefined);
  });

  it("an error inside reaches the caller (after the sync); nesting is one unit; the dump leaves the marker out", async () => {
    const s = db.store<{ n: number }>("s");
    const error = await durably(db, async () => {
      await s.put("before-error", { n: 1 });
      await durably(db, async () => s.put("nested", { n: 2 }));
      throw new Error("boom");
    }).catch((e: Error) => e);
    expect(error).to.be.instanceOf(Error);
    expect(await s.get("before-error")).to.deep.equal({ n: 1 });
    expect(await s.get("nested")).to.deep.equal({ n: 2 });
    expect((await db.dump()).map((e) => e.store)).to.deep.equal(["s", "s"]);
  });

  it("a backend without it (memory, PostgreSQL) just runs the work", async () => {
    const memory: StoreDatabase = { store: () => new MemoryDocumentStore(), close: async () => undefined };
    expect(await durably(memory, async () => 42)).to.equal(42);
  });
});
