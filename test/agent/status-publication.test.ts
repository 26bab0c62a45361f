import { expect } from "chai";
import { getListFromStatusListJWT } from "@sd-jwt/jwt-status-list";
import { DataKey, IdentityIssuer, IdentityVault, jwkFromDidKey, MemoryDocumentStore, StatusListService } from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";

const PERSON = { idNumber: "110105199003071239", fullName: "张三", familyName: "张", givenName: "三", birthDate: "1990-03-07" };
const OTHER = { idNumber: "310115198508154561", fullName: "李四", familyName: "李", givenName: "四", birthDate: "1985-08-15" };
const SIZE = 2048;

describe("status list publication: a person's revocation never shows as one version (issue 12 §3)", () => {
  let now: Date;
  const issuerKey = newTestKey();
  let versions: string[];
  let status: StatusListService;
  let identityIssuer: IdentityIssuer;
  let vault: IdentityVault;

  beforeEach(() => {
    now = new Date("2026-11-21T10:00:00.000Z");
    versions = [];
    vault = new IdentityVault(new MemoryDocumentStore(), DataKey.ephemeral());
    status = new StatusListService(new MemoryDocumentStore(), {
      listId: "1",
      uri: () => "https://issuer.example/status-lists/1",
      issuer: issuerKey,
      size: SIZE,
      clock: () => now,
      schedule: { intervalSeconds: 5, spreadSlots: 6, maxDecoys: 3 },
      onChange: async (jwt) => void versions.push(jwt),
    });
    identityIssuer = new IdentityIssuer({ issuer: issuerKey, vct: () => "https://issuer.example/vct/realname-identity/v1", vault, status, validForSeconds: 365 * 86_400, clock: () => now });
  });

  const statuses = (jwt: string) => {
    const list = getListFromStatusListJWT(jwt);
    return Array.from({ length: SIZE }, (_, i) => list.getStatus(i));
  };
  /** The indexes that changed between two consecutive signed versions. */
  const flips = (before: string, after: string) => {
    const a = statuses(before);
    const b = statuses(after);
    return a.flatMap((v, i) => (v !== b[i] ? [i] : []));
  };
  const idxOf = (credential: string) => JSON.parse(Buffer.from(credential.split(".")[1]!, "base64url").toString()).status.status_list.idx as number;

  async function person(n: number, who = PERSON) {
    const ref = await vault.put({ person: who, evidence: { method: "registry+face", verifiedAt: now.toISOString(), assurance: "substantial" }, statusIndexes: [] });
    const credentials = await identityIssuer.issue(ref, Array.from({ length: n }, () => jwkFromDidKey(newTestKey().did)));
    return { ref, indexes: credentials.map(idxOf) };
  }

  it("revoking 10 credentials of one person: 10 versions, one of theirs each plus decoys, all revoked within the stated bound", async () => {
    const { ref, indexes } = await person(10);
    const base = await status.signedList();
    const { revoked, effectiveBy } = await identityIssuer.revokeAll(ref);
    expect(revoked).to.equal(10);
    // The bound: 10 slots of 5 s (max(spreadSlots, N)) after the current slot.
    expect(new Date(effectiveBy!).getTime() - now.getTime()).to.be.at.most(55_000);
    // The issuer knows at once; the published list does not show anything yet in this slot.
    for (const idx of indexes) expect(await status.effectiveStatusOf(idx)).to.equal("revoked");
    expect(flips(base, await status.signedList())).to.deep.equal([]);

    const seen: number[][] = [];
    let previous = base;
    while (now.getTime() <= new Date(effectiveBy!).getTime()) {
      now = new Date(now.getTime() + 5_000);
      const before = versions.length;
      const jwt = await status.signedList();
      if (versions.length === before) continue;
      // Every slot that had changes is its own version (the list is re-signed once per version).
      const changed = flips(previous, jwt);
      seen.push(changed.filter((i) => indexes.includes(i)));
      expect(changed.length, "decoys with every version").to.be.greaterThan(changed.filter((i) => indexes.includes(i)).length);
      previous = jwt;
    }
    expect(seen.map((s) => s.length)).to.deep.equal(new Array(10).fill(1));
    const final = statuses(await status.signedList());
    for (const idx of indexes) expect(final[idx]).to.equal(1);
  });

  it("changes of several people due in one slot share its version; decoy indexes are never handed to a credential", async () => {
    const a = await person(2);
    const b = await person(2, OTHER);
    await identityIssuer.revokeAll(a.ref);
    await identityIssuer.revokeAll(b.ref);
    now = new Date(now.getTime() + 60_000);
    const published = await status.publishDue();
    // 4 changes into at most 12 slots, but all due now: at most one version per slot, at least 2 (one per person each).
    expect(published).to.be.within(2, 4);
    const final = statuses(await status.signedList());
    const revoked = final.flatMap((v, i) => (v === 1 ? [i] : []));
    for (const idx of [...a.indexes, ...b.indexes]) expect(revoked).to.include(idx);
    // Decoys are reserved: a new credential never gets an index that is already revoked.
    const fresh = await person(20);
    for (const idx of fresh.indexes) expect(final[idx]).to.equal(0);
  });

  it("a revoked credential cannot be scheduled back to valid, even before its revocation is published", async () => {
    const { indexes } = await person(1);
    await status.schedule(indexes, "revoked");
    try {
      await status.schedule(indexes, "valid");
      expect.fail("reinstated");
    } catch (error) {
      expect((error as { code: string }).code).to.equal("ERR_CONFLICT");
    }
  });
});
