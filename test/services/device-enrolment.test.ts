import { expect } from "chai";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, CDPSession, Page } from "playwright-core";
import {
  createServiceApp,
  DataKey,
  DEFAULT_RISK_LIMITS,
  DEVICE_PROOF_TYP,
  DeviceEnrolment,
  DeviceRegistry,
  errorHandler,
  jwkFromDidKey,
  MemoryDocumentStore,
  notFound,
  RiskEngine,
  RiskState,
  signJws,
  type DeviceEnrolmentPolicy,
  type DeviceRecord,
  type RiskLogEntry,
} from "@realname/agent";
import { deviceRoutes } from "../../issuer-service/src/routes/devices.js";
import { launchChromium } from "../helpers/browser.js";
import { call } from "../helpers/http.js";
import { newTestKey } from "../helpers/keys.js";
import { testCa } from "../helpers/tls.js";

/** The AAGUID Chromium's CTAP2 virtual authenticator reports. */
const CHROMIUM_VIRTUAL_AAGUID = "01020304-0506-0708-0102-030405060708";

/**
 * Issue 14: capture devices enrol themselves with WebAuthn attestation under the issuer's policy. Real
 * Chromium with its virtual authenticator (CDP WebAuthn domain) on a loopback page served by the issuer's
 * routes; @simplewebauthn/server verifies; every refusal is in the risk log and stores no device.
 */
describe("capture devices enrol themselves with WebAuthn attestation (Chromium virtual authenticator)", function () {
  this.timeout(120_000);
  let server: Server;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  const deviceStore = new MemoryDocumentStore<DeviceRecord>();
  const devices = new DeviceRegistry(deviceStore);
  const riskLog = new MemoryDocumentStore<RiskLogEntry>();
  const risk = new RiskEngine(new RiskState(new MemoryDocumentStore(), DEFAULT_RISK_LIMITS), riskLog);
  const key = new DataKey(Buffer.alloc(32, 3));
  const allowChromium: DeviceEnrolmentPolicy = { allowedAaguids: [CHROMIUM_VIRTUAL_AAGUID], allowedFormats: ["packed"], allowNone: false };
  let policy: DeviceEnrolmentPolicy = allowChromium;
  const enrolment = new DeviceEnrolment({ devices, risk, policy: () => policy, origin: () => origin, rpName: "Test issuer", pending: new MemoryDocumentStore() });

  const stored = async () => (await deviceStore.list()).length;
  const refusals = async () => (await riskLog.list()).map(([, e]) => e).filter((e) => e.rule === "device-refused");
  /** The browser half alone: navigator.credentials.create over the issuer's options, answered as JSON. */
  // A string, not a function: the test runner's transpiler would wrap named arrows in a helper the page lacks.
  const CREATE = `async (opt) => {
    const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
    const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
    const cred = await navigator.credentials.create({ publicKey: { ...opt, challenge: dec(opt.challenge), user: { ...opt.user, id: dec(opt.user.id) }, excludeCredentials: [] } });
    const r = cred.response;
    return { id: cred.id, rawId: enc(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(), response: { clientDataJSON: enc(r.clientDataJSON), attestationObject: enc(r.attestationObject), transports: r.getTransports() } };
  }`;
  const createCredential = (options: unknown) => page.evaluate(`(${CREATE})(${JSON.stringify(options)})`) as Promise<Record<string, unknown>>;
  const options = async (jwk: unknown = jwkFromDidKey(newTestKey().did)) => call(`${origin}/devices/enrolment/options`, { body: { label: "phone app", publicJwk: jwk } });
  const verify = (body: unknown) => call(`${origin}/devices/enrolment/verification`, { body });

  before(async () => {
    const app = createServiceApp({ bodyLimit: "100kb" });
    app.use(deviceRoutes({ enrolment, addressRef: (a) => key.index("address", a) }));
    app.use(notFound);
    app.use(errorHandler());
    server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    // http://localhost is a secure context: WebAuthn works there; the RP id is "localhost".
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", { options: { protocol: "ctap2", transport: "usb", hasResidentKey: false, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });
    await page.goto(`${origin}/devices/enrol`);
  });
  after(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });
  afterEach(() => (policy = allowChromium));

  it("the enrolment page enrols a device whose authenticator the policy allows; its key then signs submissions", async () => {
    const device = newTestKey();
    const result = await page.evaluate(async (jwk) => (window as any).enrolDevice("kiosk app", jwk), jwkFromDidKey(device.did));
    expect(result.status).to.equal(201);
    expect(result.body.deviceId).to.match(/^wa-[0-9a-f]{24}$/);
    expect(result.body.enrolment).to.include({ method: "webauthn", fmt: "packed", aaguid: CHROMIUM_VIRTUAL_AAGUID });
    // The enrolled device's key is the one the challenge was bound to: it signs a registration submission.
    const now = new Date();
    const proof = await signJws({ typ: DEVICE_PROOF_TYP, alg: "EdDSA", kid: result.body.deviceId }, { aud: "did:key:issuer", nonce: "n-1", portrait_sha256: "ab", iat: Math.floor(now.getTime() / 1000) }, device.signer);
    expect((await devices.verifySubmission(proof, { audience: "did:key:issuer", nonce: "n-1", portraitSha256: "ab", now })).deviceId).to.equal(result.body.deviceId);
    const audit = (await riskLog.list()).map(([, e]) => e).find((e) => e.action === "device-enrolled-by-attestation");
    expect(audit).to.include({ decision: "admin", subjectRef: result.body.deviceId });
  });

  it("an authenticator model the policy does not list is refused (403), logged, and nothing is stored", async () => {
    policy = { ...allowChromium, allowedAaguids: ["ee882879-721c-4913-9775-3dfcce97072a"] };
    const before = await stored();
    const o = await options();
    expect(o.status).to.equal(201);
    const r = await verify({ enrolmentId: o.body.enrolmentId, response: await createCredential(o.body.options) });
    expect([r.status, r.body.error.code]).to.deep.equal([403, "ERR_DEVICE_ATTESTATION_REFUSED"]);
    expect(await stored()).to.equal(before);
    expect((await refusals()).at(-1)).to.include({ decision: "refuse", riskClass: "device-reputation" });
    expect((await refusals()).at(-1)!.reason).to.match(/^ERR_DEVICE_ATTESTATION_REFUSED/);
  });

  it("'none' attestation is refused unless the policy allows it, and accepted when it does", async () => {
    policy = { allowedAaguids: [CHROMIUM_VIRTUAL_AAGUID, "00000000-0000-0000-0000-000000000000"], allowedFormats: [], allowNone: true };
    const o = await options();
    expect(o.body.options.attestation).to.equal("none");
    const response = await createCredential(o.body.options);
    policy = { ...policy, allowNone: false }; // what the policy says at verification decides
    const before = await stored();
    const r = await verify({ enrolmentId: o.body.enrolmentId, response });
    expect(r.body.error.code).to.equal("ERR_DEVICE_ATTESTATION_REFUSED");
    expect(await stored()).to.equal(before);

    policy = { ...policy, allowNone: true };
    const o2 = await options();
    const ok = await verify({ enrolmentId: o2.body.enrolmentId, response: await createCredential(o2.body.options) });
    expect(ok.status).to.equal(201);
    expect(ok.body.enrolment.fmt).to.equal("none");
  });

  it("an attestation certificate that does not chain to the configured roots is refused", async () => {
    policy = { ...allowChromium, rootCertificates: [(await testCa("Some manufacturer")).cert] };
    const before = await stored();
    const o = await options();
    const r = await verify({ enrolmentId: o.body.enrolmentId, response: await createCredential(o.body.options) });
    expect(r.body.error.code).to.equal("ERR_DEVICE_ATTESTATION_REFUSED");
    expect(await stored()).to.equal(before);
  });

  it("a credential made over another enrolment's challenge does not verify (403 ERR_DEVICE_ATTESTATION_INVALID); an enrolment is used once", async () => {
    const a = await options();
    const b = await options();
    const response = await createCredential(a.body.options);
    const before = await stored();
    const crossed = await verify({ enrolmentId: b.body.enrolmentId, response });
    expect([crossed.status, crossed.body.error.code]).to.deep.equal([403, "ERR_DEVICE_ATTESTATION_INVALID"]);
    expect((await verify({ enrolmentId: a.body.enrolmentId, response })).status).to.equal(201);
    const again = await verify({ enrolmentId: a.body.enrolmentId, response });
    expect([again.status, again.body.error.code]).to.deep.equal([404, "ERR_DEVICE_ENROLMENT_NOT_FOUND"]);
    expect(await stored()).to.equal(before + 1);
  });

  it("self-enrolment is off when the policy lists no authenticator model (403 ERR_DEVICE_ENROLMENT_DISABLED, logged)", async () => {
    policy = { allowedAaguids: [], allowedFormats: ["packed"], allowNone: false };
    const n = (await refusals()).length;
    const r = await options();
    expect([r.status, r.body.error.code]).to.deep.equal([403, "ERR_DEVICE_ENROLMENT_DISABLED"]);
    expect((await refusals()).length).to.equal(n + 1);
  });

  describe("bad input: a stable code, 4xx, nothing stored", () => {
    const validJwk = () => jwkFromDidKey(newTestKey().did);
    const cases: Array<[string, string, () => unknown, number, string]> = [
      ["options without a key", "options", () => ({ label: "x" }), 400, "ERR_INVALID_INPUT"],
      ["options with a P-256 key", "options", () => ({ label: "x", publicJwk: { kty: "EC", crv: "P-256", x: "a", y: "b" } }), 400, "ERR_INVALID_INPUT"],
      ["options with an empty label", "options", () => ({ label: " ", publicJwk: validJwk() }), 400, "ERR_INVALID_INPUT"],
      ["options with an extra field", "options", () => ({ label: "x", publicJwk: validJwk(), admin: true }), 400, "ERR_INVALID_INPUT"],
      ["verification with an id that is not a UUID", "verification", () => ({ enrolmentId: "1", response: {} }), 400, "ERR_INVALID_INPUT"],
      ["verification of an unknown enrolment", "verification", () => ({ enrolmentId: "00000000-0000-4000-8000-000000000000", response: { id: "a", rawId: "a", type: "public-key", clientExtensionResults: {}, response: { clientDataJSON: "a", attestationObject: "a" } } }), 404, "ERR_DEVICE_ENROLMENT_NOT_FOUND"],
      ["verification with a response that is not base64url", "verification", () => ({ enrolmentId: "00000000-0000-4000-8000-000000000000", response: { id: "a+", rawId: "a", type: "public-key", clientExtensionResults: {}, response: { clientDataJSON: "a", attestationObject: "a" } } }), 400, "ERR_INVALID_INPUT"],
    ];
    for (const [name, path, body, status, code] of cases) {
      it(name, async () => {
        const before = await stored();
        const r = await call(`${origin}/devices/enrolment/${path}`, { body: body() });
        expect([r.status, r.body.error.code]).to.deep.equal([status, code]);
        expect(await stored()).to.equal(before);
      });
    }
    it("garbage in the attestation object of a live enrolment: 403 ERR_DEVICE_ATTESTATION_INVALID, no crash", async () => {
      const o = await options();
      const before = await stored();
      const r = await verify({ enrolmentId: o.body.enrolmentId, response: { id: "AAAA", rawId: "AAAA", type: "public-key", clientExtensionResults: {}, response: { clientDataJSON: "e30", attestationObject: "oA" } } });
      expect([r.status, r.body.error.code]).to.deep.equal([403, "ERR_DEVICE_ATTESTATION_INVALID"]);
      expect(await stored()).to.equal(before);
    });
    it("a body that is not JSON is refused (415)", async () => {
      const r = await call(`${origin}/devices/enrolment/options`, { body: "label=x", contentType: "application/x-www-form-urlencoded" });
      expect(r.status).to.equal(415);
    });
  });
});
