import { AsyncLocalStorage } from "node:async_hooks";
import { AgentError } from "../errors.js";
import { Level } from "level";
import { ensurePrivateDir, restrictTree } from "./private-files.js";
import { KeyedMutex, type DocumentStore, type ListOptions, type StoreDatabase } from "./document-store.js";
import { GroupCommit } from "./group-commit.js";

type Sub = ReturnType<Level<string, unknown>["sublevel"]>;
type WriteOp = { type: "put"; key: string; value: unknown; sublevel: Sub } | { type: "del"; key: string; sublevel: Sub };
type Commit = (ops: WriteOp[]) => Promise<void>;

export interface LevelOptions {
  /**
   * Write with `sync` (fsync/fdatasync of LevelDB's log before a write resolves): the default, so whatever
   * an answer acknowledges survives a power cut. `false` only for measuring what durability costs (bench).
   */
  sync?: boolean;
}

/**
 * One LevelDB database per role and data directory; each store is a sublevel of it. LevelDB locks its
 * folder, so one process owns it and the in-process mutex makes `take`/`putIfAbsent` atomic. Every write of
 * every store goes through one group commit: a synced `db.batch` shared by the writes waiting for it.
 */
export class LevelDatabase implements StoreDatabase {
  readonly db: Level<string, unknown>;
  private readonly commits: GroupCommit<WriteOp>;
  private readonly sublevels = new Map<string, Sub>();
  /** Set inside `durably`: that call's writes go unsynced, and its one synced write at the end covers them. */
  private readonly deferred = new AsyncLocalStorage<true>();

  private constructor(
    readonly location: string,
    readonly sync: boolean,
  ) {
    this.db = new Level<string, unknown>(location, { valueEncoding: "json" });
    this.commits = new GroupCommit<WriteOp>((ops) => this.db.batch(ops as never, { sync: this.sync }));
  }

  static async open(location: string, options: LevelOptions = {}): Promise<LevelDatabase> {
    ensurePrivateDir(location);
    const database = new LevelDatabase(location, options.sync ?? true);
    try {
      await database.db.open();
    } catch (error) {
      // Another process (a running `wallet serve`, a service) holds the folder: say so instead of a LEVEL_ code.
      if ((error as { cause?: { code?: string } })?.cause?.code === "LEVEL_LOCKED") throw new AgentError("ERR_STORE_IN_USE", `${location} is in use by another process (is \`wallet serve\` or a service running on it?)`, undefined, { cause: error });
      throw error;
    }
    // The files LevelDB just created (or an older folder's files) are made 0600; later ones follow the
    // umask, which the servers and CLIs set to 077 (privateUmask), while the 0700 folder shields them anyway.
    restrictTree(location);
    return database;
  }

  private readonly mutexes = new Map<string, KeyedMutex>();

  /** One sublevel object per store name, reused (opening one per operation cost ~73 µs each). */
  private sublevel(name: string): Sub {
    let sub = this.sublevels.get(name);
    if (!sub) this.sublevels.set(name, (sub = this.db.sublevel<string, unknown>(name, { valueEncoding: "json" }) as unknown as Sub));
    return sub;
  }

  store<T>(name: string): DocumentStore<T> {
    let mutex = this.mutexes.get(name);
    if (!mutex) this.mutexes.set(name, (mutex = new KeyedMutex()));
    return new LevelDocumentStore<T>(this.sublevel(name), mutex, (ops) => this.write(ops));
  }

  private write(ops: WriteOp[]): Promise<void> {
    // Applied at once either way (later reads and takes see it); only the wait for the disk is deferred.
    if (this.sync && this.deferred.getStore()) return this.db.batch(ops as never, { sync: false });
    return this.commits.submit(ops);
  }

  /**
   * See StoreDatabase.durably. LevelDB appends every write to one log in order, and a synced write flushes the
   * log up to itself: so `work`'s unsynced writes are on disk once the synced marker written after them is.
   */
  async durably<T>(work: () => Promise<T>): Promise<T> {
    if (!this.sync || this.deferred.getStore()) return work();
    try {
      return await this.deferred.run(true, work);
    } finally {
      await this.commits.submit([{ type: "put", key: "durable", value: 1, sublevel: this.sublevel("_sync") }]);
    }
  }

  /** Puts and deletes across several stores of this database, applied all or nothing (and synced). */
  async atomic(ops: Array<{ store: string; type: "put"; key: string; value: unknown } | { store: string; type: "del"; key: string }>): Promise<void> {
    await this.write(ops.map(({ store, ...op }) => ({ ...op, sublevel: this.sublevel(store) }) as WriteOp));
  }

  /** Every entry of every store (sublevel), for backups. */
  async dump(): Promise<Array<{ store: string; key: string; value: unknown }>> {
    const out: Array<{ store: string; key: string; value: unknown }> = [];
    for await (const [rawKey, value] of this.db.iterator()) {
      const m = /^!([^!]+)!(.*)$/s.exec(rawKey as string);
      if (m && m[1] !== "_sync") out.push({ store: m[1]!, key: m[2]!, value });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

export class LevelDocumentStore<T> implements DocumentStore<T> {
  constructor(
    private readonly sub: Sub,
    /** Shared by every handle on the same store, so two handles cannot interleave a take or an update. */
    private readonly mutex: KeyedMutex = new KeyedMutex(),
    /** Where writes go: the database's group commit (synced), or straight to the sublevel. */
    private readonly commit: Commit = (ops) => sub.batch(ops.map(({ sublevel: _s, ...op }) => op) as never),
  ) {}

  private write(op: { type: "put"; key: string; value: T } | { type: "del"; key: string }): Promise<void> {
    return this.commit([{ ...op, sublevel: this.sub }]);
  }

  async get(key: string): Promise<T | undefined> {
    return (await this.sub.get(key)) as T | undefined;
  }
  async put(key: string, value: T): Promise<void> {
    await this.write({ type: "put", key, value });
  }
  async del(key: string): Promise<void> {
    await this.write({ type: "del", key });
  }
  putIfAbsent(key: string, value: T): Promise<boolean> {
    return this.mutex.run(key, async () => {
      if ((await this.sub.get(key)) !== undefined) return false;
      await this.write({ type: "put", key, value });
      return true;
    });
  }
  take(key: string): Promise<T | undefined> {
    return this.mutex.run(key, async () => {
      const value = (await this.sub.get(key)) as T | undefined;
      if (value !== undefined) await this.write({ type: "del", key });
      return value;
    });
  }
  update(key: string, fn: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    return this.mutex.run(key, async () => {
      const next = fn((await this.sub.get(key)) as T | undefined);
      await this.write(next === undefined ? { type: "del", key } : { type: "put", key, value: next });
      return next;
    });
  }
  async list(options: ListOptions = {}): Promise<Array<[string, T]>> {
    const range: { gte?: string; gt?: string; lt?: string } = options.prefix ? { gte: options.prefix, lt: options.prefix + "\uffff" } : {};
    if (options.after !== undefined && (range.gte === undefined || options.after >= range.gte)) {
      delete range.gte;
      range.gt = options.after;
    }
    const out: Array<[string, T]> = [];
    for await (const [key, value] of this.sub.iterator({ ...range, limit: options.limit ?? -1 })) {
      out.push([key as string, value as T]);
    }
    return out;
  }
  async batch(ops: Array<{ type: "put"; key: string; value: T } | { type: "del"; key: string }>): Promise<void> {
    await this.commit(ops.map((op) => ({ ...op, sublevel: this.sub })));
  }
}
