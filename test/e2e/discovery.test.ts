import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, importJWK, jwtVerify, SignJWT } from "jose";
import {
  AnchorRegistryClient,
  bindPresentation,
  confirmRegistration,
  fetchJson,
  HolderWallet,
  IssuerMetadataResolver,
  issueIdentityCredential,
  jwkFromDidKey,
  jwtVcIssuerMetadataUrl,
  loadTrustAnchors,
  REPO_ROOT,
  selectDisclosures,
  StatusListResolver,
  submitRegistration,
  verifyEvidenceBundle,
  verifyPresentation,
  type GrantLevel,
} from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { newTestKey, type TestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";
import { CLAIMS } from "../helpers/sdjwt.js";
import { startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";

const ADMIN = "discovery-admin-token";
const PERSON = { fullName: "张三", idNumber: "110105199003071239", portrait: readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-live.jpg")) };
const b64json = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));

/**
 * Issuance and discovery (issue 13): an issuer named by its URL (ISSUER_IDENTIFIER=url) is found without DID
 * resolution (SD-JWT VC JWT VC Issuer Metadata), its `vct` resolves to Type Metadata, a standard OpenID4VCI
 * client written with jose alone redeems its offer (and gets `unknown_credential_configuration` for a
 * configuration it does not offer), and a verifier that trusts the issuer by URL accepts its credentials
 * and refuses anyone else's.
 */
describe("Discovery: an https issuer found from its URL alone (jwt-vc-issuer, vct type metadata, OpenID4VCI errors)", function () {
  this.timeout(180_000);
  let chain: EmbeddedChain;
  let deploymentFile: string;
  let deploymentAddress: string;
  let issuer: ServiceProcess;
  let shop: ServiceProcess;
  let wallet: HolderWallet;
  let work: string;
  let deviceSeq = 0;

  const admin = (path: string, body: unknown, method = "POST") => fetchJson(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN}` } });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "discovery-"));
    const c = await chainWithRegistry();
    chain = c.chain;
    deploymentFile = c.deploymentFile;
    deploymentAddress = c.deployment.address;
    issuer = await startService("issuer-service", {
      DATA_DIR: join(work, "issuer"),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: deploymentFile,
      ISSUER_PASSPHRASE: "discovery-issuer",
      ISSUER_DATA_KEY: "33".repeat(32),
      ADMIN_TOKEN: ADMIN,
      ANCHOR_DEV_ACCOUNT: "2",
      STATUS_PUBLISH_INTERVAL_SECONDS: "0.2",
      RISK_MAX_PER_ADDRESS: "1000",
      RISK_MAX_PER_ID_NUMBER: "1000",
      ISSUER_IDENTIFIER: "url",
    });
    // The merchant trusts the issuer by its URL: no DID anywhere in its configuration.
    shop = await startService("verifier-service", {
      DATA_DIR: join(work, "shop"),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: deploymentFile,
      ANCHOR_DEV_ACCOUNT: "1",
      MERCHANT_NAME: "URL Shop",
      MERCHANT_PASSPHRASE: "discovery-shop",
      // Plain answers: a test below posts a forged presentation straight to the response endpoint.
      RESPONSE_MODE: "direct_post",
      TRUSTED_ISSUERS: issuer.url,
      ISSUER_URL: issuer.url,
      ANCHOR_BATCH_AGE_MS: "300",
      STATUS_CACHE_SECONDS: "0",
    });
    await admin("/admin/merchants", { did: shop.did, name: "URL Shop", maxLevel: "full", purposes: ["discovery verified", "discovery full"], fullClaims: ["full_name", "id_number"], origins: [new URL(shop.url).origin] }, "PUT");
    wallet = await HolderWallet.open({ dir: join(work, "wallet"), pin: "246810" });
    await wallet.init();
    await admin("/admin/devices", { deviceId: "discovery-phone", label: "test phone", publicJwk: (await wallet.deviceKey()).publicJwk });
  });
  after(async () => {
    await wallet?.close();
    await Promise.allSettled([issuer, shop].filter(Boolean).map((s) => s.stop()));
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** A confirmed registration's credential offer (a fresh capture device each time). */
  async function offer(): Promise<string> {
    const key = newTestKey();
    const deviceId = `discovery-kiosk-${++deviceSeq}`;
    await admin("/admin/devices", { deviceId, label: "kiosk", publicJwk: jwkFromDidKey(key.did) });
    const submitted = await submitRegistration(issuer.url, { deviceId, signer: key.signer }, PERSON);
    return (await confirmRegistration(issuer.url, submitted.registrationId, true)).credentialOffer!;
  }

  /**
   * OpenID4VCI 1.0 pre-authorized code flow as a client written from the specification would run it: fetch
   * the offer and the metadata, redeem the code, get a c_nonce, sign a proof with jose. Returns the raw
   * credential responses so a test can send more than one request with the same token.
   */
  async function standardClient(holder: TestKey) {
    const offerUri = new URL(await offer()).searchParams.get("credential_offer_uri")!;
    const credentialOffer = (await call(offerUri)).body;
    const metadata = (await call(`${credentialOffer.credential_issuer}/.well-known/openid-credential-issuer`)).body;
    const token = await call(`${credentialOffer.credential_issuer}/token`, {
      body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": credentialOffer.grants["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"] }).toString(),
      contentType: "application/x-www-form-urlencoded",
    });
    expect(token.status, JSON.stringify(token.body)).to.equal(200);
    const { c_nonce } = (await call(metadata.nonce_endpoint, { method: "POST" })).body;
    const proof = await new SignJWT({ aud: credentialOffer.credential_issuer, nonce: c_nonce })
      .setProtectedHeader({ alg: "EdDSA", typ: "openid4vci-proof+jwt", jwk: jwkFromDidKey(holder.did) })
      .setIssuedAt()
      .sign(holder.privateKey);
    const request = (body: Record<string, unknown>) => call(metadata.credential_endpoint, { body: { ...body, proofs: { jwt: [proof] } }, headers: { authorization: `Bearer ${token.body.access_token}` } });
    return { credentialOffer, metadata, request };
  }

  describe("the issuer identifier: its URL when PUBLIC_URL is https, its DID in development, ISSUER_IDENTIFIER overrides", () => {
    const start = (key: string, extra: Record<string, string>) =>
      startService("issuer-service", { DATA_DIR: join(work, key), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: deploymentFile, ISSUER_PASSPHRASE: "discovery-modes", ISSUER_DATA_KEY: "44".repeat(32), ADMIN_TOKEN: ADMIN, ANCHOR_DEV_ACCOUNT: "2", ...extra });
    it("chooses by PUBLIC_URL, publishes jwt-vc-issuer metadata and the vct under it in every mode, and refuses an unknown mode", async () => {
      const deployed = await start("deployed", { PUBLIC_URL: "https://issuer.example/cn" });
      const dev = await start("dev", {});
      try {
        const info = (await call(`${deployed.url}/.well-known/issuer`)).body;
        expect(info.iss).to.equal("https://issuer.example/cn");
        expect(info.credentialTypes).to.deep.equal(["https://issuer.example/cn/vct/realname-identity/v1"]);
        // Behind its public URL the path component follows the well-known part.
        const meta = (await call(`${deployed.url}/.well-known/jwt-vc-issuer/cn`)).body;
        expect(meta.issuer).to.equal("https://issuer.example/cn");
        expect(meta.jwks.keys[0]).to.include({ ...jwkFromDidKey(deployed.did), kid: `${deployed.did}#${deployed.did.slice(8)}` });
        expect((await call(`${deployed.url}/.well-known/jwt-vc-issuer/other`)).status).to.equal(404);
        expect((await call(`${deployed.url}/vct/realname-identity/v1`)).body.vct).to.equal("https://issuer.example/cn/vct/realname-identity/v1");
        const devInfo = (await call(`${dev.url}/.well-known/issuer`)).body;
        expect(devInfo.iss).to.equal(dev.did);
        expect((await call(`${dev.url}/.well-known/jwt-vc-issuer`)).body.issuer).to.equal(dev.url);
      } finally {
        await Promise.allSettled([deployed.stop(), dev.stop()]);
      }
      const forced = await start("forced", { PUBLIC_URL: "https://issuer.example", ISSUER_IDENTIFIER: "did" });
      try {
        expect((await call(`${forced.url}/.well-known/issuer`)).body.iss).to.equal(forced.did);
      } finally {
        await forced.stop();
      }
      let refused = "";
      await start("bogus", { ISSUER_IDENTIFIER: "dns" }).then((s) => s.stop(), (e: Error) => (refused = e.message));
      expect(refused).to.match(/ISSUER_IDENTIFIER must be did or url/);
    });
  });

  describe("OpenID4VCI: a client written with jose alone", () => {
    it("a configuration the issuer does not offer is 400 unknown_credential_configuration (§8.3.1.2); a credential_identifier is unknown_credential_identifier; the offered one is issued", async () => {
      const holder = newTestKey();
      const client = await standardClient(holder);
      const unknown = await client.request({ credential_configuration_id: "NoSuchConfiguration" });
      expect(unknown.status).to.equal(400);
      expect(unknown.body.error).to.equal("unknown_credential_configuration");
      expect(unknown.body.error_description).to.be.a("string");
      const identifier = await client.request({ credential_identifier: "realname-1" });
      expect(identifier.status).to.equal(400);
      expect(identifier.body.error).to.equal("unknown_credential_identifier");
      // Neither refusal spent anything: the same token and proof still get the offered configuration.
      const offered = client.credentialOffer.credential_configuration_ids[0];
      const issued = await client.request({ credential_configuration_id: offered });
      expect(issued.status, JSON.stringify(issued.body)).to.equal(200);
      expect(issued.body.credentials).to.have.length(1);
    });

    it("the credential's issuer signature verifies with the key from /.well-known/jwt-vc-issuer alone (jose, no DID resolution); vct resolves to type metadata in Chinese and English", async () => {
      const holder = newTestKey();
      const client = await standardClient(holder);
      const issued = await client.request({ credential_configuration_id: client.credentialOffer.credential_configuration_ids[0] });
      const sdJwt: string = issued.body.credentials[0].credential;
      const issuerJwt = sdJwt.split("~")[0]!;
      const { iss, vct } = b64json(issuerJwt.split(".")[1]!);
      expect(iss).to.equal(issuer.url);
      expect(iss).to.equal(client.credentialOffer.credential_issuer);

      // SD-JWT VC: the well-known path goes between the host and the path component of `iss`.
      const metadataUrl = `${new URL(iss).origin}/.well-known/jwt-vc-issuer${new URL(iss).pathname.replace(/\/$/, "")}`;
      expect(jwtVcIssuerMetadataUrl(iss)).to.equal(metadataUrl);
      expect(jwtVcIssuerMetadataUrl("https://issuer.example/tenant/a")).to.equal("https://issuer.example/.well-known/jwt-vc-issuer/tenant/a");
      const served = await call(metadataUrl);
      expect(served.status).to.equal(200);
      expect(served.body.issuer).to.equal(iss);
      expect(served.body.jwks.keys).to.have.length.greaterThan(0);
      const { payload } = await jwtVerify(issuerJwt, createLocalJWKSet(served.body.jwks), { issuer: iss, typ: "dc+sd-jwt" });
      expect(payload.iss).to.equal(iss);
      // The key the header names, imported on its own: the signature holds, and fails on a changed payload.
      const { kid } = decodeProtectedHeader(issuerJwt);
      const jwk = served.body.jwks.keys.find((k: { kid?: string }) => k.kid === kid);
      await compactVerify(issuerJwt, await importJWK(jwk, "EdDSA"));
      const [h, p, s] = issuerJwt.split(".");
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...b64json(p!), iss: "https://evil.example" })).toString("base64url")}.${s}`;
      let refused = false;
      await compactVerify(tampered, await importJWK(jwk, "EdDSA")).catch(() => (refused = true));
      expect(refused).to.equal(true);

      // vct: an URL under the issuer's public URL, serving SD-JWT VC Type Metadata.
      expect(vct).to.equal(`${issuer.url}/vct/realname-identity/v1`);
      expect(Object.values(client.metadata.credential_configurations_supported as Record<string, { vct: string }>).map((c) => c.vct)).to.include(vct);
      const type = await call(vct);
      expect(type.status).to.equal(200);
      expect(type.body.vct).to.equal(vct);
      expect(type.body.display.map((d: { locale: string }) => d.locale)).to.include.members(["zh-CN", "en"]);
      expect(type.body.display.find((d: { locale: string }) => d.locale === "zh-CN").name).to.equal("实名身份凭证");
      const byPath = new Map<string, any>(type.body.claims.map((c: { path: string[] }) => [c.path.join("."), c]));
      for (const name of ["real_name_verified", "age_over_18", "family_name", "given_name", "full_name", "id_number", "birth_date"]) {
        const claim = byPath.get(name);
        expect(claim, name).to.exist;
        expect(claim.sd).to.equal("always");
        expect(claim.display.map((d: { locale: string }) => d.locale)).to.include.members(["zh-CN", "en"]);
      }
      expect(byPath.get("full_name").display.find((d: { locale: string }) => d.locale === "zh-CN").label).to.equal("姓名");
      expect(byPath.get("status").sd).to.equal("never");
      // The status list names the same issuer and is signed by the key the metadata published.
      const status = b64json(issuerJwt.split(".")[1]!).status.status_list;
      const list = await fetch(status.uri).then((r) => r.text());
      const { payload: listPayload } = await jwtVerify(list, createLocalJWKSet(served.body.jwks), { typ: "statuslist+jwt" });
      expect(listPayload.iss).to.equal(iss);
    });
  });

  describe("a verifier that trusts the issuer by URL", () => {
    /** A credential of the real issuer (the first configuration, EdDSA, unless named), key-bound for an audience and nonce. */
    async function realPresentation(audience: string, nonce: string, configurationId?: string) {
      const holder = newTestKey();
      const client = await standardClient(holder);
      const credential: string = (await client.request({ credential_configuration_id: configurationId ?? client.credentialOffer.credential_configuration_ids[0] })).body.credentials[0].credential;
      const { presented, sdHash } = await selectDisclosures(credential, ["real_name_verified"]);
      return bindPresentation({ presented, sdHash, audience, nonce, now: new Date(), signer: holder.signer });
    }
    async function foreignPresentation(args: { iss: string; issuerDid: string; signer: TestKey["signer"]; audience: string; nonce: string }) {
      const holder = newTestKey();
      const credential = await issueIdentityCredential({ issuerDid: args.issuerDid, iss: args.iss, vct: `${issuer.url}/vct/realname-identity/v1`, signer: args.signer, holderJwk: jwkFromDidKey(holder.did), claims: CLAIMS, now: new Date(), validForSeconds: 3600 });
      const { presented, sdHash } = await selectDisclosures(credential, ["real_name_verified"]);
      return bindPresentation({ presented, sdHash, audience: args.audience, nonce: args.nonce, now: new Date(), signer: holder.signer });
    }
    const verify = async (presentation: string, trusted: string[]) =>
      verifyPresentation({ presentation, trustedIssuers: await new IssuerMetadataResolver().resolve(trusted), audience: "aud", nonce: "nonce-1", expectedVct: `${issuer.url}/vct/realname-identity/v1`, status: new StatusListResolver({ allowLoopbackHttp: true }) });

    let other: { server: Server; url: string; key: TestKey };
    before(async () => {
      // Another issuer named by its URL, publishing its key by jwks_uri (the other form the draft allows).
      const key = newTestKey();
      const app = express();
      app.get("/.well-known/jwt-vc-issuer", (_req, res) => void res.json({ issuer: other.url, jwks_uri: `${other.url}/keys.json` }));
      app.get("/keys.json", (_req, res) => void res.json({ keys: [{ ...jwkFromDidKey(key.did), kid: `${key.did}#${key.did.slice(8)}` }] }));
      const server = app.listen(0, "127.0.0.1");
      await new Promise((r) => server.once("listening", r));
      other = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, key };
    });
    after(() => other?.server.close());

    it("accepts its credentials (issuer key and status list key from its metadata) and refuses another issuer's, a forgery in its name, and its own under another's trust", async () => {
      const trusted = [issuer.url];
      const ok = await verify(await realPresentation("aud", "nonce-1"), trusted);
      expect(ok.verified, JSON.stringify(ok.errors)).to.equal(true);
      expect(ok.issuer).to.equal(issuer.url);

      const code = (r: { errors: Array<{ code: string }> }) => r.errors[0]?.code;
      // Another issuer (by URL), not trusted here.
      const foreign = await foreignPresentation({ iss: other.url, issuerDid: other.key.did, signer: other.key.signer, audience: "aud", nonce: "nonce-1" });
      expect(code(await verify(foreign, trusted))).to.equal("ERR_ISSUER_UNTRUSTED");
      // A forger claiming the trusted URL: its own key (kid) is not the published one ...
      const forger = newTestKey();
      const forgedKid = await foreignPresentation({ iss: issuer.url, issuerDid: forger.did, signer: forger.signer, audience: "aud", nonce: "nonce-1" });
      expect(code(await verify(forgedKid, trusted))).to.equal("ERR_ISSUER_UNTRUSTED");
      // ... and naming the published kid does not make its signature the issuer's.
      const forgedSig = await foreignPresentation({ iss: issuer.url, issuerDid: issuer.did, signer: forger.signer, audience: "aud", nonce: "nonce-1" });
      expect(code(await verify(forgedSig, trusted))).to.equal("ERR_SDJWT_SIGNATURE");
      // A verifier trusting only the other issuer (keys by jwks_uri) accepts the other's signature and refuses ours.
      const byOther = await verifyPresentation({ presentation: foreign, trustedIssuers: await new IssuerMetadataResolver().resolve([other.url]), audience: "aud", nonce: "nonce-1" });
      expect(byOther.verified, JSON.stringify(byOther.errors)).to.equal(true);
      expect(code(await verify(await realPresentation("aud", "nonce-1"), [other.url]))).to.equal("ERR_ISSUER_UNTRUSTED");
    });

    it("the metadata publishes both credential keys (Ed25519 and P-256, each with the kid credentials name): a verifier trusting the URL accepts EdDSA and ES256 credentials alike", async () => {
      const { jwks } = (await call(`${issuer.url}/.well-known/jwt-vc-issuer`)).body;
      expect(jwks.keys.map((k: { kty: string; alg: string }) => `${k.kty}/${k.alg}`)).to.have.members(["OKP/EdDSA", "EC/ES256"]);
      // The JWKS (OAuth) carries the same P-256 key under the same kid.
      const es256Key = jwks.keys.find((k: { kty: string }) => k.kty === "EC");
      expect((await call(`${issuer.url}/.well-known/jwks.json`)).body.keys.find((k: { kty: string }) => k.kty === "EC")).to.include({ kid: es256Key.kid, x: es256Key.x, y: es256Key.y });
      const metadata = (await call(`${issuer.url}/.well-known/openid-credential-issuer`)).body;
      const byAlg = Object.fromEntries(Object.entries(metadata.credential_configurations_supported as Record<string, { credential_signing_alg_values_supported: string[] }>).map(([id, c]) => [c.credential_signing_alg_values_supported[0], id]));
      for (const alg of ["EdDSA", "ES256"]) {
        const presentation = await realPresentation("aud", "nonce-1", byAlg[alg]);
        const header = decodeProtectedHeader(presentation.split("~")[0]!);
        expect(header.alg).to.equal(alg);
        expect(jwks.keys.map((k: { kid: string }) => k.kid)).to.include(header.kid);
        const r = await verify(presentation, [issuer.url]);
        expect(r.verified, `${alg}: ${JSON.stringify(r.errors)}`).to.equal(true);
        expect(r.issuer).to.equal(issuer.url);
      }
    });

    it("metadata that names another issuer, or sends jwks_uri to another origin, is refused (ERR_ISSUER_METADATA_INVALID); an issuer that cannot be reached is ERR_ISSUER_METADATA_UNAVAILABLE", async () => {
      const app = express();
      let doc: Record<string, unknown> = {};
      app.get("/.well-known/jwt-vc-issuer", (_req, res) => void res.json(doc));
      const server = app.listen(0, "127.0.0.1");
      await new Promise((r) => server.once("listening", r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const codeOf = (p: Promise<unknown>) => p.then(() => "accepted", (e) => (e as { code: string }).code);
      try {
        doc = { issuer: issuer.url, jwks: (await call(`${issuer.url}/.well-known/jwt-vc-issuer`)).body.jwks };
        expect(await codeOf(new IssuerMetadataResolver().keysOf(url))).to.equal("ERR_ISSUER_METADATA_INVALID");
        doc = { issuer: url, jwks_uri: `${issuer.url}/.well-known/jwt-vc-issuer` };
        expect(await codeOf(new IssuerMetadataResolver().keysOf(url))).to.equal("ERR_ISSUER_METADATA_INVALID");
        doc = { issuer: url, jwks: { keys: [{ kty: "OKP", crv: "Ed25519", x: "AAAA", d: "AAAA" }] } };
        expect(await codeOf(new IssuerMetadataResolver().keysOf(url))).to.equal("ERR_ISSUER_METADATA_INVALID");
      } finally {
        server.close();
      }
      expect(await codeOf(new IssuerMetadataResolver().keysOf(url))).to.equal("ERR_ISSUER_METADATA_UNAVAILABLE");
    });

    it("end to end: the wallet receives (checked with the metadata keys), the merchant trusting the URL accepts verified and full; a forgery in the issuer's name is refused over HTTP; evidence verifies against the issuer's DID", async () => {
      const reg = await wallet.register(issuer.url, PERSON, { deviceId: "discovery-phone", batchSize: 4, confirm: async () => true });
      expect(reg.received).to.equal(4);
      const results: Record<string, any> = {};
      for (const level of ["verified", "full"] as GrantLevel[]) {
        const created = await fetchJson<{ requestId: string; requestUri: string }>(`${shop.url}/requests`, { body: { level, purpose: `discovery ${level}`, claims: level === "full" ? ["full_name"] : [] } });
        const entry = await wallet.answer(await wallet.preview(created.requestUri));
        results[level] = { entry, learned: await fetchJson<any>(entry.returnTo!) };
      }
      expect(results.verified.learned.claims).to.deep.equal({ real_name_verified: true });
      expect(results.full.learned.claims).to.deep.equal({ real_name_verified: true, full_name: "张三" });

      const created = await fetchJson<{ requestId: string; requestUri: string }>(`${shop.url}/requests`, { body: { level: "verified", purpose: "discovery verified" } });
      const requestObject = await fetch(created.requestUri).then((r) => r.text());
      const { nonce } = b64json(requestObject.split(".")[1]!);
      const forger = newTestKey();
      const forged = await foreignPresentation({ iss: issuer.url, issuerDid: forger.did, signer: forger.signer, audience: shop.did, nonce });
      const answer = await call(`${shop.url}/requests/${created.requestId}/response`, { body: { presentation: forged, consentReceipt: "a.b.c" } });
      expect(answer.status).to.equal(400);
      expect(answer.body.error.code).to.equal("ERR_ISSUER_UNTRUSTED");

      // The notary trusts the issuer's DID; the credential names the issuer's URL and is signed by that DID's key.
      const issuerDid = (await fetchJson<{ did: string }>(`${issuer.url}/.well-known/issuer`)).did;
      let bundle: any;
      for (let i = 0; i < 60 && !bundle; i++) {
        bundle = await wallet.evidence(results.full.entry.grantId, { rpcUrl: chain.url }).catch(async (e) => (e.code === "ERR_NOT_ANCHORED" ? void (await new Promise((r) => setTimeout(r, 250))) : Promise.reject(e)));
      }
      const trust = loadTrustAnchors({ deploymentFile, rpcUrl: chain.url, issuers: [issuerDid] });
      const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deploymentAddress });
      const report = await verifyEvidenceBundle({ ...bundle, presentation: wallet.presentationOf(results.full.entry) }, { trust, registry }).finally(() => registry.close());
      expect(report.checks.filter((c) => c.status !== "pass"), JSON.stringify(report.checks.filter((c) => c.status !== "pass"))).to.deep.equal([]);
      expect(report.checks.find((c) => c.check === "presentation-issuer-trusted")!.status).to.equal("pass");
    });
  });
});
