import { expect } from "chai";
import { MemoryDocumentStore, StatusListResolver, StatusListService } from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";

describe("StatusListResolver (verifier side of the Token Status List)", () => {
  const issuer = newTestKey();
  const uri = "http://127.0.0.1:9/status-lists/1";
  let now = new Date("2026-11-21T10:00:00Z");
  const service = new StatusListService(new MemoryDocumentStore(), { listId: "1", uri: () => uri, issuer, size: 1024, ttlSeconds: 60, clock: () => now });
  let fetches = 0;
  let body = async () => service.signedList();
  const fakeFetch = (async () => {
    fetches++;
    return new Response(await body(), { headers: { "content-type": "application/statuslist+jwt" } });
  }) as unknown as typeof fetch;
  const ref = (idx: number) => ({ status_list: { idx, uri } });

  it("valid, revoked and suspended entries; the list is cached within its ttl and refetched after", async () => {
    const resolver = new StatusListResolver({ allowLoopbackHttp: true, fetch: fakeFetch });
    await service.setStatus([5], "revoked");
    await service.setStatus([6], "suspended");
    expect(await resolver.check(ref(4), issuer.did, now)).to.deep.equal([]);
    expect((await resolver.check(ref(5), issuer.did, now))[0]!.code).to.equal("ERR_CREDENTIAL_REVOKED");
    expect((await resolver.check(ref(6), issuer.did, now))[0]!.code).to.equal("ERR_CREDENTIAL_SUSPENDED");
    expect(fetches).to.equal(1);
    await service.setStatus([4], "revoked");
    expect(await resolver.check(ref(4), issuer.did, now)).to.deep.equal([]); // still the cached list
    now = new Date(now.getTime() + 61_000);
    expect((await resolver.check(ref(4), issuer.did, now))[0]!.code).to.equal("ERR_CREDENTIAL_REVOKED");
    expect(fetches).to.equal(2);
  });
  it("answers waiting when the list falls due share one fetch (single flight); a failed fetch is not kept; `fresh` fetches for itself", async () => {
    const resolver = new StatusListResolver({ allowLoopbackHttp: true, fetch: fakeFetch });
    const before = fetches;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => resolver.check(ref(100 + i), issuer.did, now)));
    expect(answers.every((a) => a.length === 0)).to.equal(true);
    expect(fetches - before).to.equal(1);
    now = new Date(now.getTime() + 61_000); // the cached list is now due
    await Promise.all(Array.from({ length: 20 }, (_, i) => resolver.check(ref(100 + i), issuer.did, now)));
    expect(fetches - before).to.equal(2);
    await Promise.all([resolver.check(ref(1), issuer.did, now, { fresh: true }), resolver.check(ref(2), issuer.did, now, { fresh: true })]);
    expect(fetches - before).to.equal(4);
    let failing = true;
    const flaky = (async (...args: Parameters<typeof fetch>) => (failing ? Promise.reject(new Error("down")) : fakeFetch(...args))) as typeof fetch;
    const other = new StatusListResolver({ allowLoopbackHttp: true, fetch: flaky });
    const failed = await Promise.all([other.check(ref(1), issuer.did, now), other.check(ref(2), issuer.did, now)]);
    expect(failed.map((f) => f[0]!.code)).to.deep.equal(["ERR_STATUS_UNAVAILABLE", "ERR_STATUS_UNAVAILABLE"]);
    failing = false;
    expect(await other.check(ref(1), issuer.did, now)).to.deep.equal([]);
  });
  it("refuses an index outside the list, a malformed reference, a list signed by someone else, an oversized answer", async () => {
    const resolver = new StatusListResolver({ allowLoopbackHttp: true, fetch: fakeFetch, maxBytes: 100_000 });
    expect((await resolver.check(ref(5000), issuer.did, now))[0]!.code).to.equal("ERR_STATUS_INDEX_OUT_OF_RANGE");
    expect((await resolver.check({ status_list: { idx: -1, uri } }, issuer.did, now))[0]!.code).to.equal("ERR_STATUS_MALFORMED");
    expect((await resolver.check(undefined, issuer.did, now))[0]!.code).to.equal("ERR_STATUS_MALFORMED");
    expect((await new StatusListResolver({ allowLoopbackHttp: true, fetch: fakeFetch }).check(ref(1), newTestKey().did, now))[0]!.code).to.equal("ERR_STATUS_UNAVAILABLE");
    body = async () => "x".repeat(200_000);
    expect((await new StatusListResolver({ allowLoopbackHttp: true, fetch: fakeFetch, maxBytes: 100_000 }).check(ref(1), issuer.did, now))[0]!.code).to.equal("ERR_STATUS_UNAVAILABLE");
    const down = (async () => {
      throw new Error("connection refused");
    }) as unknown as typeof fetch;
    expect((await new StatusListResolver({ allowLoopbackHttp: true, fetch: down }).check(ref(1), issuer.did, now))[0]!.code).to.equal("ERR_STATUS_UNAVAILABLE");
    expect((await new StatusListResolver({ allowLoopbackHttp: true, fetch: fakeFetch }).check({ status_list: { idx: 1, uri: "http://evil.example/list" } }, issuer.did, now))[0]!.code).to.equal("ERR_STATUS_UNAVAILABLE");
  });
});
