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
  /** Entries in key order, optionally only those whose key starts with `prefix`. */
  list(options?: { prefix?: string; limit?: number }): Promise<Array<[string, T]>>;
  /** Several puts and deletes applied all or nothing. */
  batch(ops: Array<{ type: "put"; key: string; value: T } | { type: "del"; key: string }>): Promise<void>;
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
