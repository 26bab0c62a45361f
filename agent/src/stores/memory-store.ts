import { KeyedMutex, type DocumentStore, type ListOptions } from "./document-store.js";

/** In-memory backend: for tests of code that needs a store but not persistence, and as the reference. */
export class MemoryDocumentStore<T> implements DocumentStore<T> {
  private readonly map = new Map<string, string>();
  private readonly mutex = new KeyedMutex();

  async get(key: string): Promise<T | undefined> {
    const raw = this.map.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }
  async put(key: string, value: T): Promise<void> {
    this.map.set(key, JSON.stringify(value));
  }
  async del(key: string): Promise<void> {
    this.map.delete(key);
  }
  putIfAbsent(key: string, value: T): Promise<boolean> {
    return this.mutex.run(key, async () => {
      if (this.map.has(key)) return false;
      this.map.set(key, JSON.stringify(value));
      return true;
    });
  }
  take(key: string): Promise<T | undefined> {
    return this.mutex.run(key, async () => {
      const value = await this.get(key);
      this.map.delete(key);
      return value;
    });
  }
  update(key: string, fn: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    return this.mutex.run(key, async () => {
      const next = fn(await this.get(key));
      if (next === undefined) this.map.delete(key);
      else this.map.set(key, JSON.stringify(next));
      return next;
    });
  }
  async list(options: ListOptions = {}): Promise<Array<[string, T]>> {
    const keys = [...this.map.keys()].filter((k) => (!options.prefix || k.startsWith(options.prefix)) && (options.after === undefined || k > options.after)).sort();
    return keys.slice(0, options.limit ?? Infinity).map((k) => [k, JSON.parse(this.map.get(k)!) as T]);
  }
  async batch(ops: Array<{ type: "put"; key: string; value: T } | { type: "del"; key: string }>): Promise<void> {
    for (const op of ops) {
      if (op.type === "put") this.map.set(op.key, JSON.stringify(op.value));
      else this.map.delete(op.key);
    }
  }
}
