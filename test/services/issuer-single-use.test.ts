import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { confirmRegistration, jwkFromDidKey, REPO_ROOT, sha256Hex, signJws, submitRegistration, validateResidentIdNumber, type CaptureDevice } from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { newTestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";
import { startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";

/**
 * Single-use means single-use under concurrency (issue 12 §4): N simultaneous uses over real HTTP, exactly
 * one succeeds, the others are refused with a code and a 4xx. Also: the uniform answer for identity and face
 * failures, the issuer's rate limit, and private data folders.
 */
const ADMIN = "single-use-admin";
const N = 8;
const portrait = (name: string) => readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", name));
const ZHANG = { fullName: "张三", idNumber: "110105199003071239", portrait: portrait("zhang-san-live.jpg") };
const LI = { fullName: "李四", idNumber: "310115198508154561", portrait: portrait("li-si-live.jpg") };
const WANG = { fullName: "王小明", idNumber: "440305201206017897", portrait: portrait("wang-xiaoming-live.jpg") };
const PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/** A valid resident ID number that the fixture registry does not hold. */
function unknownIdNumber(): string {
  for (const check of "0123456789X") if (validateResidentIdNumber(`11010519880808123${check}`).valid) return `11010519880808123${check}`;
  throw new Error("no check digit");
}

describe("Issuer: single use under concurrency, uniform refusals, rate limit, private data", function () {
  this.timeout(180_000);
  let chain: EmbeddedChain;
  let deploymentFile: string;
  let issuer: ServiceProcess;
  let work: string;
  let seq = 0;

  const env = (dir: string, extra: Record<string, string> = {}) => ({
    DATA_DIR: join(work, dir),
    CHAIN_RPC_URL: chain.url,
    DEPLOYMENT_FILE: deploymentFile,
    ISSUER_PASSPHRASE: "single-use",
    ISSUER_DATA_KEY: "33".repeat(32),
    ADMIN_TOKEN: ADMIN,
    ANCHOR_DEV_ACCOUNT: "2",
    RISK_MAX_PER_ADDRESS: "1000",
    RISK_MAX_PER_ID_NUMBER: "1000",
    RISK_MAX_PER_DEVICE: "4",
    ...extra,
  });
  const admin = (path: string, body?: unknown, method = "POST") => call(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN}` } });
  async function newDevice(): Promise<CaptureDevice> {
    const key = newTestKey();
    const deviceId = `su-device-${++seq}`;
    expect((await admin("/admin/devices", { deviceId, label: "kiosk", publicJwk: jwkFromDidKey(key.did) })).status).to.equal(201);
    return { deviceId, signer: key.signer };
  }
  /** A confirmed registration's pre-authorized code. */
  async function preAuthorizedCode(person = ZHANG): Promise<string> {
    const submitted = await submitRegistration(issuer.url, await newDevice(), person);
    const { credentialOffer } = await confirmRegistration(issuer.url, submitted.registrationId, true);
    const offerUri = new URL(credentialOffer!.replace("openid-credential-offer://", "https://x/")).searchParams.get("credential_offer_uri")!;
    return (await call(offerUri)).body.grants[PRE_AUTH]["pre-authorized_code"];
  }
  const token = (code: string) => call(`${issuer.url}/token`, { body: new URLSearchParams({ grant_type: PRE_AUTH, "pre-authorized_code": code }).toString(), contentType: "application/x-www-form-urlencoded" });
  const cNonce = async () => (await call(`${issuer.url}/nonce`, { method: "POST" })).body.c_nonce as string;
  async function credentialRequest(accessToken: string, nonce: string) {
    const key = newTestKey();
    const proof = await signJws({ typ: "openid4vci-proof+jwt", alg: "EdDSA", jwk: jwkFromDidKey(key.did) }, { aud: issuer.url, iat: Math.floor(Date.now() / 1000), nonce }, key.signer);
    return call(`${issuer.url}/credential`, { body: { credential_configuration_id: "RealNameIdentity_dc_sd_jwt", proofs: { jwt: [proof] } }, headers: { authorization: `Bearer ${accessToken}` } });
  }
  const statuses = (rs: Array<{ status: number }>) => rs.map((r) => r.status);

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "issuer-single-use-"));
    const c = await chainWithRegistry();
    chain = c.chain;
    deploymentFile = c.deploymentFile;
    issuer = await startService("issuer-service", env("issuer"));
  });
  after(async () => {
    await issuer?.stop();
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it(`a pre-authorized code used ${N} times at once: one access token, the rest invalid_grant (400)`, async () => {
    const code = await preAuthorizedCode();
    const results = await Promise.all(Array.from({ length: N }, () => token(code)));
    expect(statuses(results).filter((s) => s === 200)).to.have.length(1);
    for (const r of results.filter((r) => r.status !== 200)) expect([r.status, r.body.code]).to.deep.equal([400, "ERR_OAUTH_INVALID_GRANT"]);
  });

  it(`an access token used ${N} times at once (each with its own c_nonce and key): one batch, the rest 401`, async () => {
    const code = await preAuthorizedCode();
    const accessToken = (await token(code)).body.access_token as string;
    const nonces = await Promise.all(Array.from({ length: N }, cNonce));
    const results = await Promise.all(nonces.map((n) => credentialRequest(accessToken, n)));
    expect(statuses(results).filter((s) => s === 200), JSON.stringify(statuses(results))).to.have.length(1);
    for (const r of results.filter((r) => r.status !== 200)) expect([r.status, r.body.code]).to.deep.equal([401, "ERR_OAUTH_INVALID_TOKEN"]);
  });

  it(`one c_nonce in ${N} concurrent credential requests (each with its own access token): one batch, the rest invalid_nonce`, async () => {
    const tokens: string[] = [];
    for (let i = 0; i < N; i++) tokens.push((await token(await preAuthorizedCode(i % 2 ? LI : ZHANG))).body.access_token);
    const nonce = await cNonce();
    const results = await Promise.all(tokens.map((t) => credentialRequest(t, nonce)));
    expect(statuses(results).filter((s) => s === 200)).to.have.length(1);
    for (const r of results.filter((r) => r.status !== 200)) expect([r.status, r.body.code]).to.deep.equal([400, "ERR_PROOF_NONCE"]);
  });

  it(`one registration nonce and device proof submitted ${N} times at once: one is examined, the rest ERR_NONCE_INVALID`, async () => {
    const device = await newDevice();
    const { nonce } = (await call(`${issuer.url}/registrations/nonce`, { method: "POST" })).body;
    const deviceProof = await signJws(
      { typ: "device-proof+jwt", alg: "EdDSA", kid: device.deviceId },
      { aud: issuer.did, nonce, portrait_sha256: (await import("@realname/agent")).sha256Hex(ZHANG.portrait), iat: Math.floor(Date.now() / 1000) },
      device.signer,
    );
    const body = { fullName: ZHANG.fullName, idNumber: ZHANG.idNumber, portrait: ZHANG.portrait.toString("base64"), nonce, deviceProof };
    const results = await Promise.all(Array.from({ length: N }, () => call(`${issuer.url}/registrations`, { body })));
    expect(statuses(results).filter((s) => s === 202)).to.have.length(1);
    for (const r of results.filter((r) => r.status !== 202)) expect([r.status, r.body.error.code]).to.deep.equal([400, "ERR_NONCE_INVALID"]);
  });

  it(`a pending registration confirmed ${N} times at once: one offer, the rest 404`, async () => {
    const submitted = await submitRegistration(issuer.url, await newDevice(), LI);
    const results = await Promise.all(Array.from({ length: N }, () => call(`${issuer.url}/registrations/${submitted.registrationId}/confirmation`, { body: { confirm: true } })));
    expect(statuses(results).filter((s) => s === 201)).to.have.length(1);
    for (const r of results.filter((r) => r.status !== 201)) expect([r.status, r.body.error.code]).to.deep.equal([404, "ERR_REGISTRATION_NOT_FOUND"]);
  });

  it(`a notary attestation posted ${N} times at once: one offer, the rest 409 ERR_REPLAYED; one without jti is refused`, async () => {
    const notary = newTestKey();
    expect((await admin("/admin/notaries", { did: notary.did, name: "Notary Office No. 7" }, "PUT")).status).to.equal(201);
    const person = { idNumber: WANG.idNumber, fullName: WANG.fullName, familyName: "王", givenName: "小明", birthDate: "2012-06-01" };
    // The notary's portrait, covered by the attestation (issue 14: uploads come with a portrait).
    const attest = (claims: Record<string, unknown>) => signJws({ typ: "identity-attestation+jwt", alg: "EdDSA" }, { iss: notary.did, aud: issuer.did, iat: Math.floor(Date.now() / 1000), person, portrait_sha256: sha256Hex(WANG.portrait), ...claims }, notary.signer);
    const attestation = await attest({ jti: randomUUID() });
    const portraitB64 = WANG.portrait.toString("base64");
    const results = await Promise.all(Array.from({ length: N }, () => call(`${issuer.url}/attested-identities`, { body: { attestation, portrait: portraitB64 } })));
    expect(statuses(results).filter((s) => s === 201)).to.have.length(1);
    for (const r of results.filter((r) => r.status !== 201)) expect([r.status, r.body.error.code]).to.deep.equal([409, "ERR_REPLAYED"]);
    const noJti = await call(`${issuer.url}/attested-identities`, { body: { attestation: await attest({}), portrait: portraitB64 } });
    expect([noJti.status, noJti.body.error.code]).to.deep.equal([400, "ERR_JTI_MISSING"]);
  });

  it(`risk counters are atomic: 12 concurrent submissions from one device (limit 4) let exactly 4 through`, async () => {
    const device = await newDevice();
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        submitRegistration(issuer.url, device, WANG).then(
          () => "accepted",
          (e: { code: string }) => e.code,
        ),
      ),
    );
    expect(results.filter((r) => r === "accepted"), JSON.stringify(results)).to.have.length(4);
    expect(results.filter((r) => r === "ERR_RISK_REFUSED")).to.have.length(8);
  });

  it("an unknown ID number, a name the registry does not confirm and another person's face get the same answer; the risk log tells them apart", async () => {
    const answer = async (materials: typeof ZHANG) => {
      try {
        await submitRegistration(issuer.url, await newDevice(), materials);
        return "accepted";
      } catch (e) {
        const { code, message, details } = e as { code: string; message: string; details?: unknown };
        return JSON.stringify({ code, message, details });
      }
    };
    // The duplicate-face rule stays out of it: a face is remembered only once it passed the identity check.
    const unknown = await answer({ ...LI, idNumber: unknownIdNumber(), portrait: portrait("impostor-live.jpg") });
    const wrongName = await answer({ ...LI, fullName: "李五" });
    const wrongFace = await answer({ ...LI, portrait: portrait("impostor-live.jpg") });
    expect(JSON.parse(unknown).code).to.equal("ERR_IDENTITY_NOT_CONFIRMED");
    expect(wrongName).to.equal(unknown);
    expect(wrongFace).to.equal(unknown);
    // The status follows from the code (422 for all three): check it once over raw HTTP too.
    const reasons = ((await admin("/admin/risk-log", undefined, "GET")).body as Array<{ rule?: string; reason: string }>).filter((e) => e.rule === "identity-check-failed").map((e) => e.reason);
    expect(reasons.some((r) => r.startsWith("identity not confirmed by the registry"))).to.equal(true);
    expect(reasons.some((r) => r.startsWith("face mismatch"))).to.equal(true);
  });

  it("DATA_DIR is 0700 and every file in it 0600 (the service sets umask 077 and narrows what LevelDB made)", () => {
    const dir = join(work, "issuer");
    expect(statSync(dir).mode & 0o777).to.equal(0o700);
    const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
    const files = walk(dir);
    expect(files.length).to.be.greaterThan(0);
    for (const f of files) expect(statSync(f).mode & 0o777, f).to.equal(0o600);
  });

  it("has a rate limit like the verifier: beyond RATE_LIMIT_PER_MINUTE a client gets 429 ERR_RATE_LIMITED, and the service stays up", async () => {
    const limited = await startService("issuer-service", env("limited", { RATE_LIMIT_PER_MINUTE: "5" }));
    try {
      const results = [];
      for (let i = 0; i < 7; i++) results.push(await call(`${limited.url}/.well-known/issuer`));
      expect(statuses(results)).to.deep.equal([200, 200, 200, 200, 200, 429, 429]);
      expect(results[5]!.body.error.code).to.equal("ERR_RATE_LIMITED");
      expect(Number(results[5]!.headers.get("retry-after"))).to.be.greaterThan(0);
      expect((await call(`${issuer.url}/health`)).status).to.equal(200);
    } finally {
      await limited.stop();
    }
  });
});
