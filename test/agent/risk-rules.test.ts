import { expect } from "chai";
import {
  blacklistedDevice,
  blacklistedPerson,
  DEFAULT_RISK_LIMITS,
  flaggedDevice,
  MemoryDocumentStore,
  portraitReusedForAnotherPerson,
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
const ctx = (over: Partial<RiskContext> = {}): RiskContext => ({ deviceId: "dev-1", addressRef: "addr-1", personRef: "person-1", portraitHash: "0f0f0f0f0f0f0f0f", now: NOW, ...over });
const limits = { ...DEFAULT_RISK_LIMITS, perDevice: { max: 3, windowSeconds: 60 }, perAddress: { max: 3, windowSeconds: 60 }, perPerson: { max: 2, windowSeconds: 60 }, deviceFailuresBeforeFlag: 2 };
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
  it("same portrait for another ID number: the same person may resubmit, another may not, near-duplicates count", async () => {
    const s = freshState();
    await s.recordPortrait("0f0f0f0f0f0f0f0f", "person-1");
    expect(await portraitReusedForAnotherPerson.evaluate(ctx(), s)).to.equal(undefined);
    expect(await portraitReusedForAnotherPerson.evaluate(ctx({ personRef: "person-2" }), s)).to.match(/other ID/);
    expect(await portraitReusedForAnotherPerson.evaluate(ctx({ personRef: "person-2", portraitHash: "0f0f0f0f0f0f0f0e" }), s)).to.match(/other ID/);
    expect(await portraitReusedForAnotherPerson.evaluate(ctx({ personRef: "person-2", portraitHash: "f0f0f0f0f0f0f0f0" }), s)).to.equal(undefined);
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
