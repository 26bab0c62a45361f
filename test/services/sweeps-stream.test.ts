import { expect } from "chai";
import { MemoryDocumentStore, SpentTokens, type ListOptions } from "@realname/agent";
import { sweepRetention } from "../../verifier-service/src/retention.js";
import type { StoredGrant } from "../../verifier-service/src/app.js";

/** Records the largest page a sweep asked for: a sweep that loads the whole store asks without a limit. */
class PagedOnly<T> extends MemoryDocumentStore<T> {
  largestPage = 0;
  override async list(options: ListOptions = {}) {
    if (options.limit === undefined) throw new Error("listed the whole store at once");
    const out = await super.list(options);
    this.largestPage = Math.max(this.largestPage, out.length);
    return out;
  }
}

describe("sweeps read their stores a page at a time (memory flat as history grows)", () => {
  it("the retention sweep pages through 1,200 grants and seals away exactly the expired claims", async () => {
    const grants = new PagedOnly<StoredGrant>();
    const now = new Date("2026-01-01T00:00:00Z");
    for (let i = 0; i < 1200; i++) {
      const expired = i % 3 === 0;
      await grants.put(`g${String(i).padStart(5, "0")}`, { grantId: `g${i}`, requestId: `r${i}`, level: "full", claims: {}, sealedClaims: "sealed", retentionUntil: new Date(now.getTime() + (expired ? -1 : 1) * 86_400_000).toISOString() } as StoredGrant);
    }
    expect(await sweepRetention(grants, now)).to.equal(400);
    expect(grants.largestPage).to.be.at.most(500);
    let sealed = 0;
    for (let i = 0; i < 1200; i++) if ((await grants.get(`g${String(i).padStart(5, "0")}`))!.sealedClaims) sealed++;
    expect(sealed).to.equal(800);
  });
  it("the spent-token sweep pages too and removes only expired entries", async () => {
    const store = new PagedOnly<{ expiresAt: number }>();
    const spent = new SpentTokens(store);
    for (let i = 0; i < 1100; i++) await spent.spend("scope", `jti-${String(i).padStart(16, "0")}`, i < 700 ? 100 : 10_000);
    expect(await spent.sweep(new Date(1000 * 1000))).to.equal(700);
    expect(store.largestPage).to.be.at.most(500);
  });
});
