import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { confirmRegistration, jwkFromDidKey, submitRegistration, type CaptureDevice } from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { newTestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";
import { startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";
import { makeRegistryFixture, REAL_FACES_DIR, type RegistryFixture } from "../../scripts/lib/registry-fixture.js";
import { liveCaptureOf } from "../../scripts/lib/live-capture.js";

const ADMIN = "face-first-admin";

/**
 * Seed 002 against the real issuer process and the real face model: risk and trust detection first; a trusted
 * device may have the identity found from the face among the registry's photos (1:N) and only confirm it
 * masked; an untrusted one, or a face that finds no single candidate, is told to type the identity items
 * (ERR_IDENTITY_ITEMS_REQUIRED) and the typed path's 1:1 check follows. Nothing is stored on a refusal.
 */
describe("issuer: face-first registration, 1:N over the registry's photos, typed fallback (seed 002)", function () {
  this.timeout(240_000);
  let chain: EmbeddedChain;
  let issuer: ServiceProcess;
  let work: string;
  let fixture: RegistryFixture;
  let seq = 0;
  const admin = (path: string, body?: unknown, method = "POST") => call(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN}` } });
  const person = (i: number) => fixture.people[i]!;
  const typed = async (i: number) => ({ fullName: person(i).fullName, idNumber: person(i).idNumber, portrait: await fixture.livePortrait(i) });
  const faceOnly = async (i: number) => ({ portrait: await fixture.livePortrait(i) });
  const failure = async (p: Promise<unknown>) => p.then(() => ({ code: "accepted" }) as { code: string; details?: any }, (e) => e as { code: string; details?: any });
  const riskLog = async () => (await admin("/admin/risk-log", undefined, "GET")).body as any[];
  async function newDevice(): Promise<CaptureDevice> {
    const key = newTestKey();
    const deviceId = `face-first-kiosk-${++seq}`;
    expect((await admin("/admin/devices", { deviceId, label: "kiosk", publicJwk: jwkFromDidKey(key.did) })).status).to.equal(201);
    return { deviceId, signer: key.signer };
  }
  /** A device that has two successful typed registrations behind it (TRUST_MIN_DEVICE_SUCCESSES=2 below). */
  async function trustedDevice(people: [number, number]): Promise<CaptureDevice> {
    const d = await newDevice();
    for (const i of people) {
      const submitted = await submitRegistration(issuer.url, d, await typed(i));
      expect(submitted.identifiedBy).to.equal("typed-details");
      await confirmRegistration(issuer.url, submitted.registrationId, true);
    }
    return d;
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "face-first-"));
    // 20 people over 20 distinct real faces (a01..a20): the faces a21, a22 and m01 are in no registry record.
    fixture = await makeRegistryFixture({ count: 20, outDir: join(work, "registry"), seed: 2002, poolSize: 20 });
    const c = await chainWithRegistry();
    chain = c.chain;
    issuer = await startService("issuer-service", {
      DATA_DIR: join(work, "issuer"),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ISSUER_PASSPHRASE: "face-first-test",
      ISSUER_DATA_KEY: "44".repeat(32),
      ADMIN_TOKEN: ADMIN,
      ANCHOR_DEV_ACCOUNT: "2",
      IDENTITY_REGISTRY_FILE: fixture.file,
      RISK_MAX_PER_ADDRESS: "1000",
      RISK_MAX_PER_DEVICE: "1000",
      TRUST_MIN_DEVICE_SUCCESSES: "2",
    });
  });
  after(async () => {
    await issuer?.stop();
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("a new device is not trusted: face-first is declined (422 ERR_IDENTITY_ITEMS_REQUIRED, UNTRUSTED), logged, nothing pending; typing the items works", async () => {
    const d = await newDevice();
    const refused = await failure(submitRegistration(issuer.url, d, await faceOnly(3)));
    expect(refused.code).to.equal("ERR_IDENTITY_ITEMS_REQUIRED");
    expect(refused.details?.reason).to.equal("UNTRUSTED");
    const note = (await riskLog()).find((e) => e.rule === "face-first-declined" && e.deviceId === d.deviceId);
    expect(note, "the declined face-first attempt is in the risk log").to.not.equal(undefined);
    expect(note.personRef, "no person is known, none is logged").to.equal(undefined);
    const typedAnswer = await submitRegistration(issuer.url, d, await typed(3));
    expect(typedAnswer.identifiedBy).to.equal("typed-details");
    expect(typedAnswer.trust).to.equal("untrusted");
  });

  it("a trusted device: the face finds the person among the registry's photos; the person confirms the masked identity and the evidence says face-1:N", async () => {
    const d = await trustedDevice([0, 1]);
    const found = await submitRegistration(issuer.url, d, await faceOnly(7));
    expect(found.identifiedBy).to.equal("face-1:N");
    expect(found.masked.idNumber).to.equal(`${person(7).idNumber.slice(0, 4)}**********${person(7).idNumber.slice(-4)}`);
    expect([...found.masked.name][0]).to.equal([...person(7).fullName][0]);
    const confirmed = await confirmRegistration(issuer.url, found.registrationId, true);
    expect(confirmed.credentialOffer).to.be.a("string");
    const { evidence } = (await admin("/admin/identities/evidence", { idNumber: person(7).idNumber })).body;
    expect(evidence.identifiedBy).to.equal("face-1:N");
    expect(evidence.identification.score).to.be.greaterThan(evidence.identification.runnerUp);
    expect(evidence.method).to.equal("registry+face");
  });

  it("a face that is in no registry record finds nobody: NOT_IDENTIFIED, the person types; nothing is confirmed for anyone", async () => {
    const d = await trustedDevice([2, 4]);
    const stranger = await liveCaptureOf(readFileSync(join(REAL_FACES_DIR, "a22.jpg")));
    const refused = await failure(submitRegistration(issuer.url, d, { portrait: stranger }));
    expect([refused.code, refused.details?.reason]).to.deep.equal(["ERR_IDENTITY_ITEMS_REQUIRED", "NOT_IDENTIFIED"]);
    const passed = (await riskLog()).filter((e) => e.rule === "identity-check-passed" && e.deviceId === d.deviceId);
    expect(passed, "only the two typed registrations that made the device trusted passed").to.have.length(2);
  });

  it("the registry's own photo sent face-first is still refused as a replay (the 1:1 check runs on the found person)", async () => {
    const d = await trustedDevice([5, 6]);
    const registryPhoto = readFileSync(join(fixture.file, "..", person(8).photo));
    expect((await failure(submitRegistration(issuer.url, d, { portrait: registryPhoto }))).code).to.equal("ERR_LIVENESS_REPLAY");
  });

  it("risk control about the person runs once the face found them: a blacklisted person is refused (ERR_RISK_REFUSED) face-first too", async () => {
    const d = await trustedDevice([9, 10]);
    expect((await admin("/admin/blacklist", { kind: "person", idNumber: person(11).idNumber, reason: "suspected fraud" })).status).to.equal(201);
    expect((await failure(submitRegistration(issuer.url, d, await faceOnly(11)))).code).to.equal("ERR_RISK_REFUSED");
    const refusal = (await riskLog()).find((e) => e.decision === "refuse" && e.rule === "blacklisted-person" && e.deviceId === d.deviceId);
    expect(refusal?.personRef, "the refusal names the found person by keyed reference").to.match(/^[A-Za-z0-9_-]{20,}$/);
    expect(JSON.stringify(await riskLog())).to.not.include(person(11).idNumber);
  });

  it("bad input: a name without an ID number (or the reverse) is refused at the edge with ERR_INVALID_INPUT, nothing counted", async () => {
    const d = await newDevice();
    const nameOnly = await failure(submitRegistration(issuer.url, d, { fullName: person(12).fullName, portrait: await fixture.livePortrait(12) }));
    const numberOnly = await failure(submitRegistration(issuer.url, d, { idNumber: person(12).idNumber, portrait: await fixture.livePortrait(12) }));
    expect([nameOnly.code, numberOnly.code]).to.deep.equal(["ERR_INVALID_INPUT", "ERR_INVALID_INPUT"]);
    expect((await riskLog()).some((e) => e.deviceId === d.deviceId)).to.equal(false);
  });
});
