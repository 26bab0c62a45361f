import { AgentError } from "../errors.js";
import { iterateStore, type DocumentStore } from "./document-store.js";

/**
 * Single-use identifiers (a JWT's `jti`) spent once, also under concurrency: `putIfAbsent` lets exactly one
 * of many simultaneous uses through. Each entry is kept only while the token it protects could still be
 * accepted (its freshness window), after which `sweep` removes it and the token is refused as stale anyway.
 */
export class SpentTokens {
  constructor(private readonly store: DocumentStore<{ expiresAt: number }>) {}

  /** Spends `jti` within `scope` (e.g. the signer's DID); ERR_REPLAYED if it was spent before. */
  async spend(scope: string, jti: unknown, expiresAt: number): Promise<void> {
    if (typeof jti !== "string" || jti.length < 16 || jti.length > 128) throw new AgentError("ERR_JTI_MISSING", "the token carries no single-use identifier (jti of 16 to 128 characters)");
    if (!(await this.store.putIfAbsent(`${scope}|${jti}`, { expiresAt }))) throw new AgentError("ERR_REPLAYED", "this token was used before; sign a new one");
  }

  /** Removes entries whose tokens have expired (seconds since the epoch); returns how many. */
  async sweep(now: Date): Promise<number> {
    const t = Math.floor(now.getTime() / 1000);
    let removed = 0;
    for await (const [key, value] of iterateStore(this.store)) {
      if (value.expiresAt <= t) {
        await this.store.del(key);
        removed++;
      }
    }
    return removed;
  }
}
