import { expect } from "chai";
import { getListFromStatusListJWT } from "@sd-jwt/jwt-status-list";
import { DataKey, IdentityIssuer, IdentityVault, jwkFromDidKey, PgDatabase, StatusListService, type DocumentStore } from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";
import { PG_URL, uniqueSchema } from "../helpers/pg.js";

const SIZE = 4096;

/**
 * Two issuer replicas on one database (issue 16): each serves the status list and publishes due changes. A
 * revocation scheduled on one must survive the other publishing at the same moment: the list is changed by an
 * atomic update, never read on one replica and written back over the other's change.
 */
describe("two issuer replicas on one PostgreSQL schema lose no revocation", function () {
  this.timeout(60_000);
  let a: PgDatabase;
  let b: PgDatabase;
  const issuer = newTestKey();
  let now = new Date("2026-11-22T10:00:00.000Z");
  // Replicas' clocks differ a little (here one slot): one sees a slot due that the other does not yet.
  const replica = (store: DocumentStore<never>, lagMs = 0) =>
    new StatusListService(store, { listId: "1", uri: () => "https://issuer.example/status-lists/1", issuer, size: SIZE, clock: () => new Date(now.getTime() - lagMs), schedule: { intervalSeconds: 5, spreadSlots: 6, maxDecoys: 3 } });

  before(async () => {
    const schema = uniqueSchema("status_replicas");
    a = await PgDatabase.open(PG_URL, { schema });
    b = await PgDatabase.open(PG_URL, { schema });
  });
  after(async () => {
    await a?.dropSchema();
    await a?.close();
    await b?.close();
  });

  it("revocations scheduled on both replicas, published by both at once, are all in the list both serve", async () => {
    const one = replica(a.store("status"));
    const two = replica(b.store("status"), 5_000);
    const mine = await Promise.all(Array.from({ length: 40 }, () => one.allocate()));
    const theirs = await Promise.all(Array.from({ length: 40 }, () => two.allocate()));
    // One revocation per credential (a correction each), so that every slot carries changes.
    for (const { idx } of mine) await one.schedule([idx], "revoked");
    for (const { idx } of theirs) await two.schedule([idx], "revoked");
    // Walk the schedule slot by slot; in every slot both replicas publish at the same moment.
    for (let slot = 0; slot < 20; slot++) {
      now = new Date(now.getTime() + 5_000);
      await Promise.all([one.publishDue(), two.publishDue(), one.publishDue(), two.publishDue()]);
    }
    for (const served of [await one.signedList(), await two.signedList()]) {
      const list = getListFromStatusListJWT(served);
      const lost = [...mine, ...theirs].filter(({ idx }) => list.getStatus(idx) !== 1);
      expect(lost, "revocations lost to a concurrent publication").to.deep.equal([]);
    }
  });

  it("immediate corrections on both replicas at once (setStatus) are all kept", async () => {
    const one = replica(a.store("corrections"));
    const two = replica(b.store("corrections"));
    const indexes = await Promise.all(Array.from({ length: 30 }, () => one.allocate()));
    await Promise.all(indexes.map(({ idx }, i) => (i % 2 ? one : two).setStatus([idx], "revoked")));
    const list = getListFromStatusListJWT(await two.signedList());
    expect(indexes.filter(({ idx }) => list.getStatus(idx) !== 1), "corrections lost").to.deep.equal([]);
  });

  it("issuances for one person on both replicas at once all record their status index, so revoking the person reaches every credential", async () => {
    const key = DataKey.ephemeral();
    const vct = () => "https://issuer.example/vct/realname-identity/v1";
    const side = (db: PgDatabase) => {
      const vault = new IdentityVault(db.store("vault"), key);
      const status = replica(db.store("issued-status"));
      return { vault, status, issuer: new IdentityIssuer({ issuer, vct, vault, status, validForSeconds: 86_400, clock: () => now }) };
    };
    const one = side(a);
    const two = side(b);
    const ref = await one.vault.put({ person: { idNumber: "110105199003071239", fullName: "张三", familyName: "张", givenName: "三", birthDate: "1990-03-07" }, evidence: { method: "registry+face", verifiedAt: now.toISOString(), assurance: "substantial" }, statusIndexes: [] });
    const holderKeys = () => [jwkFromDidKey(newTestKey().did), jwkFromDidKey(newTestKey().did)];
    const batches = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? one : two).issuer.issue(ref, holderKeys())));
    const issued = batches.flat().map((c) => JSON.parse(Buffer.from(c.split(".")[1]!, "base64url").toString()).status.status_list.idx as number);
    expect(issued).to.have.length(16);
    expect([...(await two.vault.get(ref))!.statusIndexes].sort(), "indexes the vault kept").to.deep.equal([...issued].sort());
  });
});
