import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import {
  confirmRegistration,
  createNotaryConsoleApp,
  jwkFromDidKey,
  redeemCredentialOffer,
  REPO_ROOT,
  signIdentityAttestation,
  submitRegistration,
  type CaptureDevice,
} from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { newTestKey, type TestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";
import { startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";
import { makeRegistryFixture, type RegistryFixture } from "../../scripts/lib/registry-fixture.js";

const run = promisify(execFile);
const ADMIN = "registry-risk-admin";

/**
 * Issue 14 against the real issuer process: the registry is the generator's file (a small deterministic set),
 * risk windows and admin resets, seed 001's records, the notary's in-person upload, and bad input for every
 * new endpoint (a stable code, 4xx, nothing stored).
 */
describe("issuer: generated registry, risk windows and admin, notary uploads (issue 14)", function () {
  this.timeout(180_000);
  let chain: EmbeddedChain;
  let issuer: ServiceProcess;
  let work: string;
  let fixture: RegistryFixture;
  let seq = 0;
  const admin = (path: string, body?: unknown, method = "POST") => call(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN}` } });
  const person = (i: number) => fixture.people[i]!;
  const materials = async (i: number) => ({ fullName: person(i).fullName, idNumber: person(i).idNumber, portrait: await fixture.livePortrait(i) });
  const codeOf = async (p: Promise<unknown>) => p.then(() => "accepted", (e) => (e as { code: string }).code);
  async function newDevice(): Promise<CaptureDevice> {
    const key = newTestKey();
    const deviceId = `kiosk-${++seq}`;
    expect((await admin("/admin/devices", { deviceId, label: "kiosk", publicJwk: jwkFromDidKey(key.did) })).status).to.equal(201);
    return { deviceId, signer: key.signer };
  }
  const riskLog = async () => (await admin("/admin/risk-log", undefined, "GET")).body as any[];
  const evidenceOf = async (i: number) => admin("/admin/identities/evidence", { idNumber: person(i).idNumber });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "issuer-registry-"));
    // 40 people over 40 distinct faces: nobody in this set resembles another by construction.
    fixture = await makeRegistryFixture({ count: 40, outDir: join(work, "registry"), seed: 1414, poolSize: 40 });
    const c = await chainWithRegistry();
    chain = c.chain;
    issuer = await startService("issuer-service", {
      DATA_DIR: join(work, "issuer"),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ISSUER_PASSPHRASE: "registry-test",
      ISSUER_DATA_KEY: "33".repeat(32),
      ADMIN_TOKEN: ADMIN,
      ANCHOR_DEV_ACCOUNT: "2",
      IDENTITY_REGISTRY_FILE: fixture.file,
      RISK_MAX_PER_ADDRESS: "1000",
      RISK_MAX_DEVICE_FAILURES: "2",
      RISK_DEVICE_FAILURE_WINDOW_SECONDS: "3600",
    });
  });
  after(async () => {
    await issuer?.stop();
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  describe("registration against the configured registry (seed 001)", () => {
    it("a generated person registers; the issuance is recorded with the registry record's keyed reference in the vault and the risk log", async () => {
      const submitted = await submitRegistration(issuer.url, await newDevice(), await materials(0));
      const confirmed = await confirmRegistration(issuer.url, submitted.registrationId, true);
      const holder = newTestKey();
      const { credentials } = await redeemCredentialOffer({ offer: confirmed.credentialOffer!, keys: [{ did: holder.did, signer: holder.signer }] });
      expect(credentials).to.have.length(1);
      const evidence = (await evidenceOf(0)).body.evidence;
      expect(evidence.registryRecordRef).to.match(/^[A-Za-z0-9_-]{20,}$/);
      const log = await riskLog();
      const passed = log.find((e) => e.rule === "identity-check-passed");
      const issued = log.find((e) => e.rule === "credential-issued");
      expect(passed.registryRecordRef).to.equal(evidence.registryRecordRef);
      expect(issued).to.include({ registryRecordRef: evidence.registryRecordRef, credentials: 1, personRef: passed.personRef });
      // The record's own id (fixture-1414-0) and the person's data are not in the log.
      const text = JSON.stringify(log);
      for (const pii of [person(0).idNumber, person(0).fullName, person(0).recordId]) expect(text).to.not.include(pii);
    });
    it("two real customers at one kiosk both register", async () => {
      const kiosk = await newDevice();
      expect(await codeOf(submitRegistration(issuer.url, kiosk, await materials(1)))).to.equal("accepted");
      expect(await codeOf(submitRegistration(issuer.url, kiosk, await materials(2)))).to.equal("accepted");
    });
    it("an ID number with a bad check digit is refused at the edge with its problem code, nothing counted", async () => {
      const bad = person(3).idNumber.slice(0, 17) + (person(3).idNumber[17] === "0" ? "1" : "0");
      const r = await call(`${issuer.url}/admin/blacklist`, { body: { kind: "person", idNumber: bad, reason: "x" }, headers: { authorization: `Bearer ${ADMIN}` } });
      expect([r.status, r.body.error.code]).to.deep.equal([400, "ERR_INVALID_INPUT"]);
      expect(r.body.error.details.problems[0].problem).to.match(/^ID_CHECK_DIGIT/);
    });
    it("an unknown capture device is refused and the refusal is in the risk log", async () => {
      const ghost = { deviceId: `ghost-${randomUUID().slice(0, 8)}`, signer: newTestKey().signer };
      expect(await codeOf(submitRegistration(issuer.url, ghost, await materials(3)))).to.equal("ERR_DEVICE_UNKNOWN");
      expect((await riskLog()).some((e) => e.rule === "device-refused" && e.deviceId === ghost.deviceId && /^ERR_DEVICE_UNKNOWN/.test(e.reason))).to.equal(true);
    });
  });

  describe("risk windows and the admin", () => {
    it("a device refused after its failures is accepted again after the admin resets it; the reset is logged", async () => {
      const d = await newDevice();
      for (let i = 0; i < 2; i++) expect(await codeOf(submitRegistration(issuer.url, d, { ...(await materials(4)), fullName: `${person(4).fullName}${"x".repeat(i + 1)}` }))).to.equal("ERR_IDENTITY_NOT_CONFIRMED");
      expect(await codeOf(submitRegistration(issuer.url, d, await materials(4)))).to.equal("ERR_RISK_REFUSED");
      expect((await admin(`/admin/devices/${d.deviceId}/reset`, { reason: "kiosk serviced" })).status).to.equal(200);
      expect(await codeOf(submitRegistration(issuer.url, d, await materials(4)))).to.equal("accepted");
      expect((await riskLog()).some((e) => e.decision === "admin" && e.action === "device-reset" && e.subjectRef === d.deviceId)).to.equal(true);
    });
    it("a blacklisted person is refused until the admin removes the entry; both actions logged with the keyed reference only", async () => {
      const d = await newDevice();
      expect((await admin("/admin/blacklist", { kind: "person", idNumber: person(5).idNumber, reason: "suspected fraud" })).status).to.equal(201);
      expect(await codeOf(submitRegistration(issuer.url, d, await materials(5)))).to.equal("ERR_RISK_REFUSED");
      expect((await admin("/admin/blacklist/removal", { kind: "person", idNumber: person(5).idNumber, reason: "cleared" })).status).to.equal(200);
      expect(await codeOf(submitRegistration(issuer.url, d, await materials(5)))).to.equal("accepted");
      const actions = (await riskLog()).filter((e) => e.decision === "admin" && /^blacklist-/.test(e.action));
      expect(actions.map((e) => e.action)).to.include.members(["blacklist-add-person", "blacklist-remove-person"]);
      expect(JSON.stringify(actions)).to.not.include(person(5).idNumber);
    });
    describe("bad input to the new admin endpoints: a stable code, 4xx, nothing changed", () => {
      it("reset: unknown device 404, bad id 400, no reason 400, no token 401", async () => {
        const resets = async () => (await riskLog()).filter((e) => e.action === "device-reset").length;
        const before = await resets();
        expect((await admin("/admin/devices/nobody-here/reset", { reason: "x" })).body.error.code).to.equal("ERR_DEVICE_NOT_FOUND");
        expect((await admin("/admin/devices/a%20b/reset", { reason: "x" })).status).to.equal(400);
        const d = await newDevice();
        expect((await admin(`/admin/devices/${d.deviceId}/reset`, {})).body.error.code).to.equal("ERR_INVALID_INPUT");
        expect((await call(`${issuer.url}/admin/devices/${d.deviceId}/reset`, { body: { reason: "x" } })).status).to.equal(401);
        expect(await resets()).to.equal(before);
      });
      it("blacklist removal: no such entry 404, a device id with spaces 400, an unknown kind 400, no token 401", async () => {
        const r = await admin("/admin/blacklist/removal", { kind: "device", deviceId: "never-listed", reason: "x" });
        expect([r.status, r.body.error.code]).to.deep.equal([404, "ERR_BLACKLIST_ENTRY_NOT_FOUND"]);
        expect((await admin("/admin/blacklist/removal", { kind: "device", deviceId: "a b", reason: "x" })).status).to.equal(400);
        expect((await admin("/admin/blacklist/removal", { kind: "address", reason: "x" })).status).to.equal(400);
        expect((await call(`${issuer.url}/admin/blacklist/removal`, { body: { kind: "device", deviceId: "never-listed", reason: "x" } })).status).to.equal(401);
      });
    });
  });

  describe("a notary's in-person identity upload", () => {
    let notary: TestKey;
    let issuerDid: string;
    const upload = async (i: number, over: { person?: Record<string, unknown>; portrait?: Buffer; portraitForHash?: Buffer; by?: TestKey } = {}) => {
      const p = person(i);
      const portrait = over.portrait ?? (await fixture.livePortrait(i));
      const by = over.by ?? notary;
      const attestation = await signIdentityAttestation({ notaryDid: by.did, signer: by.signer, issuerDid, person: { idNumber: p.idNumber, fullName: p.fullName, familyName: p.familyName, givenName: p.givenName, birthDate: p.birthDate, ...over.person } as any, portrait: over.portraitForHash ?? portrait });
      return call(`${issuer.url}/attested-identities`, { body: { attestation, portrait: portrait.toString("base64") } });
    };
    before(async () => {
      notary = newTestKey();
      expect((await admin("/admin/notaries", { did: notary.did, name: "Notary Office No. 14" }, "PUT")).status).to.equal(201);
      issuerDid = (await call(`${issuer.url}/health`)).body.did;
    });

    it("an identity the registry knows, with a portrait matching its photo, is stored as notary-in-person with the registry record", async () => {
      const r = await upload(10);
      expect(r.status).to.equal(201);
      const evidence = (await evidenceOf(10)).body.evidence;
      expect(evidence).to.include({ method: "notary-in-person", attestedBy: notary.did });
      expect(evidence.registryRecordRef).to.be.a("string");
    });
    it("never replaces an identity verified by registry and face: 409 ERR_IDENTITY_CONFLICT, to review and the risk log", async () => {
      // person 0 registered by registry and face above
      const r = await upload(0);
      expect([r.status, r.body.error.code]).to.deep.equal([409, "ERR_IDENTITY_CONFLICT"]);
      expect((await evidenceOf(0)).body.evidence.method).to.equal("registry+face");
      const reviews = (await admin("/admin/reviews", undefined, "GET")).body as any[];
      expect(reviews.at(-1)).to.include({ kind: "conflict-with-verified-identity", attestedBy: notary.did });
      expect(JSON.stringify(reviews)).to.not.include(person(0).idNumber);
      expect((await riskLog()).some((e) => e.action === "attestation-conflict-with-verified-identity")).to.equal(true);
    });
    const refused: Array<[string, number, () => Promise<{ status: number; body: any }>, number, string]> = [
      ["a name the registry does not have", 11, () => upload(11, { person: { fullName: "王某某" } }), 422, "ERR_ATTESTATION_REGISTRY_MISMATCH"],
      ["a birth date the registry does not have", 12, () => upload(12, { person: { birthDate: "1901-01-01" } }), 422, "ERR_ATTESTATION_REGISTRY_MISMATCH"],
      ["someone else's portrait", 13, async () => upload(13, { portrait: await fixture.livePortrait(14) }), 422, "ERR_ATTESTATION_REGISTRY_MISMATCH"],
      ["a portrait the attestation does not cover", 15, async () => upload(15, { portraitForHash: await fixture.livePortrait(16) }), 400, "ERR_ATTESTATION_INVALID"],
      ["a PNG header over garbage", 17, () => upload(17, { portrait: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]) }), 422, "ERR_IMAGE_UNREADABLE"],
      ["a text file as the portrait", 18, () => upload(18, { portrait: Buffer.from("not an image") }), 400, "ERR_INVALID_INPUT"],
      ["an ID number with a bad check digit", 19, () => upload(19, { person: { idNumber: person(19).idNumber.slice(0, 17) + (person(19).idNumber[17] === "1" ? "2" : "1") } }), 400, "ERR_INVALID_INPUT"],
      ["a notary the issuer does not know", 20, () => upload(20, { by: newTestKey() }), 403, "ERR_FORBIDDEN"],
    ];
    for (const [name, i, send, status, code] of refused) {
      it(`refuses ${name} (${status} ${code}) and stores nothing`, async () => {
        const r = await send();
        expect([r.status, r.body.error.code]).to.deep.equal([status, code]);
        expect((await evidenceOf(i)).status).to.equal(404);
      });
    }
    it("refuses an upload without a portrait (400 ERR_INVALID_INPUT)", async () => {
      const p = person(21);
      const attestation = await signIdentityAttestation({ notaryDid: notary.did, signer: notary.signer, issuerDid, person: { idNumber: p.idNumber, fullName: p.fullName, familyName: p.familyName, givenName: p.givenName, birthDate: p.birthDate }, portrait: Buffer.from("x") });
      const r = await call(`${issuer.url}/attested-identities`, { body: { attestation } });
      expect([r.status, r.body.error.code]).to.deep.equal([400, "ERR_INVALID_INPUT"]);
      expect((await evidenceOf(21)).status).to.equal(404);
    });

    it("`notary attest` (the command line) uploads an identity with its portrait and prints the offer; a conflict exits with its code", async () => {
      const dir = join(work, "notary-cli");
      const cli = (...args: string[]) => run(process.execPath, [join(REPO_ROOT, "agent", "bin", "notary.js"), "--dir", dir, "--passphrase", "notary-pass", "--json", ...args], { env: { ...process.env, NO_COLOR: "1" } });
      const { did } = JSON.parse((await cli("init")).stdout.trim().split("\n").at(-1)!);
      expect((await admin("/admin/notaries", { did, name: "Notary CLI" }, "PUT")).status).to.equal(201);
      const portraitFile = join(work, "p22.jpg");
      writeFileSync(portraitFile, await fixture.livePortrait(22));
      const p = person(22);
      const ok = JSON.parse((await cli("attest", "--issuer", issuer.url, "--id-number", p.idNumber, "--full-name", p.fullName, "--family-name", p.familyName, "--given-name", p.givenName, "--portrait", portraitFile)).stdout.trim().split("\n").at(-1)!);
      expect(ok.attestedBy).to.equal(did);
      expect(ok.credentialOffer).to.match(/^openid-credential-offer:/);
      const p0 = person(0);
      const conflict = await cli("attest", "--issuer", issuer.url, "--id-number", p0.idNumber, "--full-name", p0.fullName, "--family-name", p0.familyName, "--given-name", p0.givenName, "--portrait", portraitFile).then(() => undefined, (e) => e as { code: number; stdout: string; stderr: string });
      expect(conflict).to.not.equal(undefined);
      expect(`${conflict!.stdout}${conflict!.stderr}`).to.include("ERR_IDENTITY_CONFLICT");
    });

    it("the notary console's /attest page uploads an identity and shows the offer; a conflict is shown in words with its code", async () => {
      const consoleNotary = newTestKey();
      expect((await admin("/admin/notaries", { did: consoleNotary.did, name: "Notary console" }, "PUT")).status).to.equal(201);
      const app = createNotaryConsoleApp({ rpcUrl: chain.url, trust: { contracts: [], issuers: [] } as any, attest: { issuerUrl: issuer.url, notaryDid: consoleNotary.did, signer: consoleNotary.signer } });
      const server = app.listen(0, "127.0.0.1");
      await new Promise((r) => server.once("listening", r));
      const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      try {
        const page = await fetch(`${origin}/attest`);
        expect(await page.text()).to.include('name="portrait"');
        const post = async (i: number) => {
          const p = person(i);
          const form = new FormData();
          for (const [k, v] of Object.entries({ idNumber: p.idNumber, fullName: p.fullName, familyName: p.familyName, givenName: p.givenName, birthDate: p.birthDate })) form.set(k, v);
          form.set("portrait", new Blob([new Uint8Array(await fixture.livePortrait(i))], { type: "image/jpeg" }), "portrait.jpg");
          const r = await fetch(`${origin}/attest`, { method: "POST", body: form, headers: { origin } });
          return { status: r.status, text: await r.text() };
        };
        const ok = await post(23);
        expect(ok.status).to.equal(201);
        expect(ok.text).to.include("data-credential-offer");
        expect((await evidenceOf(23)).body.evidence.attestedBy).to.equal(consoleNotary.did);
        const conflict = await post(0);
        expect(conflict.status).to.equal(409);
        expect(conflict.text).to.include('data-error-code="ERR_IDENTITY_CONFLICT"');
        const crossSite = await fetch(`${origin}/attest`, { method: "POST", body: new FormData(), headers: { origin: "https://evil.example" } });
        expect(crossSite.status).to.equal(403);
      } finally {
        await new Promise((r) => server.close(r));
      }
    });
  });
});
