import { iterateStore, type DocumentStore } from "@realname/agent";
import type { StoredGrant } from "./core.js";

/**
 * Deletes identity data whose retention period has passed: the sealed claims of `full` grants go, the
 * receipts stay (they are the evidence and hold no claim values). Returns how many grants were swept.
 * Grants are read a page at a time, so memory stays flat however many grants history holds.
 */
export async function sweepRetention(grants: DocumentStore<StoredGrant>, now: Date): Promise<number> {
  let swept = 0;
  for await (const [key, grant] of iterateStore(grants)) {
    if (grant.sealedClaims && Date.parse(grant.retentionUntil) <= now.getTime()) {
      const { sealedClaims: _gone, ...rest } = grant;
      await grants.put(key, { ...rest, retentionExpiredAt: now.toISOString() });
      swept++;
    }
  }
  return swept;
}
