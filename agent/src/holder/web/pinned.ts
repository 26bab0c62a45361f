/**
 * What the person was shown, kept on the wallet's own server until they decide: a merchant's checked
 * request (or a login challenge) keyed by its hash. The form that answers names the hash; the answer is
 * built from the object kept here, so nothing is fetched again after the person has seen it. Bounded in
 * number (the oldest goes first) and in time (a review older than `ttlMs`, or past its own expiry, is gone).
 */
export class PinnedReviews<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();

  constructor(private readonly options: { max: number; ttlMs: number; clock: () => Date }) {}

  /** Keeps `value` under `key` until `ttlMs` from now or `notAfter`, whichever comes first. */
  pin(key: string, value: T, notAfter?: Date): void {
    const now = this.options.clock().getTime();
    this.sweep(now);
    this.entries.delete(key);
    while (this.entries.size >= this.options.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expiresAt: Math.min(now + this.options.ttlMs, notAfter?.getTime() ?? Infinity) });
  }

  /** The pinned value, if it is still there and not expired. */
  get(key: string): T | undefined {
    const now = this.options.clock().getTime();
    this.sweep(now);
    return this.entries.get(key)?.value;
  }

  /** Removes and returns it in one step (a review is answered once): two posts of the same form cannot both answer. */
  take(key: string): T | undefined {
    const value = this.get(key);
    this.entries.delete(key);
    return value;
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
