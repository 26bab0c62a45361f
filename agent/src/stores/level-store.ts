import { AgentError } from "../errors.js";
import { Level } from "level";
import { ensurePrivateDir, restrictTree } from "./private-files.js";
import { KeyedMutex, type DocumentStore } from "./document-store.js";

type Sub = ReturnType<Level<string, unknown>["sublevel"]>;

/**
 * One LevelDB database per role and data directory; each store is a sublevel of it. LevelDB locks its
 * folder, so one process owns it and the in-process mutex makes `take`/`putIfAbsent` atomic.
 */
export class LevelDatabase {
  readonly db: Level<string, unknown>;
  private constructor(readonly location: string) {
    this.db = new Level<string, unknown>(location, { valueEncoding: "json" });
  }

  static async open(location: string): Promise<LevelDatabase> {
    ensurePrivateDir(location);
    const database = new LevelDatabase(location);
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

  store<T>(name: string): DocumentStore<T> {
    let mutex = this.mutexes.get(name);
    if (!mutex) this.mutexes.set(name, (mutex = new KeyedMutex()));
    return new LevelDocumentStore<T>(this.db.sublevel<string, T>(name, { valueEncoding: "json" }) as unknown as Sub, mutex);
  }

  /** Puts and deletes across several stores of this database, applied all or nothing. */
  async atomic(ops: Array<{ store: string; type: "put"; key: string; value: unknown } | { store: string; type: "del"; key: string }>): Promise<void> {
    await this.db.batch(
      ops.map((op) => ({ ...op, sublevel: this.db.sublevel(op.store, { valueEncoding: "json" }) })) as never,
    );
  }

  /** Every entry of every store (sublevel), for backups. */
  async dump(): Promise<Array<{ store: string; key: string; value: unknown }>> {
    const out: Array<{ store: string; key: string; value: unknown }> = [];
    for await (const [rawKey, value] of this.db.iterator()) {
      const m = /^!([^!]+)!(.*)$/s.exec(rawKey as string);
      if (m) out.push({ store: m[1]!, key: m[2]!, value });
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
  ) {}

  async get(key: string): Promise<T | undefined> {
    return (await this.sub.get(key)) as T | undefined;
  }
  async put(key: string, value: T): Promise<void> {
    await this.sub.put(key, value);
  }
  async del(key: string): Promise<void> {
    await this.sub.del(key);
  }
  putIfAbsent(key: string, value: T): Promise<boolean> {
    return this.mutex.run(key, async () => {
      if ((await this.sub.get(key)) !== undefined) return false;
      await this.sub.put(key, value);
      return true;
    });
  }
  take(key: string): Promise<T | undefined> {
    return this.mutex.run(key, async () => {
      const value = (await this.sub.get(key)) as T | undefined;
      if (value !== undefined) await this.sub.del(key);
      return value;
    });
  }
  update(key: string, fn: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    return this.mutex.run(key, async () => {
      const next = fn((await this.sub.get(key)) as T | undefined);
      if (next === undefined) await this.sub.del(key);
      else await this.sub.put(key, next);
      return next;
    });
  }
  async list(options: { prefix?: string; limit?: number } = {}): Promise<Array<[string, T]>> {
    const range = options.prefix ? { gte: options.prefix, lt: options.prefix + "\uffff" } : {};
    const out: Array<[string, T]> = [];
    for await (const [key, value] of this.sub.iterator({ ...range, limit: options.limit ?? -1 })) {
      out.push([key as string, value as T]);
    }
    return out;
  }
  async batch(ops: Array<{ type: "put"; key: string; value: T } | { type: "del"; key: string }>): Promise<void> {
    await this.sub.batch(ops as never);
  }
}
