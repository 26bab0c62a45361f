import { expect } from "chai";
import { checkSignedRequest, DataKey, LEGAL_REQUEST_TYP, MemoryDocumentStore, PlatformTrace, signJws, signRequest, type TraceGrant } from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";

const grant = (hash: string, at: string): TraceGrant => ({
  kind: "grant",
  consentReceiptHash: hash,
  merchant: { did: "did:key:z6MkMerchant", name: "Shop" },
  level: "verified",
  claimNames: ["real_name_verified"],
  purpose: "test",
  grantedAt: at,
  reportedAt: at,
});

describe("PlatformTrace: sealed per person, escrow only inside the platform", () => {
  const stores = () => ({ personKeys: new MemoryDocumentStore<{ wrapped: string }>(), entries: new MemoryDocumentStore<{ sealed: string; at: string }>(), escrow: new MemoryDocumentStore<{ sealed: string }>() });

  it("keeps each person's entries apart, oldest first, and merges a second report of the same consent", async () => {
    const trace = new PlatformTrace(stores(), DataKey.ephemeral());
    await trace.recordGrant("alice", grant("a".repeat(64), "2026-01-02T00:00:00Z"));
    await trace.recordGrant("alice", grant("b".repeat(64), "2026-01-01T00:00:00Z"));
    await trace.recordGrant("bob", grant("c".repeat(64), "2026-01-01T00:00:00Z"));
    await trace.recordGrant("alice", { ...grant("a".repeat(64), "2026-01-02T00:00:00Z"), anchors: { consent: { root: "0x01", status: "anchored", blockNumber: 7 } } });
    const alice = await trace.trace("alice");
    expect(alice.map((e) => (e as TraceGrant).consentReceiptHash[0])).to.deep.equal(["b", "a"]);
    expect((alice[1] as TraceGrant).anchors?.consent?.blockNumber).to.equal(7);
    expect(await trace.trace("bob")).to.have.length(1);
    expect(await trace.trace("nobody")).to.deep.equal([]);
  });

  it("a sealed entry moved to another person's key does not open (bound to its place), nor under another platform key", async () => {
    const s = stores();
    const key = DataKey.ephemeral();
    const trace = new PlatformTrace(s, key);
    await trace.recordGrant("alice", grant("a".repeat(64), "2026-01-01T00:00:00Z"));
    await trace.recordGrant("bob", grant("b".repeat(64), "2026-01-01T00:00:00Z"));
    const [[aliceKey, aliceRow], [bobKey, bobRow]] = await s.entries.list();
    await s.entries.put(aliceKey!, bobRow!);
    await s.entries.put(bobKey!, aliceRow!);
    const codes = await Promise.all(["alice", "bob"].map((p) => trace.trace(p).then(() => "opened", (e) => e.code)));
    expect(codes).to.deep.equal(["ERR_SEALED_DATA_CORRUPT", "ERR_SEALED_DATA_CORRUPT"]);
    const stranger = new PlatformTrace(s, DataKey.ephemeral());
    expect(await stranger.personBehind({ receiptHash: "a".repeat(64) })).to.equal(undefined);
  });

  it("the escrow answers the person behind a receipt or a merchant's grant id, and nothing else", async () => {
    const trace = new PlatformTrace(stores(), DataKey.ephemeral());
    await trace.recordGrant("alice", { ...grant("a".repeat(64), "2026-01-01T00:00:00Z"), grantReceiptHash: "d".repeat(64), merchantGrantId: "g-1" });
    expect(await trace.personBehind({ receiptHash: "a".repeat(64) })).to.equal("alice");
    expect(await trace.personBehind({ receiptHash: "D".repeat(64) })).to.equal("alice");
    expect(await trace.personBehind({ merchantDid: "did:key:z6MkMerchant", grantId: "g-1" })).to.equal("alice");
    expect(await trace.personBehind({ merchantDid: "did:key:z6MkOther", grantId: "g-1" })).to.equal(undefined);
    expect(await trace.personBehind({ receiptHash: "e".repeat(64) })).to.equal(undefined);
  });
});

describe("signed requests to the platform (a person's own trace, a notary's legal request)", () => {
  const notary = newTestKey();
  const now = new Date("2026-11-22T04:00:00Z");
  const check = (jwt: unknown, at = now) => {
    try {
      checkSignedRequest(jwt, { typ: LEGAL_REQUEST_TYP, audience: "did:key:platform", now: at, codePrefix: "ERR_LEGAL_REQUEST" });
      return "accepted";
    } catch (e) {
      return (e as { code: string }).code;
    }
  };

  it("accepts a fresh request for this audience signed by its own did:key", async () => {
    expect(check(await signRequest(LEGAL_REQUEST_TYP, notary, "did:key:platform", {}, now))).to.equal("accepted");
  });
  it("refuses each bent envelope with its code", async () => {
    const iat = Math.floor(now.getTime() / 1000);
    const header = { typ: LEGAL_REQUEST_TYP, alg: "EdDSA" };
    const cases: Array<[string, unknown]> = [
      ["ERR_LEGAL_REQUEST_UNSIGNED", undefined],
      ["ERR_LEGAL_REQUEST_UNSIGNED", "a.b.c"],
      ["ERR_LEGAL_REQUEST_UNSIGNED", await signJws({ ...header, typ: "JWT" }, { iss: notary.did, aud: "did:key:platform", iat, exp: iat + 60, jti: "j".repeat(22) }, notary.signer)],
      ["ERR_LEGAL_REQUEST_UNSIGNED", await signJws(header, { iss: newTestKey().did, aud: "did:key:platform", iat, exp: iat + 60, jti: "j".repeat(22) }, notary.signer)],
      ["ERR_LEGAL_REQUEST_AUDIENCE", await signRequest(LEGAL_REQUEST_TYP, notary, "did:key:other", {}, now)],
      ["ERR_LEGAL_REQUEST_EXPIRED", await signJws(header, { iss: notary.did, aud: "did:key:platform", iat, jti: "j".repeat(22) }, notary.signer)],
      ["ERR_LEGAL_REQUEST_EXPIRED", await signRequest(LEGAL_REQUEST_TYP, notary, "did:key:platform", {}, new Date(now.getTime() + 5 * 60_000))],
      ["ERR_LEGAL_REQUEST_EXPIRED", await signRequest(LEGAL_REQUEST_TYP, notary, "did:key:platform", {}, now, 301)],
      ["ERR_LEGAL_REQUEST_MALFORMED", await signJws(header, { iss: notary.did, aud: "did:key:platform", iat, exp: iat + 60, jti: "short" }, notary.signer)],
    ];
    for (const [code, jwt] of cases) expect(check(jwt), code).to.equal(code);
    // Expired once exp has passed, however it was signed.
    expect(check(await signRequest(LEGAL_REQUEST_TYP, notary, "did:key:platform", {}, now, 60), new Date(now.getTime() + 61_000))).to.equal("ERR_LEGAL_REQUEST_EXPIRED");
  });
});
