import { expect } from "chai";
import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { CompactEncrypt, decodeJwt, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest } from "@sd-jwt/crypto-nodejs";
import { issueIdentityCredential, merchantPseudonymClaim, submitAuthorizationResponse, submitDecline, StatusListService, type GrantLevel } from "@realname/agent";
import { type VerifierDeps } from "../../verifier-service/src/app.js";
import { CLAIMS, TEST_VCT } from "../helpers/sdjwt.js";
import { startInProcessVerifier, type InProcessVerifier } from "../helpers/verifier-harness.js";
import { newTestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";

/**
 * Our merchant with encrypted responses (OpenID4VP 1.0 §8.3.1 `direct_post.jwt`, HAIP: ECDH-ES P-256,
 * A128GCM/A256GCM): the answer is built here from the request object alone with @sd-jwt/* and encrypted with
 * jose (as any standard wallet would), and by our own wallet code. Every refusal is a stable code, a 4xx,
 * nothing stored or anchored, and the same request still answerable. Real HTTP, LevelDB, signatures.
 */
describe("OpenID4VP 1.0 direct_post.jwt: encrypted answers and declines at our merchant", function () {
  this.timeout(60_000);
  const issuer = newTestKey();
  const merchantKey = newTestKey();
  const merchant = { did: merchantKey.did, name: "Encrypting Shop", signer: merchantKey.signer };
  let t = Date.parse("2026-11-21T10:00:00Z");
  const clock = () => new Date(t);
  let harness: InProcessVerifier;
  let plainHarness: InProcessVerifier;
  let base: string;
  let deps: VerifierDeps;
  let statusList: StatusListService;
  let queueStore: InProcessVerifier["queueStore"];

  before(async () => {
    harness = await startInProcessVerifier({ issuer, merchant, clock, statusTtlSeconds: 60, checkout: undefined, responseMode: "direct_post.jwt" });
    ({ base, deps, statusList, queueStore } = harness);
    plainHarness = await startInProcessVerifier({ issuer, merchant, clock, statusTtlSeconds: 60, checkout: undefined, responseMode: "direct_post" });
  });
  after(async () => {
    await harness?.close();
    await plainHarness?.close();
  });

  async function credential(s: StatusListService = statusList) {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const jwk = publicKey.export({ format: "jwk" }) as { x: string };
    return {
      sdjwt: await issueIdentityCredential({ issuerDid: issuer.did, vct: TEST_VCT, signer: issuer.signer, holderJwk: { kty: "OKP", crv: "Ed25519", x: jwk.x }, claims: CLAIMS, now: clock(), validForSeconds: 30 * 86_400, status: await s.allocate(), pseudonyms: { [merchantPseudonymClaim(merchant.did)]: "P".repeat(32) } }),
      privateKey,
    };
  }

  async function open(level: GrantLevel, at = base) {
    const created = (await call(`${at}/requests`, { body: { level, purpose: `encrypted ${level}`, retentionDays: 30, claims: level === "full" ? ["full_name"] : [] } })).body;
    const requestJwt = (await (await fetch(created.requestUri)).text()).trim();
    return { requestId: created.requestId as string, transactionSecret: created.transactionSecret as string, payload: decodeJwt(requestJwt) as Record<string, any> };
  }
  type Open = Awaited<ReturnType<typeof open>>;

  const b64urlSha256 = (s: string) => createHash("sha256").update(s).digest("base64url");

  /** A spec-following wallet's response parameters: the DCQL claims disclosed and a KB-JWT (Appendix B.3.6). */
  async function parameters(o: Open, cred: { sdjwt: string; privateKey: KeyObject }) {
    const query = o.payload.dcql_query.credentials[0];
    const presented = await new SDJwtVcInstance({ hasher: digest, hashAlg: "sha-256" }).present(cred.sdjwt, Object.fromEntries(query.claims.map((c: { path: string[] }) => [c.path[0], true])));
    const kb = await new SignJWT({ iat: Math.floor(t / 1000), aud: o.payload.client_id, nonce: o.payload.nonce, sd_hash: b64urlSha256(presented), transaction_data_hashes: (o.payload.transaction_data as string[]).map(b64urlSha256) })
      .setProtectedHeader({ alg: "EdDSA", typ: "kb+jwt" })
      .sign(cred.privateKey);
    return { vp_token: { [query.id]: [presented + kb] }, state: o.payload.state } as Record<string, unknown>;
  }

  /** §8.3: a JWE to the request's key (alg of the key, its kid), enc the first offered; `header` bends it. */
  async function jweFor(o: Open, params: Record<string, unknown>, header: Record<string, unknown> = {}, to?: CryptoKey | Uint8Array) {
    const jwk = o.payload.client_metadata.jwks.keys[0] as JWK;
    const h = { alg: jwk.alg, enc: o.payload.client_metadata.encrypted_response_enc_values_supported[0], kid: jwk.kid, ...header };
    return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(params))).setProtectedHeader(h as never).encrypt(to ?? (await importJWK(jwk, String(h.alg))));
  }
  const post = (o: Open, form: Record<string, string>) => call(o.payload.response_uri, { body: new URLSearchParams(form).toString(), contentType: "application/x-www-form-urlencoded" });
  const snapshot = async () => ({ grants: (await deps.grants.list()).length, accounts: (await deps.accounts.list()).length, queue: (await queueStore.list()).filter(([k]) => String(k).startsWith("record:")).length });
  const status = async (o: Open) => (await call(`${base}/requests/${o.requestId}/result`, { headers: { "x-transaction-secret": o.transactionSecret } })).body;

  it("the request: response_mode direct_post.jwt, one fresh ECDH-ES P-256 key per request (kid, use enc, alg), A128GCM and A256GCM; the private half sealed with the session", async () => {
    const a = await open("verified");
    const b = await open("verified");
    expect(a.payload.response_mode).to.equal("direct_post.jwt");
    const [key] = a.payload.client_metadata.jwks.keys;
    expect(a.payload.client_metadata.jwks.keys).to.have.length(1);
    expect(Object.keys(key).sort()).to.deep.equal(["alg", "crv", "kid", "kty", "use", "x", "y"]);
    expect(key).to.include({ kty: "EC", crv: "P-256", use: "enc", alg: "ECDH-ES" });
    expect(a.payload.client_metadata.encrypted_response_enc_values_supported).to.deep.equal(["A128GCM", "A256GCM"]);
    expect(b.payload.client_metadata.jwks.keys[0].x).to.not.equal(key.x);
    const session = await deps.sessions.get(a.requestId);
    expect(session!.responseDecryption!.kid).to.equal(key.kid);
    expect(JSON.parse(deps.seal.decrypt(session!.responseDecryption!.sealedPrivateJwk))).to.include({ kty: "EC", crv: "P-256", x: key.x });
  });

  for (const level of ["verified", "pseudonymous", "full"] as const) {
    it(`${level}: an encrypted answer (A128GCM) completes exactly as a plain one would; the request's key is then gone`, async () => {
      const before = await snapshot();
      const o = await open(level);
      const response = await post(o, { response: await jweFor(o, await parameters(o, await credential())) });
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      expect(response.body.status).to.equal("accepted");
      expect(await snapshot()).to.deep.equal({ grants: before.grants + 1, accounts: before.accounts + (level === "pseudonymous" && before.accounts === 0 ? 1 : 0), queue: before.queue + 1 });
      const result = (await call(response.body.redirect_uri)).body;
      expect(result.claims.real_name_verified).to.equal(true);
      if (level === "full") expect(result.claims.full_name).to.equal(CLAIMS.full_name);
      expect((await deps.sessions.get(o.requestId))!.responseDecryption).to.equal(undefined);
    });
  }

  it("A256GCM (the other HAIP enc) completes; replaying the same JWE is refused (409) and stores nothing", async () => {
    const o = await open("verified");
    const jwe = await jweFor(o, await parameters(o, await credential()), { enc: "A256GCM" });
    expect((await post(o, { response: jwe })).status).to.equal(200);
    const before = await snapshot();
    const replay = await post(o, { response: jwe });
    expect(replay.status).to.equal(409);
    expect(replay.body.error.code).to.equal("ERR_NONCE_REUSED");
    expect(await snapshot()).to.deep.equal(before);
  });

  it("our wallet's code: answers and declines encrypted to the request's key", async () => {
    const o = await open("verified");
    const params = await parameters(o, await credential());
    const query = o.payload.dcql_query.credentials[0].id as string;
    const submitted = await submitAuthorizationResponse({ payload: o.payload, credentialId: query, presentation: (params.vp_token as Record<string, string[]>)[query]![0]! });
    expect(submitted.redirectUri).to.match(/\/result\?response_code=/);
    const d = await open("verified");
    expect(await submitDecline({ payload: d.payload })).to.deep.equal({});
    expect(await status(d)).to.deep.equal({ status: "declined" });
  });

  it("an encrypted decline (error=access_denied) gets the same 200 JSON as a plain one, closes the request and drops its key", async () => {
    const o = await open("verified");
    const before = await snapshot();
    const declined = await post(o, { response: await jweFor(o, { error: "access_denied", error_description: "no", state: o.payload.state }) });
    expect(declined.status).to.equal(200);
    expect(declined.headers.get("content-type")).to.match(/^application\/json/);
    expect(declined.body).to.deep.equal({ status: "declined" });
    const plain = await open("verified", plainHarness.base);
    expect((await post(plain, { error: "access_denied", state: plain.payload.state })).body).to.deep.equal(declined.body);
    const session = await deps.sessions.get(o.requestId);
    expect(session!.declinedWith).to.equal("access_denied");
    expect(session!.responseDecryption).to.equal(undefined);
    expect(await snapshot()).to.deep.equal(before);
  });

  /** Each refusal: its code and a 4xx, nothing stored or anchored, the request still pending and then answerable. */
  const refusals: Array<[string, string, number, (o: Open, params: Record<string, unknown>) => Promise<Record<string, string> | { json: unknown }>]> = [
    ["a plain form answer (downgrade)", "ERR_RESPONSE_ENCRYPTION_REQUIRED", 400, async (_o, p) => ({ vp_token: JSON.stringify(p.vp_token), state: String(p.state) })],
    ["a plain decline (downgrade)", "ERR_RESPONSE_ENCRYPTION_REQUIRED", 400, async (o) => ({ error: "access_denied", state: o.payload.state })],
    ["our JSON answer form", "ERR_RESPONSE_ENCRYPTION_REQUIRED", 400, async () => ({ json: { presentation: "a~b~c" } })],
    ["`response` next to plain fields", "ERR_RESPONSE_ENCRYPTION_MALFORMED", 400, async (o, p) => ({ response: await jweFor(o, p), state: o.payload.state })],
    ["a wrong kid", "ERR_RESPONSE_ENCRYPTION_KID", 400, async (o, p) => ({ response: await jweFor(o, p, { kid: "another-key" }) })],
    ["key management RSA-OAEP-256", "ERR_RESPONSE_ENCRYPTION_ALG", 400, async (o, p) => ({ response: await jweFor(o, p, { alg: "RSA-OAEP-256" }, (await generateKeyPair("RSA-OAEP-256")).publicKey) })],
    ["key management dir", "ERR_RESPONSE_ENCRYPTION_ALG", 400, async (o, p) => ({ response: await jweFor(o, p, { alg: "dir", enc: "A128GCM" }, new Uint8Array(16)) })],
    ["content encryption A192GCM (not offered)", "ERR_RESPONSE_ENCRYPTION_ENC", 400, async (o, p) => ({ response: await jweFor(o, p, { enc: "A192GCM" }) })],
    ["a tampered ciphertext", "ERR_RESPONSE_ENCRYPTION_INVALID", 400, async (o, p) => {
      const parts = (await jweFor(o, p)).split(".");
      parts[3] = (parts[3]![0] === "A" ? "B" : "A") + parts[3]!.slice(1);
      return { response: parts.join(".") };
    }],
    ["a JWE for another request's key", "ERR_RESPONSE_ENCRYPTION_KID", 400, async (_o, p) => {
      const other = await open("verified");
      return { response: await jweFor(other, p) };
    }],
    ["another request's key under this request's kid", "ERR_RESPONSE_ENCRYPTION_INVALID", 400, async (o, p) => {
      const other = await open("verified");
      return { response: await jweFor(o, p, {}, await importJWK(other.payload.client_metadata.jwks.keys[0], "ECDH-ES") as CryptoKey) };
    }],
    ["a payload that is not a JSON object", "ERR_RESPONSE_ENCRYPTION_PAYLOAD", 400, async (o) => {
      const jwk = o.payload.client_metadata.jwks.keys[0];
      return { response: await new CompactEncrypt(new TextEncoder().encode("[1]")).setProtectedHeader({ alg: "ECDH-ES", enc: "A128GCM", kid: jwk.kid }).encrypt(await importJWK(jwk, "ECDH-ES")) };
    }],
    ["an oversized response", "ERR_BODY_TOO_LARGE", 413, async () => ({ response: "a".repeat(170_000) })],
  ];
  for (const [what, code, httpStatus, bend] of refusals) {
    it(`refused: ${what} (${code}); nothing stored, the request still answerable`, async () => {
      const cred = await credential();
      const o = await open("verified");
      const params = await parameters(o, cred);
      const before = await snapshot();
      const bent = await bend(o, params);
      const response = "json" in bent ? await call(o.payload.response_uri, { body: bent.json }) : await post(o, bent as Record<string, string>);
      expect(response.status, JSON.stringify(response.body)).to.equal(httpStatus);
      expect(response.body.error.code).to.equal(code);
      expect(await snapshot()).to.deep.equal(before);
      expect(await status(o)).to.deep.equal({ status: "pending" });
      expect((await deps.sessions.get(o.requestId))!.responseDecryption).to.not.equal(undefined);
      const honest = await post(o, { response: await jweFor(o, params) });
      expect(honest.status, JSON.stringify(honest.body)).to.equal(200);
    });
  }

  it("a merchant configured for plain direct_post refuses an encrypted answer (ERR_RESPONSE_ENCRYPTION_UNEXPECTED) and stores nothing", async () => {
    const o = await open("verified", plainHarness.base);
    expect(o.payload.response_mode).to.equal("direct_post");
    expect(o.payload.client_metadata).to.not.have.property("jwks");
    const { publicKey } = await generateKeyPair("ECDH-ES", { crv: "P-256" });
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(await parameters(o, await credential(plainHarness.statusList))))).setProtectedHeader({ alg: "ECDH-ES", enc: "A128GCM" }).encrypt(publicKey);
    const grants = (await plainHarness.deps.grants.list()).length;
    const response = await post(o, { response: jwe });
    expect(response.status).to.equal(400);
    expect(response.body.error.code).to.equal("ERR_RESPONSE_ENCRYPTION_UNEXPECTED");
    expect((await plainHarness.deps.grants.list()).length).to.equal(grants);
    expect((await plainHarness.deps.sessions.get(o.requestId))!.status).to.equal("pending");
  });
});
