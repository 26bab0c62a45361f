import { expect } from "chai";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chmodIfPresent, ensurePrivateDir, iterateStore, LevelDatabase, MemoryDocumentStore, PgDatabase, writePrivateFile, type DocumentStore } from "@realname/agent";
import { PG_URL, uniqueSchema } from "../helpers/pg.js";

/** One suite, every backend (after abstract-level's shared tests). */
function documentStoreSuite(name: string, open: () => Promise<{ store: DocumentStore<{ n: number }>; close: () => Promise<void> }>) {
  describe(`DocumentStore contract: ${name}`, () => {
    let store: DocumentStore<{ n: number }>;
    let close: () => Promise<void>;
    beforeEach(async () => ({ store, close } = await open()));
    afterEach(() => close());

    it("gets what was put, undefined for what was not", async () => {
      await store.put("a", { n: 1 });
      expect(await store.get("a")).to.deep.equal({ n: 1 });
      expect(await store.get("missing")).to.equal(undefined);
    });
    it("deletes", async () => {
      await store.put("a", { n: 1 });
      await store.del("a");
      expect(await store.get("a")).to.equal(undefined);
    });
    it("lists in key order, by prefix, with a limit", async () => {
      for (const k of ["b:2", "a:1", "b:1", "c:1"]) await store.put(k, { n: k.length });
      expect((await store.list()).map(([k]) => k)).to.deep.equal(["a:1", "b:1", "b:2", "c:1"]);
      expect((await store.list({ prefix: "b:" })).map(([k]) => k)).to.deep.equal(["b:1", "b:2"]);
      expect((await store.list({ limit: 2 })).map(([k]) => k)).to.deep.equal(["a:1", "b:1"]);
    });
    it("putIfAbsent stores once; of concurrent callers exactly one wins", async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.putIfAbsent("k", { n: i })));
      expect(results.filter(Boolean)).to.have.length(1);
      expect(await store.putIfAbsent("k", { n: 99 })).to.equal(false);
    });
    it("take hands the value to exactly one of many concurrent callers (single-use nonces)", async () => {
      await store.put("nonce", { n: 7 });
      const results = await Promise.all(Array.from({ length: 20 }, () => store.take("nonce")));
      expect(results.filter((r) => r !== undefined)).to.deep.equal([{ n: 7 }]);
      expect(await store.get("nonce")).to.equal(undefined);
    });
    it("update is an atomic increment: 50 concurrent updates lose none", async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => store.update("counter", (c) => ({ n: (c?.n ?? 0) + 1 }))));
      expect(await store.get("counter")).to.deep.equal({ n: 50 });
      expect(results.map((r) => r!.n).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 1));
    });
    it("update returning undefined deletes; a take and updates of one key do not interleave", async () => {
      await store.put("k", { n: 1 });
      expect(await store.update("k", () => undefined)).to.equal(undefined);
      expect(await store.get("k")).to.equal(undefined);
      await store.put("k", { n: 0 });
      const [, , taken] = await Promise.all([store.update("k", (c) => c && { n: c.n + 1 }), store.update("k", (c) => c && { n: c.n + 1 }), store.take("k")]);
      expect(taken).to.deep.equal({ n: 2 });
      expect(await store.get("k")).to.equal(undefined);
    });
    it("lists after a key (exclusive), and iterateStore walks every page in order", async () => {
      for (let i = 0; i < 25; i++) await store.put(`p:${String(i).padStart(2, "0")}`, { n: i });
      await store.put("q:0", { n: 99 });
      expect((await store.list({ prefix: "p:", after: "p:20" })).map(([k]) => k)).to.deep.equal(["p:21", "p:22", "p:23", "p:24"]);
      expect((await store.list({ after: "p:23", limit: 2 })).map(([k]) => k)).to.deep.equal(["p:24", "q:0"]);
      const walked: number[] = [];
      for await (const [, v] of iterateStore(store, { prefix: "p:", pageSize: 4 })) walked.push(v.n);
      expect(walked).to.deep.equal(Array.from({ length: 25 }, (_, i) => i));
    });
    it("a batch's last operation on a key wins", async () => {
      await store.batch([
        { type: "put", key: "k", value: { n: 1 } },
        { type: "del", key: "k" },
        { type: "put", key: "j", value: { n: 1 } },
        { type: "put", key: "j", value: { n: 2 } },
      ]);
      expect(await store.get("k")).to.equal(undefined);
      expect(await store.get("j")).to.deep.equal({ n: 2 });
    });
    it("applies a batch of puts and deletes", async () => {
      await store.put("old", { n: 0 });
      await store.batch([
        { type: "put", key: "x", value: { n: 1 } },
        { type: "put", key: "y", value: { n: 2 } },
        { type: "del", key: "old" },
      ]);
      expect((await store.list()).map(([k]) => k)).to.deep.equal(["x", "y"]);
    });
  });
}

documentStoreSuite("memory", async () => ({ store: new MemoryDocumentStore<{ n: number }>(), close: async () => undefined }));
documentStoreSuite("LevelDB", async () => {
  const dir = mkdtempSync(join(tmpdir(), "store-test-"));
  const db = await LevelDatabase.open(dir);
  return {
    store: db.store<{ n: number }>("test"),
    close: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

documentStoreSuite("PostgreSQL", async () => {
  const db = await PgDatabase.open(PG_URL, { schema: uniqueSchema("store") });
  return {
    store: db.store<{ n: number }>("test"),
    close: async () => {
      await db.dropSchema();
      await db.close();
    },
  };
});

describe("PostgreSQL: two replicas (two pools) on one schema", () => {
  let a: PgDatabase;
  let b: PgDatabase;
  before(async () => {
    const schema = uniqueSchema("replicas");
    a = await PgDatabase.open(PG_URL, { schema });
    b = await PgDatabase.open(PG_URL, { schema });
  });
  after(async () => {
    await a.dropSchema();
    await a.close();
    await b.close();
  });
  it("a nonce taken concurrently from both is handed out once; putIfAbsent wins once; updates lose nothing", async () => {
    const sa = a.store<{ n: number }>("nonces");
    const sb = b.store<{ n: number }>("nonces");
    await sa.put("nonce", { n: 1 });
    const taken = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? sa : sb).take("nonce")));
    expect(taken.filter((t) => t !== undefined)).to.have.length(1);
    const spent = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? sa : sb).putIfAbsent("jti", { n: i })));
    expect(spent.filter(Boolean)).to.have.length(1);
    await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? sa : sb).update("count", (c) => ({ n: (c?.n ?? 0) + 1 }))));
    expect(await sa.get("count")).to.deep.equal({ n: 30 });
  });
  it("stores of one name are shared and stores of other names are not", async () => {
    await a.store<{ n: number }>("s1").put("k", { n: 1 });
    expect(await b.store<{ n: number }>("s1").get("k")).to.deep.equal({ n: 1 });
    expect(await b.store<{ n: number }>("s2").get("k")).to.equal(undefined);
  });
  it("a schema name that is not a plain identifier is refused (ERR_CONFIG), nothing created", async () => {
    const error = await PgDatabase.open(PG_URL, { schema: "x; DROP TABLE y" }).catch((e) => e);
    expect(error.code).to.equal("ERR_CONFIG");
  });
  it("an unreachable database is ERR_STORAGE_UNAVAILABLE", async () => {
    const error = await PgDatabase.open("postgres://127.0.0.1:1/test", { schema: uniqueSchema("gone") }).catch((e) => e);
    expect(error.code).to.equal("ERR_STORAGE_UNAVAILABLE");
  });
});

describe("LevelDB persistence", () => {
  it("keeps documents across close and reopen", async () => {
    const dir = mkdtempSync(join(tmpdir(), "store-test-"));
    let db = await LevelDatabase.open(dir);
    await db.store<{ n: number }>("s").put("k", { n: 5 });
    await db.close();
    db = await LevelDatabase.open(dir);
    expect(await db.store<{ n: number }>("s").get("k")).to.deep.equal({ n: 5 });
    expect(await db.store<{ n: number }>("other").get("k")).to.equal(undefined);
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("data folders are private whatever the umask", () => {
  it("a LevelDB folder (and its missing parents) is 0700 and its files 0600, with umask 022", async () => {
    const root = mkdtempSync(join(tmpdir(), "store-mode-"));
    const previous = process.umask(0o022);
    try {
      const dir = join(root, "parent", "db");
      const db = await LevelDatabase.open(dir);
      await db.store<{ n: number }>("s").put("k", { n: 1 });
      await db.close();
      expect(statSync(dir).mode & 0o777).to.equal(0o700);
      expect(statSync(join(root, "parent")).mode & 0o777).to.equal(0o700);
      // Reopening (as every service start does) makes whatever LevelDB wrote since private too.
      const again = await LevelDatabase.open(dir);
      await again.close();
      const files = readdirSync(dir);
      expect(files.length).to.be.greaterThan(0);
      for (const f of files) expect(statSync(join(dir, f)).mode & 0o777, f).to.equal(0o600);
    } finally {
      process.umask(previous);
      rmSync(root, { recursive: true, force: true });
    }
  });
  it("writePrivateFile is 0600 and ensurePrivateDir narrows an existing 0755 folder", () => {
    const root = mkdtempSync(join(tmpdir(), "store-mode-"));
    const previous = process.umask(0o022);
    try {
      const dir = join(root, "wide");
      mkdirSync(dir, { mode: 0o755 });
      ensurePrivateDir(dir);
      expect(statSync(dir).mode & 0o777).to.equal(0o700);
      const file = join(dir, "secret");
      writeFileSync(file, "x", { mode: 0o644 });
      writePrivateFile(file, "y");
      expect(statSync(file).mode & 0o777).to.equal(0o600);
    } finally {
      process.umask(previous);
      rmSync(root, { recursive: true, force: true });
    }
  });
  it("a table LevelDB compacted away between readdir and chmod is skipped, not a failure; other errors still throw", () => {
    const root = mkdtempSync(join(tmpdir(), "store-mode-"));
    try {
      // What restrictTree meets when a background compaction deletes 000030.ldb after it listed the folder.
      expect(() => chmodIfPresent(join(root, "000030.ldb"), 0o600)).to.not.throw();
      const file = join(root, "present");
      writeFileSync(file, "x", { mode: 0o644 });
      chmodIfPresent(file, 0o600);
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(() => chmodIfPresent(join(file, "below-a-file"), 0o600)).to.throw(/ENOTDIR/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
