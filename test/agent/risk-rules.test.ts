import { expect } from "chai";
import { facePhotos, variant } from "../../bench/face-set.js";
import {
  AgentError,
  blacklistedDevice,
  blacklistedPerson,
  DEFAULT_RISK_LIMITS,
  flaggedDevice,
  MemoryDocumentStore,
  duplicateFaceByEmbedding,
  HumanFaceMatcher,
  RiskEngine,
  RiskState,
  tooManyPerAddress,
  tooManyPerDevice,
  tooManyPerPerson,
  type RiskContext,
  type RiskLogEntry,
  type RiskRule,
} from "@realname/agent";

const NOW = new Date("2026-11-21T10:00:00Z");
const ctx = (over: Partial<RiskContext> = {}): RiskContext => ({ deviceId: "dev-1", addressRef: "addr-1", personRef: "person-1", now: NOW, ...over });
const limits = { ...DEFAULT_RISK_LIMITS, perDevice: { max: 3, windowSeconds: 60 }, perAddress: { max: 3, windowSeconds: 60 }, perPerson: { max: 2, windowSeconds: 60 }, deviceFailures: { max: 2, windowSeconds: 600 } };
const freshState = () => new RiskState(new MemoryDocumentStore(), limits);

describe("Risk rules, each a unit with an accepting and a refusing case", () => {
  it("blacklisted person: passes a clean person, refuses a listed one", async () => {
    const s = freshState();
    expect(await blacklistedPerson.evaluate(ctx(), s)).to.equal(undefined);
    await s.blacklist("person", "person-1", "fraud", NOW);
    expect(await blacklistedPerson.evaluate(ctx(), s)).to.be.a("string");
    expect(await blacklistedPerson.evaluate(ctx({ personRef: "person-2" }), s)).to.equal(undefined);
  });
  it("blacklisted device: passes a clean device, refuses a listed one", async () => {
    const s = freshState();
    expect(await blacklistedDevice.evaluate(ctx(), s)).to.equal(undefined);
    await s.blacklist("device", "dev-1", "stolen", NOW);
    expect(await blacklistedDevice.evaluate(ctx(), s)).to.be.a("string");
  });
  const velocity: Array<[string, RiskRule, "device" | "address" | "person", (c: RiskContext) => string, number]> = [
    ["device", tooManyPerDevice, "device", (c) => c.deviceId, 3],
    ["address", tooManyPerAddress, "address", (c) => c.addressRef, 3],
    ["ID number", tooManyPerPerson, "person", (c) => c.personRef, 2],
  ];
  for (const [name, rule, kind, pick, max] of velocity) {
    it(`too many attempts per ${name}: ${max} in the window pass, one more is refused, the window slides`, async () => {
      const s = freshState();
      for (let i = 0; i < max; i++) await s.recordAttempt(kind, pick(ctx()), NOW, 3600);
      expect(await rule.evaluate(ctx(), s)).to.equal(undefined);
      await s.recordAttempt(kind, pick(ctx()), NOW, 3600);
      expect(await rule.evaluate(ctx(), s)).to.match(/attempts/);
      expect(await rule.evaluate(ctx({ now: new Date(NOW.getTime() + 61_000) }), s)).to.equal(undefined);
    });
  }
  it("duplicate face (the hook filled by real embeddings): the same person may resubmit, the same face re-captured for another number may not, another face at the same kiosk may", async () => {
    const matcher = new HumanFaceMatcher();
    const [a, b] = facePhotos().filter((p) => p.file === "a04.jpg" || p.file === "a10.jpg");
    const faceA = await matcher.embed(a!.bytes);
    const faceAagain = await matcher.embed(await variant(a!.bytes, "tilt+8"));
    const faceB = await matcher.embed(b!.bytes);
    const s = freshState();
    const check = duplicateFaceByEmbedding(matcher.threshold);
    await s.recordFace(faceA, "person-1");
    expect(await check(ctx({ faceEmbedding: faceAagain }), s)).to.equal(undefined);
    expect(await check(ctx({ personRef: "person-2", faceEmbedding: faceAagain }), s)).to.match(/other ID/);
    expect(await check(ctx({ personRef: "person-2", faceEmbedding: faceB }), s)).to.equal(undefined);
    // No embedding (a context without a face): nothing to compare.
    expect(await check(ctx({ personRef: "person-2" }), s)).to.equal(undefined);
  });
  it("duplicate face through the engine: a face is remembered only once its identity check passed", async () => {
    const s = freshState();
    const engine = new RiskEngine(s, new MemoryDocumentStore(), { duplicateFaceCheck: duplicateFaceByEmbedding(0.9) });
    const face = [1, 0, 0];
    await engine.assess(ctx({ faceEmbedding: face }));
    // A failed attempt (e.g. an impostor on person-1's number) does not lock this face for person-2.
    await engine.recordFailure(ctx({ faceEmbedding: face }), "face mismatch");
    await engine.assess(ctx({ personRef: "person-2", faceEmbedding: face, deviceId: "dev-2", addressRef: "addr-2" }));
    await engine.recordSuccess(ctx({ faceEmbedding: face }));
    const refused = await engine.assess(ctx({ personRef: "person-3", faceEmbedding: face, deviceId: "dev-3", addressRef: "addr-3" })).catch((e: AgentError) => e);
    expect((refused as AgentError).code).to.equal("ERR_RISK_REFUSED");
    expect((refused as AgentError).details).to.deep.equal({ riskClass: "duplicate-face" });
  });
  it("device flagged by earlier failures: below the threshold passes, at it refuses", async () => {
    const s = freshState();
    await s.recordDeviceFailure("dev-1", NOW);
    expect(await flaggedDevice.evaluate(ctx(), s)).to.equal(undefined);
    await s.recordDeviceFailure("dev-1", NOW);
    expect(await flaggedDevice.evaluate(ctx(), s)).to.match(/failed/);
  });
});

describe("RiskEngine", () => {
  it("counts every attempt, refuses with the rule's class only, and logs keyed references with the reason", async () => {
    const log = new MemoryDocumentStore<RiskLogEntry>();
    const engine = new RiskEngine(freshState(), log);
    await engine.assess(ctx());
    await engine.assess(ctx());
    try {
      await engine.assess(ctx());
      expect.fail("third attempt for the same person passed");
    } catch (error) {
      const e = error as { code: string; message: string; details: { riskClass: string } };
      expect(e.code).to.equal("ERR_RISK_REFUSED");
      expect(e.details).to.deep.equal({ riskClass: "velocity" });
      expect(e.message).to.not.match(/attempts|ID number|person-1/);
    }
    const entries = (await log.list()).map(([, e]) => e);
    expect(entries.map((e) => e.decision)).to.deep.equal(["allow", "allow", "refuse"]);
    expect(entries[2]).to.include({ rule: "too-many-per-id-number", riskClass: "velocity", personRef: "person-1" });
  });
  it("records identity failures against the device until it is flagged", async () => {
    const engine = new RiskEngine(freshState(), new MemoryDocumentStore());
    await engine.recordFailure(ctx(), "mismatch");
    await engine.recordFailure(ctx(), "mismatch");
    try {
      await engine.assess(ctx({ personRef: "someone-else" }));
      expect.fail("a flagged device passed");
    } catch (error) {
      expect((error as { details: { riskClass: string } }).details.riskClass).to.equal("device-reputation");
    }
  });
});

describe("risk windows decay, trust detection, the duplicate-face hook (issue 14)", () => {
  const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
  const refusedClass = async (p: Promise<unknown>) => {
    try {
      await p;
      return "passed";
    } catch (e) {
      return (e as { details?: { riskClass?: string } }).details?.riskClass ?? (e as Error).message;
    }
  };

  it("device failures decay: refused while they are in the window, accepted again once they slide out (no permanent refusal)", async () => {
    const engine = new RiskEngine(freshState(), new MemoryDocumentStore());
    await engine.recordFailure(ctx({ now: at(0) }), "mismatch");
    await engine.recordFailure(ctx({ now: at(100) }), "mismatch");
    expect(await refusedClass(engine.assess(ctx({ personRef: "p-a", now: at(200) })))).to.equal("device-reputation");
    // 600 s window: at 601 s the first failure has decayed out, one remains (limit 2).
    expect(await refusedClass(engine.assess(ctx({ personRef: "p-b", now: at(601) })))).to.equal("passed");
  });
  it("the admin's device reset clears the failures at once", async () => {
    const engine = new RiskEngine(freshState(), new MemoryDocumentStore());
    for (const t of [0, 1, 2]) await engine.recordFailure(ctx({ now: at(t) }), "mismatch");
    expect(await refusedClass(engine.assess(ctx({ personRef: "p-a", now: at(3) })))).to.equal("device-reputation");
    await engine.state.resetDevice("dev-1");
    expect(await refusedClass(engine.assess(ctx({ personRef: "p-b", now: at(4) })))).to.equal("passed");
  });
  it("a removed blacklist entry no longer refuses; removing one that is not there says so", async () => {
    const s = freshState();
    await s.blacklist("person", "person-1", "fraud", NOW);
    expect(await s.unblacklist("person", "person-1")).to.equal(true);
    expect(await blacklistedPerson.evaluate(ctx(), s)).to.equal(undefined);
    expect(await s.unblacklist("person", "person-1")).to.equal(false);
  });
  it("two customers at one kiosk with their own ID numbers and faces are both allowed (no same-portrait refusal)", async () => {
    const engine = new RiskEngine(freshState(), new MemoryDocumentStore(), { duplicateFaceCheck: duplicateFaceByEmbedding(0.9) });
    const first = ctx({ personRef: "first-customer", faceEmbedding: [1, 0, 0] });
    expect(await refusedClass(engine.assess(first))).to.equal("passed");
    await engine.recordSuccess(first);
    expect(await refusedClass(engine.assess(ctx({ personRef: "second-customer", faceEmbedding: [0, 1, 0] })))).to.equal("passed");
  });
  it("the duplicate-face hook, when the face matcher fills it, refuses with its own class and sees the embedding", async () => {
    const seen: Array<number[] | undefined> = [];
    const engine = new RiskEngine(freshState(), new MemoryDocumentStore(), { duplicateFaceCheck: async (c) => (seen.push(c.faceEmbedding), c.personRef === "impostor" ? "this face was verified under another ID number" : undefined) });
    const faceEmbedding = [0.6, 0.8];
    expect(await refusedClass(engine.assess(ctx({ personRef: "owner", faceEmbedding })))).to.equal("passed");
    expect(await refusedClass(engine.assess(ctx({ personRef: "impostor", faceEmbedding })))).to.equal("duplicate-face");
    expect(seen).to.deep.equal([faceEmbedding, faceEmbedding]);
  });
  it("trust detection: a new device and a new person are untrusted; a device with a clean history is trusted", async () => {
    const state = new RiskState(new MemoryDocumentStore(), { ...limits, perDevice: { max: 100, windowSeconds: 60 }, perAddress: { max: 100, windowSeconds: 60 }, perPerson: { max: 100, windowSeconds: 60 }, trust: { minDeviceSuccesses: 2, windowSeconds: 3600, minAccountAgeSeconds: 86_400 } });
    const engine = new RiskEngine(state, new MemoryDocumentStore());
    expect((await engine.assess(ctx({ personRef: "a" }))).trust).to.equal("untrusted");
    await engine.recordSuccess(ctx({ personRef: "a" }));
    await engine.recordSuccess(ctx({ personRef: "b" }));
    const known = await engine.assess(ctx({ personRef: "c", now: at(10) }));
    expect(known).to.deep.equal({ trust: "trusted", signals: { deviceSuccesses: 2, deviceFailures: 0, personSuccesses: 0, accountAgeSeconds: 0, regionAttempts: 0 } });
    // One recent failure on the device takes the trust away (until it decays).
    await engine.recordFailure(ctx({ now: at(11) }), "mismatch");
    expect((await engine.assess(ctx({ personRef: "c", now: at(12) }))).trust).to.equal("untrusted");
  });
  it("trust detection: a returning person is trusted on a new device once their account is old enough", async () => {
    const engine = new RiskEngine(freshState(), new MemoryDocumentStore());
    await engine.recordSuccess(ctx({ deviceId: "kiosk-a", personRef: "returning" }));
    expect((await engine.assess(ctx({ deviceId: "phone-b", personRef: "returning", now: at(3600) }))).trust).to.equal("untrusted");
    const later = await engine.assess(ctx({ deviceId: "phone-c", personRef: "returning", now: at(86_400) }));
    expect(later.trust).to.equal("trusted");
    expect(later.signals).to.include({ personSuccesses: 1, accountAgeSeconds: 86_400 });
  });
  it("trust detection: many requests from one region take the trust away, without refusing anyone", async () => {
    const state = new RiskState(new MemoryDocumentStore(), { ...limits, perDevice: { max: 100, windowSeconds: 60 }, perAddress: { max: 100, windowSeconds: 60 }, perRegion: { max: 2, windowSeconds: 60 }, trust: { minDeviceSuccesses: 0, windowSeconds: 3600, minAccountAgeSeconds: 0 } });
    const engine = new RiskEngine(state, new MemoryDocumentStore());
    const trusts = [];
    for (let i = 0; i < 3; i++) trusts.push((await engine.assess(ctx({ personRef: `p${i}`, regionRef: "region-110105" }))).trust);
    expect(trusts).to.deep.equal(["trusted", "trusted", "untrusted"]);
  });
  it("every decision, note and admin action is logged with keyed references only", async () => {
    const log = new MemoryDocumentStore<RiskLogEntry>();
    const engine = new RiskEngine(freshState(), log);
    await engine.assess(ctx());
    await engine.recordSuccess(ctx(), "record-ref");
    await engine.recordIssued({ personRef: "person-1", registryRecordRef: "record-ref", credentials: 10 }, NOW);
    await engine.recordDeviceRefusal({ deviceId: "dev-9", addressRef: "addr-1", code: "ERR_DEVICE_UNKNOWN", reason: "not registered" }, NOW);
    await engine.recordAdmin({ action: "device-reset", subjectRef: "dev-1", reason: "serviced" }, NOW);
    const entries = (await log.list()).map(([, e]) => e);
    expect(entries.map((e) => e.rule ?? e.action)).to.deep.equal([undefined, "identity-check-passed", "credential-issued", "device-refused", "device-reset"]);
    expect(entries[0]).to.include({ decision: "allow", trust: "untrusted" });
    expect(entries[2]).to.include({ personRef: "person-1", registryRecordRef: "record-ref", credentials: 10 });
    expect(entries[3]).to.include({ decision: "refuse", riskClass: "device-reputation", deviceId: "dev-9" });
    expect(entries[4]).to.include({ decision: "admin", subjectRef: "dev-1" });
    expect(JSON.stringify(entries)).to.not.match(/portrait/);
  });
});
