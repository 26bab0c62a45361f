/**
 * The small store interface every role keeps its state behind (after Level/abstract-level): one shared
 * test suite (test/stores) runs against every backend, so LevelDB can be swapped for a bigger store.
 * Values are JSON documents; keys are strings whose lexicographic order is the listing order.
 */
export interface DocumentStore<T> {
  get(key: string): Promise<T | undefined>;
  put(key: string, value: T): Promise<void>;
  del(key: string): Promise<void>;
  /** Stores `value` only if `key` is absent; true when it was stored. Atomic. */
  putIfAbsent(key: string, value: T): Promise<boolean>;
  /** Removes `key` and returns what it held; of concurrent callers exactly one gets the value. Atomic. */
  take(key: string): Promise<T | undefined>;
  /**
   * Atomic read-modify-write (counters, attempt windows): `fn` gets the current value (undefined if absent)
   * and returns the next (undefined deletes it). Concurrent updates of one key run one after another, so no
   * update is lost. Resolves to what is stored afterwards.
   */
  update(key: string, fn: (current: T | undefined) => T | undefined): Promise<T | undefined>;
  /**
   * Entries in key order, optionally only those whose key starts with `prefix`, and only keys after `after`
   * (exclusive): pages of `limit` let a sweep walk a store of any size without holding it in memory.
   */
  list(options?: ListOptions): Promise<Array<[string, T]>>;
  /** Several puts and deletes applied all or nothing. */
  batch(ops: Array<{ type: "put"; key: string; value: T } | { type: "del"; key: string }>): Promise<void>;
}

export interface ListOptions {
  prefix?: string;
  limit?: number;
  after?: string;
}

/** A role's database: named stores, all on one backend (LevelDB embedded, or PostgreSQL for replicas). */
export interface StoreDatabase {
  store<T>(name: string): DocumentStore<T>;
  close(): Promise<void>;
  /**
   * Runs `work`, whose writes are acknowledged together: they may reach the disk unsynced while it runs, and one
   * sync makes all of them durable before this resolves (or rejects). A handler that writes several times before
   * it answers then waits for one sync, not one per write. Backends whose every write is durable anyway (each
   * PostgreSQL statement commits) just run `work`.
   */
  durably?<T>(work: () => Promise<T>): Promise<T>;
}

/** `db.durably(work)` where the backend has it, else `work()` (every write of such a backend is durable already). */
export function durably<T>(db: StoreDatabase, work: () => Promise<T>): Promise<T> {
  return db.durably ? db.durably(work) : work();
}

/** Walks a store page by page (in key order), so memory stays one page whatever the store's size. */
export async function* iterateStore<T>(store: DocumentStore<T>, options: { prefix?: string; pageSize?: number } = {}): AsyncGenerator<[string, T]> {
  const limit = options.pageSize ?? 500;
  let after: string | undefined;
  for (;;) {
    const page = await store.list({ prefix: options.prefix, limit, after });
    yield* page;
    if (page.length < limit) return;
    after = page[page.length - 1]![0];
  }
}

/** Serialises async critical sections per key, so get-then-write is atomic within the owning process. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
