import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import sharp from "sharp";
import {
  AnchorRegistryClient,
  confirmRegistration,
  createIdentifier,
  createRoleAgent,
  DEVICE_PROOF_TYP,
  fromB64url,
  identifierSigner,
  jwkFromDidKey,
  LevelDatabase,
  receiptHash,
  redeemCredentialOffer,
  requestLivenessChallenge,
  REPO_ROOT,
  sha256Hex,
  signJws,
  submitRegistration,
  verifyMerkleInclusion,
  verifyTrustRegistry,
  type CaptureDevice,
  type RoleAgent,
} from "@realname/agent";
import { getListFromStatusListJWT } from "@sd-jwt/jwt-status-list";
import { chainWithRegistry } from "../helpers/chain.js";
import { newTestKey, type TestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";
import { startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";

const ADMIN = "issuer-test-admin-token";
const portrait = (name: string) => readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", name));
const ZHANG = { fullName: "张三", idNumber: "110105199003071239", portrait: portrait("zhang-san-live.jpg") };
const LI = { fullName: "李四", idNumber: "310115198508154561", portrait: portrait("li-si-live.jpg") };
const WANG = { fullName: "王小明", idNumber: "440305201206017897", portrait: portrait("wang-xiaoming-live.jpg") };

describe("Issuer service: registration platform, OpenID4VCI, status, registries", function () {
  this.timeout(180_000);
  let chain: EmbeddedChain;
  let deploymentFile: string;
  let deploymentAddress: string;
  let issuer: ServiceProcess;
  let work: string;
  let holderDb: LevelDatabase;
  let holder: RoleAgent;
  const devices: Record<string, TestKey> = {};
  let deviceSeq = 0;

  const env = () => ({
    DATA_DIR: join(work, "issuer"),
    CHAIN_RPC_URL: chain.url,
    DEPLOYMENT_FILE: deploymentFile,
    ISSUER_PASSPHRASE: "issuer-test",
    ISSUER_DATA_KEY: "22".repeat(32),
    ADMIN_TOKEN: ADMIN,
    ANCHOR_DEV_ACCOUNT: "2",
    ANCHOR_BATCH_AGE_MS: "200",
    RISK_MAX_PER_ADDRESS: "1000",
    RISK_MAX_PER_ID_NUMBER: "1000",
    STATUS_TTL_SECONDS: "120",
    STATUS_PUBLISH_INTERVAL_SECONDS: "0.2",
  });
  /** Status changes are published on a schedule: wait until the issuer's stated bound has passed (the list is then due). */
  const until = async (effectiveBy: string) => new Promise((r) => setTimeout(r, Math.max(0, new Date(effectiveBy).getTime() - Date.now()) + 50));
  const admin = (path: string, body?: unknown, method = "POST") => call(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN}` } });

  /** A freshly registered capture device (each test gets its own, so device-level rules do not interfere). */
  async function newDevice(): Promise<CaptureDevice & { key: TestKey }> {
    const key = newTestKey();
    const deviceId = `device-${++deviceSeq}`;
    devices[deviceId] = key;
    const r = await admin("/admin/devices", { deviceId, label: "test kiosk", publicJwk: jwkFromDidKey(key.did) });
    expect(r.status).to.equal(201);
    return { deviceId, signer: key.signer, key };
  }
  async function holderKeys(n: number) {
    const keys = [];
    for (let i = 0; i < n; i++) {
      const id = await createIdentifier(holder);
      keys.push({ did: id.did, signer: identifierSigner(holder, id) });
    }
    return keys;
  }
  const codeOf = async (p: Promise<unknown>) => {
    try {
      await p;
      return "accepted";
    } catch (error) {
      return (error as { code: string }).code;
    }
  };
  async function registerAndConfirm(person = ZHANG, device?: CaptureDevice) {
    const d = device ?? (await newDevice());
    const submitted = await submitRegistration(issuer.url, d, person);
    return confirmRegistration(issuer.url, submitted.registrationId, true);
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "issuer-test-"));
    const c = await chainWithRegistry();
    chain = c.chain;
    deploymentFile = c.deploymentFile;
    deploymentAddress = c.deployment.address;
    issuer = await startService("issuer-service", env());
    holderDb = await LevelDatabase.open(join(work, "holder"));
    holder = (await createRoleAgent(holderDb, "0000")).agent;
  });
  after(async () => {
    await holderDb?.close();
    await issuer?.stop();
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  describe("discovery", () => {
    it("publishes OpenID4VCI issuer and authorization server metadata, JWKS and the vct type metadata", async () => {
      const meta = (await call(`${issuer.url}/.well-known/openid-credential-issuer`)).body;
      expect(meta.credential_issuer).to.equal(issuer.url);
      expect(meta.credential_endpoint).to.equal(`${issuer.url}/credential`);
      expect(meta.nonce_endpoint).to.equal(`${issuer.url}/nonce`);
      expect(meta.batch_credential_issuance.batch_size).to.equal(10);
      const config = Object.values(meta.credential_configurations_supported)[0] as any;
      expect(config).to.include({ format: "dc+sd-jwt", vct: `${issuer.url}/vct/realname-identity/v1` });
      // Issue 13: proofs (holder keys) in EdDSA or ES256 for either configuration (EdDSA-signed, ES256-signed).
      expect(config.proof_types_supported.jwt.proof_signing_alg_values_supported).to.have.members(["EdDSA", "ES256"]);
      expect(Object.keys(meta.credential_configurations_supported)).to.deep.equal(["RealNameIdentity_dc_sd_jwt", "RealNameIdentity_dc_sd_jwt_es256"]);
      // Both configurations are the same type: the https vct URL serving its type metadata.
      expect(meta.credential_configurations_supported.RealNameIdentity_dc_sd_jwt_es256.vct).to.equal(`${issuer.url}/vct/realname-identity/v1`);
      const as = (await call(`${issuer.url}/.well-known/oauth-authorization-server`)).body;
      expect(as.token_endpoint).to.equal(`${issuer.url}/token`);
      expect((await call(`${issuer.url}/.well-known/jwks.json`)).body.keys[0]).to.include({ kty: "OKP", crv: "Ed25519" });
      const vct = (await call(config.vct)).body;
      expect(vct.vct).to.equal(config.vct);
      expect(vct.claims.map((c: any) => c.path[0])).to.include.members(["real_name_verified", "age_over_18", "id_number", "verification_commitment"]);
    });
  });

  describe("materials intake: every bad field, all listed at once", () => {
    it("lists every missing field (the name and ID number are optional together: face-first, seed 002)", async () => {
      const r = await call(`${issuer.url}/registrations`, { body: {} });
      expect(r.status).to.equal(400);
      expect(r.body.error.details.problems.map((p: any) => p.path).sort()).to.deep.equal(["deviceProof", "nonce", "portrait"]);
    });
    const good = () => ({ fullName: "张三", idNumber: ZHANG.idNumber, portrait: ZHANG.portrait.toString("base64"), nonce: "n".repeat(22), deviceProof: "x.y.z" });
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["empty name", { fullName: "" }, "fullName"],
      ["over-long name", { fullName: "张".repeat(65) }, "fullName"],
      ["ID number with a wrong check digit", { idNumber: "110105199003071238" }, "idNumber"],
      ["ID number of the wrong length", { idNumber: "1101051990030712" }, "idNumber"],
      ["ID number with an impossible date", { idNumber: "110105199002301235" }, "idNumber"],
      ["portrait not base64", { portrait: "***" }, "portrait"],
      ["portrait not an image", { portrait: Buffer.from("hello world").toString("base64") }, "portrait"],
      ["portrait too large", { portrait: "A".repeat(3_000_000) }, "portrait"],
      ["fingerprint digest malformed", { fingerprintDigest: "abc" }, "fingerprintDigest"],
      ["nonce too short", { nonce: "x" }, "nonce"],
      ["device proof empty", { deviceProof: "" }, "deviceProof"],
      ["an unknown field", { extra: true }, ""],
    ];
    for (const [what, change, path] of cases) {
      it(`refuses ${what} (400, names ${path || "the field"})`, async () => {
        const r = await call(`${issuer.url}/registrations`, { body: { ...good(), ...change } });
        expect([400, 413]).to.include(r.status);
        if (r.status === 400 && path) expect(r.body.error.details.problems.map((p: any) => p.path)).to.include(path);
      });
    }
    it("refuses a PNG header with garbage behind it (ERR_IMAGE_UNREADABLE), before anything is stored", async () => {
      const d = await newDevice();
      const fake = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from("garbage garbage")]);
      expect(await codeOf(submitRegistration(issuer.url, d, { ...ZHANG, portrait: fake }))).to.equal("ERR_IMAGE_UNREADABLE");
    });
    it("refuses wrong content types and bad JSON", async () => {
      expect((await call(`${issuer.url}/registrations`, { body: "a=b", contentType: "application/x-www-form-urlencoded" })).status).to.equal(415);
      expect((await call(`${issuer.url}/registrations`, { body: "{oops" })).body.error.code).to.equal("ERR_BAD_JSON");
    });
  });

  describe("security gateway: only registered, active capture devices", () => {
    it("accepts a registered device's signed submission and shows only the masked identity", async () => {
      const d = await newDevice();
      const r = await submitRegistration(issuer.url, d, ZHANG);
      expect(r.masked).to.deep.equal({ name: "张*", idNumber: "1101**********1239" });
      expect(JSON.stringify(r)).to.not.include("张三");
    });
    it("refuses an unknown device (ERR_DEVICE_UNKNOWN)", async () => {
      expect(await codeOf(submitRegistration(issuer.url, { deviceId: "never-registered", signer: newTestKey().signer }, ZHANG))).to.equal("ERR_DEVICE_UNKNOWN");
    });
    it("refuses a signature by another key under a registered id (ERR_DEVICE_PROOF_INVALID)", async () => {
      const d = await newDevice();
      expect(await codeOf(submitRegistration(issuer.url, { deviceId: d.deviceId, signer: newTestKey().signer }, ZHANG))).to.equal("ERR_DEVICE_PROOF_INVALID");
    });
    it("refuses a proof over another portrait, and a reused nonce", async () => {
      const d = await newDevice();
      const { did } = (await call(`${issuer.url}/.well-known/issuer`)).body;
      const { nonce } = (await call(`${issuer.url}/registrations/nonce`, { body: {} })).body;
      const proofFor = (p: Buffer) => signJws({ typ: DEVICE_PROOF_TYP, alg: "EdDSA", kid: d.deviceId }, { aud: did, nonce, portrait_sha256: sha256Hex(p), iat: Math.floor(Date.now() / 1000) }, d.signer);
      const body = { fullName: ZHANG.fullName, idNumber: ZHANG.idNumber, portrait: ZHANG.portrait.toString("base64"), nonce };
      const other = await call(`${issuer.url}/registrations`, { body: { ...body, deviceProof: await proofFor(LI.portrait) } });
      expect(other.body.error.code).to.equal("ERR_DEVICE_PROOF_INVALID");
      const again = await call(`${issuer.url}/registrations`, { body: { ...body, deviceProof: await proofFor(ZHANG.portrait) } });
      expect(again.body.error.code).to.equal("ERR_NONCE_INVALID");
    });
    it("refuses revoked and banned devices (ERR_DEVICE_REFUSED); registering and revoking are admin-only", async () => {
      for (const action of ["revoke", "ban"]) {
        const d = await newDevice();
        expect((await admin(`/admin/devices/${d.deviceId}/${action}`, { reason: "test" })).status).to.equal(200);
        expect(await codeOf(submitRegistration(issuer.url, d, ZHANG))).to.equal("ERR_DEVICE_REFUSED");
      }
      const key = newTestKey();
      const noAuth = await call(`${issuer.url}/admin/devices`, { body: { deviceId: "sneaky", label: "x", publicJwk: jwkFromDidKey(key.did) } });
      expect(noAuth.status).to.equal(401);
      const wrongAuth = await call(`${issuer.url}/admin/devices`, { body: { deviceId: "sneaky", label: "x", publicJwk: jwkFromDidKey(key.did) }, headers: { authorization: "Bearer nope" } });
      expect(wrongAuth.body.error.code).to.equal("ERR_UNAUTHORIZED");
    });
  });

  describe("risk control, before any identity check", () => {
    it("refuses a blacklisted person, saying only the class", async () => {
      expect((await admin("/admin/blacklist", { kind: "person", idNumber: WANG.idNumber, reason: "test" })).status).to.equal(201);
      const d = await newDevice();
      try {
        await submitRegistration(issuer.url, d, WANG);
        expect.fail("a blacklisted person registered");
      } catch (error) {
        const e = error as { code: string; message: string; details: unknown };
        expect(e.code).to.equal("ERR_RISK_REFUSED");
        expect(e.details).to.deep.equal({ riskClass: "blacklist" });
        expect(e.message).to.not.match(/blacklisted-person|王/);
      }
    });
    it("refuses a blacklisted device", async () => {
      const d = await newDevice();
      await admin("/admin/blacklist", { kind: "device", deviceId: d.deviceId, reason: "test" });
      expect(await codeOf(submitRegistration(issuer.url, d, LI))).to.equal("ERR_RISK_REFUSED");
    });
    it("refuses the same face for a different ID number (duplicate-face, on embeddings), but not the next customer at the same kiosk", async () => {
      const kiosk = await newDevice();
      await submitRegistration(issuer.url, kiosk, LI);
      try {
        await submitRegistration(issuer.url, await newDevice(), { ...ZHANG, portrait: await sharp(LI.portrait).resize(300).jpeg({ quality: 70 }).toBuffer() });
        expect.fail("a reused face passed");
      } catch (error) {
        expect((error as { details: { riskClass: string } }).details.riskClass).to.equal("duplicate-face");
      }
      // Another person, same kiosk, same client address: a different face is no duplicate.
      expect((await submitRegistration(issuer.url, kiosk, ZHANG)).masked.idNumber).to.match(/^1101/);
    });
    it("counts identity failures against the device until it is flagged (device-reputation)", async () => {
      const d = await newDevice();
      for (let i = 0; i < 3; i++) expect(await codeOf(submitRegistration(issuer.url, d, { ...ZHANG, fullName: `张${"三".repeat(i + 2)}` }))).to.equal("ERR_IDENTITY_NOT_CONFIRMED");
      try {
        await submitRegistration(issuer.url, d, ZHANG);
        expect.fail("a flagged device passed");
      } catch (error) {
        expect((error as { details: { riskClass: string } }).details.riskClass).to.equal("device-reputation");
      }
    });
    it("writes every decision to the risk log with keyed references, no personal data", async () => {
      const log = (await admin("/admin/risk-log", undefined, "GET")).body as any[];
      expect(log.some((e) => e.decision === "refuse" && e.riskClass === "blacklist")).to.equal(true);
      expect(log.some((e) => e.decision === "allow")).to.equal(true);
      const text = JSON.stringify(log);
      for (const pii of [ZHANG.fullName, ZHANG.idNumber, LI.idNumber, WANG.idNumber, "127.0.0.1"]) expect(text).to.not.include(pii);
    });
  });

  describe("identity and face check", () => {
    it("refuses a name the registry does not confirm (422 ERR_IDENTITY_NOT_CONFIRMED)", async () => {
      expect(await codeOf(submitRegistration(issuer.url, await newDevice(), { ...ZHANG, fullName: "张四" }))).to.equal("ERR_IDENTITY_NOT_CONFIRMED");
    });
    it("refuses another person's face with the same answer as an unconfirmed identity (422 ERR_IDENTITY_NOT_CONFIRMED)", async () => {
      expect(await codeOf(submitRegistration(issuer.url, await newDevice(), { ...ZHANG, portrait: portrait("impostor-live.jpg") }))).to.equal("ERR_IDENTITY_NOT_CONFIRMED");
    });
    it("refuses the registry's own photo (or a re-encoded, rescaled copy) as the live capture: 422 ERR_LIVENESS_REPLAY, in the risk log", async () => {
      const registryPhoto = readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-registry.png"));
      expect(await codeOf(submitRegistration(issuer.url, await newDevice(), { ...ZHANG, portrait: registryPhoto }))).to.equal("ERR_LIVENESS_REPLAY");
      const copy = await sharp(registryPhoto).resize(240).jpeg({ quality: 75 }).toBuffer();
      expect(await codeOf(submitRegistration(issuer.url, await newDevice(), { ...ZHANG, portrait: copy }))).to.equal("ERR_LIVENESS_REPLAY");
      const log = (await admin("/admin/risk-log", undefined, "GET")).body as any[];
      expect(log.filter((e) => /replay/.test(e.reason))).to.have.length(2);
    });
    it("a portrait without a face or with two is refused with its code before anything is counted or stored", async () => {
      // Devices first: enrolling one is an admin action, and admin actions are in the risk log too.
      const [first, second] = [await newDevice(), await newDevice()];
      const before = ((await admin("/admin/risk-log", undefined, "GET")).body as any[]).length;
      const noFace = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 140, b: 200 } } }).jpeg().toBuffer();
      expect(await codeOf(submitRegistration(issuer.url, first, { ...ZHANG, portrait: noFace }))).to.equal("ERR_FACE_NOT_FOUND");
      const two = await sharp({ create: { width: 720, height: 360, channels: 3, background: { r: 128, g: 128, b: 128 } } })
        .composite([{ input: await sharp(portrait("zhang-san-registry.png")).resize(340, 340, { fit: "cover" }).toBuffer(), left: 10, top: 10 }, { input: await sharp(portrait("li-si-registry.png")).resize(340, 340, { fit: "cover" }).toBuffer(), left: 370, top: 10 }])
        .jpeg()
        .toBuffer();
      expect(await codeOf(submitRegistration(issuer.url, second, { ...ZHANG, portrait: two }))).to.equal("ERR_FACE_MULTIPLE");
      expect(((await admin("/admin/risk-log", undefined, "GET")).body as any[]).length).to.equal(before);
    });
    it("liveness: the issuer hands out challenges; a sequence of identical stills is refused (ERR_LIVENESS_STILL), frames that are not images are bad input", async () => {
      const challenge = await requestLivenessChallenge(issuer.url);
      expect(challenge.actions).to.have.length(3);
      expect(challenge.minFrames).to.equal(4);
      const stills = [ZHANG.portrait, ZHANG.portrait, ZHANG.portrait, ZHANG.portrait];
      expect(await codeOf(submitRegistration(issuer.url, await newDevice(), { ...ZHANG, liveness: { challenge, frames: stills } }))).to.equal("ERR_LIVENESS_STILL");
      // The challenge was spent by that attempt.
      const again = await codeOf(submitRegistration(issuer.url, await newDevice(), { ...ZHANG, liveness: { challenge, frames: [ZHANG.portrait, LI.portrait, WANG.portrait, ZHANG.portrait] } }));
      expect(again).to.equal("ERR_LIVENESS_CHALLENGE_INVALID");
      const notImages = await codeOf(submitRegistration(issuer.url, await newDevice(), { ...ZHANG, liveness: { challenge: await requestLivenessChallenge(issuer.url), frames: [Buffer.from("not an image at all")] } }));
      expect(notImages).to.equal("ERR_INVALID_INPUT");
    });
    it("a declined confirmation issues nothing; a registration is confirmed once", async () => {
      const submitted = await submitRegistration(issuer.url, await newDevice(), ZHANG);
      expect((await confirmRegistration(issuer.url, submitted.registrationId, false)).status).to.equal("discarded");
      expect(await codeOf(confirmRegistration(issuer.url, submitted.registrationId, true))).to.equal("ERR_REGISTRATION_NOT_FOUND");
    });
  });

  describe("OpenID4VCI issuance", () => {
    it("redeems an offer for a batch: one credential per key, each with its own cnf and status index", async () => {
      const confirmed = await registerAndConfirm(ZHANG);
      expect(confirmed.credentialOffer).to.match(/^openid-credential-offer:\/\/\?credential_offer_uri=/);
      expect(confirmed.qrText).to.be.a("string").and.have.length.greaterThan(100);
      const png = await fetch(confirmed.qrPng!);
      expect(png.headers.get("content-type")).to.equal("image/png");
      expect(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString()).to.equal("PNG");
      const keys = await holderKeys(5);
      const { credentials } = await redeemCredentialOffer({ offer: confirmed.credentialOffer!, keys });
      expect(credentials).to.have.length(5);
      const payloads = credentials.map((c) => JSON.parse(fromB64url(c.split("~")[0]!.split(".")[1]!).toString()));
      expect(new Set(payloads.map((p) => p.cnf.jwk.x)).size).to.equal(5);
      expect(payloads.map((p) => p.cnf.jwk.x)).to.deep.equal(keys.map((k) => jwkFromDidKey(k.did).x));
      expect(new Set(payloads.map((p) => p.status.status_list.idx)).size).to.equal(5);
      const header = JSON.parse(fromB64url(credentials[0]!.split(".")[0]!).toString());
      expect(header).to.include({ typ: "dc+sd-jwt", alg: "EdDSA" });
      for (const p of payloads) {
        for (const plain of ["iss", "iat", "exp", "vct", "cnf", "status"]) expect(p).to.have.property(plain);
        for (const hidden of ["full_name", "id_number", "birth_date", "verification_commitment", "real_name_verified"]) expect(p).to.not.have.property(hidden);
      }
      const disclosures = credentials[0]!.split("~").slice(1, -1).map((d) => JSON.parse(fromB64url(d).toString()));
      expect(disclosures.map((d) => d[1]).sort()).to.deep.equal(["age_over_18", "birth_date", "family_name", "full_name", "given_name", "id_number", "real_name_verified", "verification_commitment"]);
      expect(disclosures.every((d) => fromB64url(d[0]).length >= 16)).to.equal(true);
      expect(payloads[0]._sd.length).to.be.greaterThan(disclosures.length);
    });
    it("an offer is redeemed once", async () => {
      const confirmed = await registerAndConfirm(LI);
      await redeemCredentialOffer({ offer: confirmed.credentialOffer!, keys: await holderKeys(1) });
      expect(await codeOf(redeemCredentialOffer({ offer: confirmed.credentialOffer!, keys: await holderKeys(1) }))).to.equal("ERR_OFFER_REDEMPTION_FAILED");
    });
    it("refuses a pre-authorized code that is unknown (invalid_grant) and a credential request without a valid token", async () => {
      const t = await call(`${issuer.url}/token`, { body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=nope", contentType: "application/x-www-form-urlencoded" });
      expect(t.status).to.equal(400);
      expect(t.body.error).to.equal("invalid_grant");
      const c = await call(`${issuer.url}/credential`, { body: { credential_configuration_id: "RealNameIdentity_dc_sd_jwt" }, headers: { authorization: "Bearer garbage" } });
      expect([400, 401]).to.include(c.status);
      expect(c.body.error).to.be.a("string");
    });
  });

  describe("status list, revocation, reissue", () => {
    it("serves a signed status list with caching headers; revoke and suspend show in it; every change is anchored", async () => {
      const confirmed = await registerAndConfirm(ZHANG);
      const { credentials } = await redeemCredentialOffer({ offer: confirmed.credentialOffer!, keys: await holderKeys(2) });
      const [a, b] = credentials.map((c) => JSON.parse(fromB64url(c.split(".")[1]!).toString()).status.status_list.idx as number);
      const revoked = await admin("/admin/status", { indexes: [a], status: "revoked" });
      expect(revoked.status).to.equal(200);
      const suspended = await admin("/admin/status", { indexes: [b], status: "suspended" });
      expect(suspended.status).to.equal(200);
      await until(revoked.body.effectiveBy);
      await until(suspended.body.effectiveBy);
      const res = await call(`${issuer.url}/status-lists/1`);
      expect(res.headers.get("content-type")).to.match(/application\/statuslist\+jwt/);
      expect(res.headers.get("cache-control")).to.equal("public, max-age=120");
      const jwt = res.body as string;
      expect(JSON.parse(fromB64url(jwt.split(".")[0]!).toString())).to.include({ typ: "statuslist+jwt", alg: "EdDSA" });
      const list = getListFromStatusListJWT(jwt);
      expect(list.getStatus(a!)).to.equal(1);
      expect(list.getStatus(b!)).to.equal(2);
      expect((await admin("/admin/status", { indexes: [a], status: "valid" })).status).to.equal(409);
      // The list that reflects the change was queued and anchored; its proof leads to a root on chain.
      let record: any;
      for (let i = 0; i < 40; i++) {
        record = (await call(`${issuer.url}/anchors/${receiptHash(jwt)}`)).body;
        if (record?.status === "anchored") break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(record.status).to.equal("anchored");
      expect(verifyMerkleInclusion(record.root, record.leaf, record.proof)).to.equal(true);
      const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deploymentAddress });
      expect(await registry.findAnchor(record.root)).to.not.equal(undefined);
      registry.close();
    });
    it("revoke-and-reissue in one operation: old credentials revoked, a fresh offer works", async () => {
      const confirmed = await registerAndConfirm(LI);
      const old = await redeemCredentialOffer({ offer: confirmed.credentialOffer!, keys: await holderKeys(2) });
      const r = await admin("/admin/identities/reissue", { idNumber: LI.idNumber, reason: "ID card lost" });
      expect(r.status).to.equal(201);
      expect(r.body.revoked).to.be.greaterThanOrEqual(2);
      await until(r.body.effectiveBy);
      const list = getListFromStatusListJWT((await call(`${issuer.url}/status-lists/1`)).body);
      for (const c of old.credentials) expect(list.getStatus(JSON.parse(fromB64url(c.split(".")[1]!).toString()).status.status_list.idx)).to.equal(1);
      const fresh = await redeemCredentialOffer({ offer: r.body.credentialOffer, keys: await holderKeys(1) });
      const idx = JSON.parse(fromB64url(fresh.credentials[0]!.split(".")[1]!).toString()).status.status_list.idx;
      expect(getListFromStatusListJWT((await call(`${issuer.url}/status-lists/1`)).body).getStatus(idx)).to.equal(0);
    });
  });

  describe("registries and notaries", () => {
    it("publishes merchants and notaries as a signed document that verifies against the issuer's DID", async () => {
      const merchant = newTestKey();
      expect((await admin("/admin/merchants", { did: merchant.did, name: "Shop", maxLevel: "pseudonymous", purposes: ["membership"], origins: ["https://shop.example", "http://127.0.0.1:8080"] }, "PUT")).status).to.equal(201);
      expect((await admin("/admin/merchants", { did: "did:web:x", name: "Bad", maxLevel: "godmode", purposes: [] }, "PUT")).status).to.equal(400);
      // Origins: https (http only on loopback), exactly an origin, at least one.
      for (const origins of [[], ["http://shop.example"], ["https://shop.example/path"], ["javascript:alert(1)"], ["https://user@shop.example"]]) {
        const refused = await admin("/admin/merchants", { did: merchant.did, name: "Shop", maxLevel: "pseudonymous", purposes: ["membership"], origins }, "PUT");
        expect(refused.status, JSON.stringify(origins)).to.equal(400);
        expect(refused.body.error.details.problems.map((p: { path: string }) => p.path.split(".")[0])).to.deep.equal(["origins"]);
      }
      const jwt = (await call(`${issuer.url}/registry`)).body;
      const doc = verifyTrustRegistry(jwt, issuer.did, new Date());
      expect(doc.merchants.find((m) => m.did === merchant.did)).to.deep.include({ maxLevel: "pseudonymous", purposes: ["membership"], origins: ["https://shop.example", "http://127.0.0.1:8080"] });
      expect(() => verifyTrustRegistry(jwt, newTestKey().did, new Date())).to.throw();
    });
    it("keeps every registry JWT it serves by hash and anchors it (evidence names the registry a merchant relied on)", async () => {
      const jwt = (await call(`${issuer.url}/registry`)).body as string;
      const snapshot = await call(`${issuer.url}/registry/snapshots/${receiptHash(jwt)}`);
      expect(snapshot.status).to.equal(200);
      expect(snapshot.body).to.equal(jwt);
      expect((await call(`${issuer.url}/registry/snapshots/${"0".repeat(64)}`)).status).to.equal(404);
      expect((await call(`${issuer.url}/registry/snapshots/..%2F..`)).status).to.equal(400);
      let record: any;
      for (let i = 0; i < 40; i++) {
        record = (await call(`${issuer.url}/anchors/${receiptHash(jwt)}`)).body;
        if (record?.status === "anchored") break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(record.status).to.equal("anchored");
      const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deploymentAddress });
      expect(await registry.findAnchor(record.root)).to.not.equal(undefined);
      registry.close();
    });
    it("a registered notary uploads an in-person identity with a portrait; the record says who attested it; others get 403", async () => {
      const notary = newTestKey();
      await admin("/admin/notaries", { did: notary.did, name: "Notary Office No. 1" }, "PUT");
      // 王小明: in the registry, never verified by registry and face in this file (issue 14: that would be a conflict).
      const attest = (by: TestKey) =>
        signJws({ typ: "identity-attestation+jwt", alg: "EdDSA" }, { iss: by.did, aud: issuer.did, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), person: { idNumber: WANG.idNumber, fullName: "王小明", familyName: "王", givenName: "小明", birthDate: "2012-06-01" }, portrait_sha256: sha256Hex(WANG.portrait) }, by.signer);
      const ok = await call(`${issuer.url}/attested-identities`, { body: { attestation: await attest(notary), portrait: WANG.portrait.toString("base64") } });
      expect(ok.status).to.equal(201);
      expect(ok.body.attestedBy).to.equal(notary.did);
      const evidence = (await admin("/admin/identities/evidence", { idNumber: WANG.idNumber })).body.evidence;
      expect(evidence).to.include({ method: "notary-in-person", attestedBy: notary.did, assurance: "high" });
      expect(evidence.verifiedAt).to.be.a("string");
      const { credentials } = await redeemCredentialOffer({ offer: ok.body.credentialOffer, keys: await holderKeys(1) });
      expect(credentials).to.have.length(1);
      const stranger = await call(`${issuer.url}/attested-identities`, { body: { attestation: await attest(newTestKey()), portrait: WANG.portrait.toString("base64") } });
      expect(stranger.status).to.equal(403);
    });
  });

  describe("durability and privacy", () => {
    it("a restart between registration and issuance loses nothing", async () => {
      const confirmed = await registerAndConfirm(ZHANG);
      await issuer.stop();
      issuer = await startService("issuer-service", env());
      const { credentials } = await redeemCredentialOffer({ offer: confirmed.credentialOffer!.replace(/127\.0\.0\.1%3A\d+/, encodeURIComponent(new URL(issuer.url).host)), keys: await holderKeys(1) });
      expect(credentials).to.have.length(1);
    });
    it("refuses to start without a data key outside demo mode", async () => {
      const { ISSUER_DATA_KEY: _k, ...rest } = env();
      try {
        await startService("issuer-service", { ...rest, DATA_DIR: join(work, "issuer-nokey"), ADMIN_TOKEN: ADMIN }, 20_000);
        expect.fail("started without a data key");
      } catch (error) {
        expect(String(error)).to.match(/ISSUER_DATA_KEY must be set/);
      }
    });
    it("stores identities encrypted: no name or ID number in the LevelDB files, none in the logs", async () => {
      await issuer.stop();
      const dir = join(work, "issuer");
      const bytes = readdirSync(dir).filter((f) => /\.(log|ldb)$/.test(f)).map((f) => readFileSync(join(dir, f)));
      const all = Buffer.concat(bytes);
      for (const pii of [ZHANG.idNumber, LI.idNumber, ZHANG.fullName, LI.fullName, "1990-03-07"]) expect(all.includes(Buffer.from(pii)), pii).to.equal(false);
      const logs = issuer.output.join("\n");
      for (const pii of [ZHANG.idNumber, LI.idNumber, ZHANG.fullName, LI.fullName, WANG.fullName]) expect(logs.includes(pii), pii).to.equal(false);
      issuer = await startService("issuer-service", env());
    });
  });
});
