import { expect } from "chai";
import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest } from "@sd-jwt/crypto-nodejs";
import {
  issueIdentityCredential,
  merchantPseudonymClaim,
  StatusListService,
  verifyReceipt,
  GRANT_RECEIPT_TYPE,
  type GrantRecord,
  type GrantLevel,
} from "@realname/agent";
import { type VerifierDeps } from "../../verifier-service/src/app.js";
import { CLAIMS, TEST_VCT } from "../helpers/sdjwt.js";
import { startInProcessVerifier, type InProcessVerifier } from "../helpers/verifier-harness.js";
import { newTestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";

/**
 * Our merchant answered by a wallet that follows OpenID4VP 1.0 and nothing else: the presentation is built
 * here with @sd-jwt/* and the key-binding JWT with jose, from the request object alone (DCQL query id and
 * claim paths, nonce, full client identifier, transaction_data); no consent receipt, no pseudonym proof.
 * Real HTTP on loopback, real LevelDB, real signatures, the issuer's real status list.
 */
describe("OpenID4VP 1.0 as written: a plain wallet's answer and decline at our merchant", function () {
  this.timeout(60_000);
  const issuer = newTestKey();
  const merchantKey = newTestKey();
  const merchant = { did: merchantKey.did, name: "Standard Shop", signer: merchantKey.signer };
  const clientId = `decentralized_identifier:${merchant.did}`;
  let t = Date.parse("2026-11-21T10:00:00Z");
  const clock = () => new Date(t);
  let harness: InProcessVerifier;
  let base: string;
  let deps: VerifierDeps;
  let statusList: StatusListService;
  let queueStore: InProcessVerifier["queueStore"];

  before(async () => {
    harness = await startInProcessVerifier({ issuer, merchant, clock, statusTtlSeconds: 60, checkout: { offers: [{ id: "age", title: "Age check", level: "verified", purpose: "Age check", retentionDays: 0, claims: [], ageOver18: true }] } });
    ({ base, deps, statusList, queueStore } = harness);
  });
  after(async () => {
    await harness?.close();
  });

  /** A credential from the trusted issuer (with this merchant's pseudonym claim), bound to a plain Ed25519 key. */
  async function credential() {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const jwk = publicKey.export({ format: "jwk" }) as { kty: "OKP"; crv: "Ed25519"; x: string };
    const status = await statusList.allocate();
    const sdjwt = await issueIdentityCredential({
      issuerDid: issuer.did,
      vct: TEST_VCT,
      signer: issuer.signer,
      holderJwk: { kty: "OKP", crv: "Ed25519", x: jwk.x },
      claims: CLAIMS,
      now: clock(),
      validForSeconds: 30 * 86_400,
      status,
      pseudonyms: { [merchantPseudonymClaim(merchant.did)]: "P".repeat(32) },
    });
    return { sdjwt, privateKey };
  }

  /** The merchant's front end opens a request; the wallet fetches the request object by reference. */
  async function open(level: GrantLevel) {
    const created = (await call(`${base}/requests`, { body: { level, purpose: `standard ${level}`, retentionDays: 30, claims: level === "full" ? ["full_name"] : [] } })).body;
    const requestJwt = (await (await fetch(created.requestUri)).text()).trim();
    return { requestId: created.requestId as string, transactionSecret: created.transactionSecret as string, requestJwt, header: decodeProtectedHeader(requestJwt), payload: decodeJwt(requestJwt) as Record<string, any> };
  }

  const b64urlSha256 = (s: string) => createHash("sha256").update(s).digest("base64url");

  /** What a spec-following wallet sends: the DCQL query's claims disclosed, a KB-JWT per Appendix B.3.6. */
  async function plainAnswer(o: Awaited<ReturnType<typeof open>>, cred: { sdjwt: string; privateKey: KeyObject }, bend: { kb?: (p: Record<string, unknown>) => Record<string, unknown>; form?: (f: URLSearchParams) => void } = {}) {
    const query = o.payload.dcql_query.credentials[0];
    const frame = Object.fromEntries(query.claims.map((c: { path: string[] }) => [c.path[0], true]));
    const sdjwt = new SDJwtVcInstance({ hasher: digest, hashAlg: "sha-256" });
    const presented = await sdjwt.present(cred.sdjwt, frame);
    const kbPayload: Record<string, unknown> = {
      iat: Math.floor(t / 1000),
      aud: o.payload.client_id,
      nonce: o.payload.nonce,
      sd_hash: b64urlSha256(presented),
      ...(o.payload.transaction_data ? { transaction_data_hashes: (o.payload.transaction_data as string[]).map(b64urlSha256) } : {}),
    };
    const kb = await new SignJWT(bend.kb ? bend.kb(kbPayload) : kbPayload).setProtectedHeader({ alg: "EdDSA", typ: "kb+jwt" }).sign(cred.privateKey);
    const form = new URLSearchParams({ vp_token: JSON.stringify({ [query.id]: [presented + kb] }), state: o.payload.state });
    bend.form?.(form);
    return { response: await call(o.payload.response_uri, { body: form.toString(), contentType: "application/x-www-form-urlencoded" }), presentation: presented + kb, kb };
  }

  const snapshot = async () => ({ grants: (await deps.grants.list()).length, accounts: (await deps.accounts.list()).length, queue: (await queueStore.list()).filter(([k]) => String(k).startsWith("record:")).length });

  it("the request object: aud per §5.8, vp_formats_supported per B.3.4, typed transaction_data naming the DCQL query", async () => {
    const o = await open("pseudonymous");
    expect(o.header.alg).to.equal("EdDSA");
    expect(o.header.typ).to.equal("oauth-authz-req+jwt");
    expect(o.payload.aud).to.equal("https://self-issued.me/v2");
    expect(o.payload.client_id).to.equal(clientId);
    expect(o.payload.response_mode).to.equal("direct_post");
    expect(o.payload.client_metadata.vp_formats_supported).to.deep.equal({ "dc+sd-jwt": { "sd-jwt_alg_values": ["EdDSA", "ES256"], "kb-jwt_alg_values": ["EdDSA", "ES256"] } });
    expect(o.payload).to.not.have.property("realname_grant");
    const query = o.payload.dcql_query.credentials[0];
    expect(query.claims.map((c: { path: string[] }) => c.path)).to.deep.equal([["real_name_verified"], [merchantPseudonymClaim(merchant.did)]]);
    expect(o.payload.transaction_data).to.have.length(1);
    const td = JSON.parse(Buffer.from(o.payload.transaction_data[0], "base64url").toString("utf8"));
    expect(td).to.deep.include({ type: "realname_grant", credential_ids: [query.id], request_id: o.requestId, level: "pseudonymous", purpose: "standard pseudonymous", retention_days: 30, merchant: { id: merchant.did, name: merchant.name } });
  });

  for (const level of ["verified", "pseudonymous", "full"] as const) {
    it(`${level}: a plain OpenID4VP 1.0 answer (vp_token only, full client id aud, transaction_data_hashes) completes; the grant receipt names the presentation`, async () => {
      const before = await snapshot();
      const o = await open(level);
      const { response, kb } = await plainAnswer(o, await credential());
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      expect(response.body.status).to.equal("accepted");
      expect(response.body.redirect_uri).to.match(/\/result\?response_code=/);
      expect(response.body.grant_receipt_uri).to.equal(`${base}/grants/${response.body.grantId}/receipt`);
      // Only the grant receipt is anchored: there is no consent receipt; the KB-JWT is the person's signed consent.
      expect(response.body.anchors).to.not.have.property("consent");
      expect(await snapshot()).to.deep.equal({ grants: before.grants + 1, accounts: before.accounts + (level === "pseudonymous" ? 1 : 0), queue: before.queue + 1 });
      const grant = await verifyReceipt<GrantRecord>(response.body.grantReceipt, GRANT_RECEIPT_TYPE);
      expect(grant.verified).to.equal(true);
      expect(grant.record!.consentReceiptHash).to.equal(undefined);
      expect(grant.record!.presentation).to.deep.equal({
        kbJwtHash: createHash("sha256").update(kb).digest("hex"),
        sdHash: decodeJwt(kb).sd_hash,
        transactionDataHash: b64urlSha256(o.payload.transaction_data[0]),
      });
      // The receipt offered for later is the same one.
      expect((await call(response.body.grant_receipt_uri)).body.grantReceipt).to.equal(response.body.grantReceipt);
      const stored = await deps.grants.get(response.body.grantId);
      expect(stored!.consentReceipt).to.equal(undefined);
      expect(stored!.transactionData).to.equal(o.payload.transaction_data[0]);
      expect(stored!.sealedPresentation).to.be.a("string");
      const result = (await call(response.body.redirect_uri)).body;
      expect(result.status).to.equal("accepted");
      if (level === "full") expect(result.claims).to.deep.equal({ real_name_verified: true, full_name: CLAIMS.full_name });
      else expect(result.claims).to.deep.equal({ real_name_verified: true });
      if (level === "pseudonymous") {
        // The account is keyed by the issuer-signed pseudonym the DCQL query named; no login key was sent.
        expect(result.account).to.deep.include({ pseudonym: "P".repeat(32), returning: false, visits: 1 });
        expect((await deps.accounts.get("P".repeat(32)))!.loginKeys).to.deep.equal([]);
      }
    });
  }

  it("pseudonymous: a second plain answer of the same person (another credential) enters the same account", async () => {
    const o = await open("pseudonymous");
    const { response } = await plainAnswer(o, await credential());
    expect(response.status, JSON.stringify(response.body)).to.equal(200);
    expect((await call(response.body.redirect_uri)).body.account).to.deep.include({ pseudonym: "P".repeat(32), returning: true, visits: 2 });
  });

  const refusals: Array<[string, string, (p: Record<string, unknown>) => Record<string, unknown>]> = [
    ["no transaction_data_hashes", "ERR_TRANSACTION_DATA_HASH_MISSING", ({ transaction_data_hashes: _dropped, ...p }) => p],
    ["the hash of other terms", "ERR_TRANSACTION_DATA_HASH_MISMATCH", (p) => ({ ...p, transaction_data_hashes: [b64urlSha256("eyJ0eXBlIjoicmVhbG5hbWVfZ3JhbnQifQ")] })],
    ["the hash of the decoded JSON instead of the string sent", "ERR_TRANSACTION_DATA_HASH_MISMATCH", (p) => ({ ...p, transaction_data_hashes: ["x".repeat(43)] })],
    ["the right hash twice", "ERR_TRANSACTION_DATA_HASH_MISMATCH", (p) => ({ ...p, transaction_data_hashes: [...(p.transaction_data_hashes as string[]), ...(p.transaction_data_hashes as string[])] })],
    ["a hash algorithm the request did not allow", "ERR_TRANSACTION_DATA_HASH_ALG", (p) => ({ ...p, transaction_data_hashes_alg: "sha-512" })],
    ["the bare DID as aud (not the client identifier)", "ERR_KB_AUDIENCE", (p) => ({ ...p, aud: merchant.did })],
  ];
  for (const [what, code, kb] of refusals) {
    it(`refused: ${what} (${code}); nothing stored, the nonce unspent, the same request still answerable`, async () => {
      const cred = await credential();
      const o = await open("full");
      const before = await snapshot();
      const { response } = await plainAnswer(o, cred, { kb });
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal(code);
      expect(await snapshot()).to.deep.equal(before);
      expect((await call(`${base}/requests/${o.requestId}/result`, { headers: { "x-transaction-secret": o.transactionSecret } })).body).to.deep.equal({ status: "pending" });
      expect((await plainAnswer(o, cred)).response.status).to.equal(200);
    });
  }

  it("a decline (error=access_denied, form-encoded, with state) gets 200 JSON, is recorded, and closes the request", async () => {
    const cred = await credential();
    const o = await open("verified");
    const before = await snapshot();
    const declined = await call(o.payload.response_uri, { body: new URLSearchParams({ error: "access_denied", error_description: "the user said no", state: o.payload.state }).toString(), contentType: "application/x-www-form-urlencoded" });
    expect(declined.status).to.equal(200);
    expect(declined.headers.get("content-type")).to.match(/^application\/json/);
    expect(declined.body.status).to.equal("declined");
    expect((await deps.sessions.get(o.requestId))!.declinedWith).to.equal("access_denied");
    expect((await call(`${base}/requests/${o.requestId}/result`, { headers: { "x-transaction-secret": o.transactionSecret } })).body).to.deep.equal({ status: "declined" });
    // Closed: a later answer is refused, a second decline too; nothing was stored.
    const late = (await plainAnswer(o, cred)).response;
    expect(late.status).to.equal(409);
    expect(late.body.error.code).to.equal("ERR_NONCE_REUSED");
    expect((await call(o.payload.response_uri, { body: new URLSearchParams({ error: "access_denied", state: o.payload.state }).toString(), contentType: "application/x-www-form-urlencoded" })).status).to.equal(409);
    expect(await snapshot()).to.deep.equal(before);
  });

  it("a decline for another request's state, or with a malformed error code, is refused and records nothing", async () => {
    const o = await open("verified");
    const other = await open("verified");
    const wrongState = await call(o.payload.response_uri, { body: new URLSearchParams({ error: "access_denied", state: other.payload.state }).toString(), contentType: "application/x-www-form-urlencoded" });
    expect(wrongState.status).to.equal(400);
    expect(wrongState.body.error.code).to.equal("ERR_VP_RESPONSE_INVALID");
    const badCode = await call(o.payload.response_uri, { body: new URLSearchParams({ error: 'access_denied"\\', state: o.payload.state }).toString(), contentType: "application/x-www-form-urlencoded" });
    expect(badCode.status).to.equal(400);
    expect((await deps.sessions.get(o.requestId))!.status).to.equal("pending");
  });

  it("checkout: a declined request says so on the page and in its status; the wallet is sent back there", async () => {
    const opened = await fetch(`${base}/checkout`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: base }, body: "offer=age", redirect: "manual" });
    expect(opened.status).to.equal(303);
    const page = new URL(opened.headers.get("location")!, base).href;
    const cookie = opened.headers.get("set-cookie")!.split(";")[0]!;
    const requestId = page.split("/").pop()!;
    const declined = await call(`${base}/requests/${requestId}/response`, { body: new URLSearchParams({ error: "access_denied", state: requestId }).toString(), contentType: "application/x-www-form-urlencoded" });
    expect(declined.status).to.equal(200);
    expect(declined.body).to.deep.equal({ status: "declined", redirect_uri: page });
    expect(((await (await fetch(`${page}/status`, { headers: { cookie } })).json()) as { status: string }).status).to.equal("declined");
    expect(await (await fetch(page, { headers: { cookie } })).text()).to.contain('data-state="declined"');
  });
});
