import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { compactVerify, importJWK } from "jose";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest } from "@sd-jwt/crypto-nodejs";
import {
  AnchorRegistryClient,
  b64url,
  loadTrustAnchors,
  verifyEvidenceBundle,
  confirmRegistration,
  CONSENT_RECEIPT_TYPE,
  decodeJws,
  fetchJson,
  generateSigningKey,
  GRANT_RECEIPT_TYPE,
  HolderWallet,
  jwkFromDidKey,
  redeemCredentialOffer,
  REPO_ROOT,
  signJws,
  submitRegistration,
  verifyJwt,
  verifyReceipt,
  verifySdJwtPresentation,
  type JwsAlg,
  type PublicJwk,
} from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { call } from "../helpers/http.js";
import { startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";

const PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const ZHANG = { fullName: "张三", idNumber: "110105199003071239", portrait: readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-live.jpg")) };
const b64json = (o: unknown) => b64url(Buffer.from(JSON.stringify(o)));

/**
 * ES256 next to EdDSA over real HTTP: the issuer's two credential configurations, proofs and holder keys in
 * either algorithm, credentials checked by our verifier and independently by @sd-jwt/sd-jwt-vc with jose, and
 * our wallet with P-256 holder keys answering a merchant whose DID is a P-256 did:key (ES256 request objects
 * and grant receipts).
 */
describe("ES256 (P-256) next to EdDSA, end to end over HTTP", function () {
  this.timeout(180_000);
  let work: string;
  let chain: EmbeddedChain;
  let issuer: ServiceProcess;
  let verifier: ServiceProcess;
  let wallet: HolderWallet;
  const ADMIN = randomBytes(16).toString("hex");
  let seq = 0;
  const admin = (path: string, body?: unknown, method = "POST") => call(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN}` } });
  let deploymentFile: string;
  let deploymentAddress: string;
  let jwks: Array<PublicJwk & { kid: string; alg: string }>;

  async function offer(): Promise<string> {
    const device = generateSigningKey("EdDSA");
    const deviceId = `es256-device-${++seq}`;
    expect((await admin("/admin/devices", { deviceId, label: "kiosk", publicJwk: device.publicJwk })).status).to.equal(201);
    const submitted = await submitRegistration(issuer.url, { deviceId, signer: device.signer }, ZHANG);
    return (await confirmRegistration(issuer.url, submitted.registrationId, true)).credentialOffer!;
  }

  /** The issuer's keys as a verifier's trust list: the DID (its Ed25519 key) and the JWKS's P-256 key for the same iss. */
  const trustList = () => [issuer.did, ...jwks.filter((k) => k.kty === "EC").map((k) => ({ iss: issuer.did, jwk: { kty: "EC", crv: "P-256", x: k.x, y: (k as { y: string }).y } as PublicJwk }))];

  /**
   * @sd-jwt/sd-jwt-vc with jose as the signature checker, each JWT's key (the credential's and its status
   * list's) picked from the issuer's JWKS by the header's kid (the Ed25519 key is the DID's own method id).
   */
  async function independentlyVerified(credential: string): Promise<Record<string, unknown>> {
    const sdjwt = new SDJwtVcInstance({
      hasher: digest,
      verifier: async (data, sig) => {
        const header = JSON.parse(Buffer.from(data.split(".")[0]!, "base64url").toString());
        const kid = header.kid === `${issuer.did}#${issuer.did.slice(8)}` ? "issuer-key" : header.kid;
        const key = jwks.find((k) => k.kid === kid && k.alg === header.alg);
        if (!key) return false;
        try {
          await compactVerify(`${data}.${sig}`, await importJWK(key as never, key.alg));
          return true;
        } catch {
          return false;
        }
      },
    });
    return (await sdjwt.verify(credential)).payload as Record<string, unknown>;
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "es256-"));
    const c = await chainWithRegistry();
    chain = c.chain;
    deploymentFile = c.deploymentFile;
    deploymentAddress = c.deployment.address;
    issuer = await startService("issuer-service", { DATA_DIR: join(work, "issuer"), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: c.deploymentFile, ISSUER_PASSPHRASE: "es256", ISSUER_DATA_KEY: "45".repeat(32), ADMIN_TOKEN: ADMIN, ANCHOR_DEV_ACCOUNT: "2", ANCHOR_BATCH_AGE_MS: "300", RISK_MAX_PER_ADDRESS: "100000", RISK_MAX_PER_ID_NUMBER: "100000", RISK_MAX_PER_DEVICE: "100000" });
    jwks = (await call(`${issuer.url}/.well-known/jwks.json`)).body.keys;
    const es256Keys = jwks.filter((k) => k.kty === "EC").map((k) => ({ iss: issuer.did, jwk: { kty: k.kty, crv: k.crv, x: k.x, y: (k as { y: string }).y } }));
    verifier = await startService("verifier-service", {
      DATA_DIR: join(work, "verifier"),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ANCHOR_DEV_ACCOUNT: "1",
      MERCHANT_NAME: "ES256 Shop",
      MERCHANT_PASSPHRASE: "es256",
      MERCHANT_ALG: "ES256",
      TRUSTED_ISSUERS: issuer.did,
      TRUSTED_ISSUER_KEYS: JSON.stringify(es256Keys),
      ISSUER_URL: issuer.url,
      RATE_LIMIT_PER_MINUTE: "100000",
      ANCHOR_BATCH_AGE_MS: "300",
    });
    const put = await admin("/admin/merchants", { did: verifier.did, name: "ES256 Shop", maxLevel: "full", purposes: ["es256"], fullClaims: ["full_name", "id_number"], origins: [new URL(verifier.url).origin] }, "PUT");
    expect(put.status).to.be.oneOf([200, 201, 204]);
  });
  after(async () => {
    await wallet?.close().catch(() => undefined);
    await Promise.allSettled([verifier?.stop(), issuer?.stop()]);
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("the metadata lists two configurations (EdDSA and ES256), each with its signing and proof algorithms; the JWKS has both keys; the offer both ids", async () => {
    const meta = (await call(`${issuer.url}/.well-known/openid-credential-issuer`)).body;
    const configs = meta.credential_configurations_supported;
    expect(Object.keys(configs)).to.deep.equal(["RealNameIdentity_dc_sd_jwt", "RealNameIdentity_dc_sd_jwt_es256"]);
    expect(configs.RealNameIdentity_dc_sd_jwt.credential_signing_alg_values_supported).to.deep.equal(["EdDSA"]);
    expect(configs.RealNameIdentity_dc_sd_jwt_es256.credential_signing_alg_values_supported).to.deep.equal(["ES256"]);
    expect(configs.RealNameIdentity_dc_sd_jwt.proof_types_supported.jwt.proof_signing_alg_values_supported).to.have.members(["EdDSA", "ES256"]);
    expect(configs.RealNameIdentity_dc_sd_jwt_es256.proof_types_supported.jwt.proof_signing_alg_values_supported).to.have.members(["EdDSA", "ES256"]);
    expect(jwks.map((k) => [k.kty, k.alg])).to.deep.equal([["OKP", "EdDSA"], ["EC", "ES256"]]);
    const es = jwks[1]!;
    expect(es.kid).to.match(new RegExp(`^${issuer.did}#[A-Za-z0-9_-]{43}$`));
    const offerUri = new URL((await offer()).replace("openid-credential-offer://", "https://x/")).searchParams.get("credential_offer_uri")!;
    expect((await call(offerUri)).body.credential_configuration_ids).to.deep.equal(["RealNameIdentity_dc_sd_jwt", "RealNameIdentity_dc_sd_jwt_es256"]);
  });

  for (const credentialAlg of ["EdDSA", "ES256"] as JwsAlg[]) {
    it(`a batch of the ${credentialAlg} configuration with proofs in both algorithms: signed ${credentialAlg}, bound to P-256 and Ed25519 keys, verified by ours and by @sd-jwt + jose`, async () => {
      const keys = [generateSigningKey("ES256"), generateSigningKey("EdDSA"), generateSigningKey("ES256")];
      const result = await redeemCredentialOffer({ offer: await offer(), keys: keys.map((k) => ({ did: k.did, signer: k.signer })), credentialAlg });
      expect(result.credentialConfigurationId).to.equal(credentialAlg === "ES256" ? "RealNameIdentity_dc_sd_jwt_es256" : "RealNameIdentity_dc_sd_jwt");
      expect(result.credentials).to.have.length(3);
      for (const [i, credential] of result.credentials.entries()) {
        const header = decodeJws(credential.split("~")[0])!.header;
        expect(header).to.include({ alg: credentialAlg, typ: "dc+sd-jwt" });
        const ours = verifySdJwtPresentation({ presentation: credential, trustedIssuers: trustList(), audience: "", nonce: "", requireKeyBinding: false });
        expect(ours.errors).to.deep.equal([]);
        expect((ours.claims!.cnf as { jwk: unknown }).jwk).to.deep.equal(keys[i]!.publicJwk);
        const independent = await independentlyVerified(credential);
        expect(independent.iss).to.equal(issuer.did);
        expect((independent.cnf as { jwk: unknown }).jwk).to.deep.equal(keys[i]!.publicJwk);
        // Trusting only the DID (its Ed25519 key) believes EdDSA credentials, not ES256 ones.
        const didOnly = verifySdJwtPresentation({ presentation: credential, trustedIssuers: [issuer.did], audience: "", nonce: "", requireKeyBinding: false });
        expect(didOnly.verified).to.equal(credentialAlg === "EdDSA");
      }
    });
  }

  it("refuses proofs of possession that confuse algorithms, with codes, and still issues for a good one afterwards", async () => {
    const offerUri = new URL((await offer()).replace("openid-credential-offer://", "https://x/")).searchParams.get("credential_offer_uri")!;
    const code = (await call(offerUri)).body.grants[PRE_AUTH]["pre-authorized_code"];
    const token = (await call(`${issuer.url}/token`, { body: new URLSearchParams({ grant_type: PRE_AUTH, "pre-authorized_code": code }).toString(), contentType: "application/x-www-form-urlencoded" })).body.access_token;
    const cNonce = async () => (await call(`${issuer.url}/nonce`, { method: "POST" })).body.c_nonce as string;
    const request = (proof: string) => call(`${issuer.url}/credential`, { body: { credential_configuration_id: "RealNameIdentity_dc_sd_jwt_es256", proofs: { jwt: [proof] } }, headers: { authorization: `Bearer ${token}` } });
    const p256 = generateSigningKey("ES256");
    const ed = generateSigningKey("EdDSA");
    const claims = async () => ({ aud: issuer.url, iat: Math.floor(Date.now() / 1000), nonce: await cNonce() });
    const proofHeader = (alg: string, jwk: unknown) => ({ typ: "openid4vci-proof+jwt", alg, jwk });

    const none = `${b64json(proofHeader("none", p256.publicJwk))}.${b64json(await claims())}.`;
    const hs256 = `${b64json(proofHeader("HS256", p256.publicJwk))}.${b64json(await claims())}.${b64url(Buffer.alloc(32))}`;
    // An EdDSA header over the P-256 key in `jwk`, signed by an Ed25519 key.
    const edOverP256 = await signJws(proofHeader("EdDSA", p256.publicJwk), await claims(), ed.signer);
    const y = Buffer.from((p256.publicJwk as { y: string }).y, "base64url");
    y[31] ^= 1;
    const offCurve = await signJws(proofHeader("ES256", { ...p256.publicJwk, y: b64url(y) }), await claims(), p256.signer);
    const results = [];
    for (const proof of [none, hs256, edOverP256, offCurve]) {
      const r = await request(proof);
      results.push([r.status, r.body.error, r.body.code]);
    }
    expect(results).to.deep.equal([
      [400, "invalid_proof", "ERR_PROOF_ALG"],
      [400, "invalid_proof", "ERR_PROOF_ALG"],
      [400, "invalid_proof", "ERR_PROOF_ALG"],
      [400, "invalid_proof", "ERR_UNSUPPORTED_KEY"],
    ]);
    // Nothing was issued and the token is still good: a correct ES256 proof gets its credential.
    const good = await request(await signJws(proofHeader("ES256", p256.publicJwk), await claims(), p256.signer));
    expect(good.status).to.equal(200);
    expect(decodeJws(good.body.credentials[0].credential.split("~")[0])!.header.alg).to.equal("ES256");
  });

  it("our wallet with P-256 holder keys gets ES256 credentials and answers an ES256 merchant: request object, presentation, consent and grant receipts all ES256", async () => {
    wallet = await HolderWallet.open({ dir: join(work, "wallet"), pin: "0000" });
    await wallet.setHolderKeyAlg("ES256");
    expect((await admin("/admin/devices", { deviceId: "es256-wallet", label: "wallet", publicJwk: (await wallet.deviceKey()).publicJwk })).status).to.equal(201);
    await wallet.register(issuer.url, ZHANG, { deviceId: "es256-wallet", confirm: async () => true, batchSize: 2 });
    const held = await wallet.exportCredentials();
    expect(held).to.have.length(2);
    for (const c of held) {
      expect(c.holderDid).to.match(/^did:key:zDn/);
      expect(decodeJws(c.credential.split("~")[0])!.header.alg).to.equal("ES256");
    }
    const created = await fetchJson<{ authorizationRequest: string; requestUri?: string }>(`${verifier.url}/requests`, { body: { level: "full", purpose: "es256", claims: ["full_name"] } });
    const preview = await wallet.preview(created.authorizationRequest);
    expect(decodeJws(preview.requestJwt)!.header.alg).to.equal("ES256");
    expect(verifyJwt(preview.requestJwt, verifier.did, { typ: "oauth-authz-req+jwt" }).verified).to.equal(true);
    const grant = await wallet.answer(preview);
    expect(grant.claimNames).to.include("full_name");
    const consent = await verifyReceipt(grant.consentReceipt, CONSENT_RECEIPT_TYPE);
    expect(consent).to.include({ verified: true });
    expect(consent.issuer).to.match(/^did:key:zDn/);
    expect(decodeJws(grant.consentReceipt)!.header.alg).to.equal("ES256");
    const granted = await verifyReceipt(grant.grantReceipt, GRANT_RECEIPT_TYPE);
    expect(granted).to.include({ verified: true, issuer: verifier.did });
    expect(decodeJws(grant.grantReceipt)!.header.alg).to.equal("ES256");
    expect(jwkFromDidKey(verifier.did).kty).to.equal("EC");

    // The notary's evidence checks: P-256 receipts, and the ES256 credential believed through the issuer's ES256 key.
    let bundle: Awaited<ReturnType<HolderWallet["evidence"]>> | undefined;
    for (let i = 0; i < 60 && !bundle; i++) {
      bundle = await wallet.evidence(grant.grantId, { rpcUrl: chain.url, includePresentation: true }).catch(async (e) => (e.code === "ERR_NOT_ANCHORED" ? void (await new Promise((r) => setTimeout(r, 250))) : Promise.reject(e)));
    }
    const trust = { ...loadTrustAnchors({ deploymentFile, rpcUrl: chain.url, issuers: [issuer.did] }), issuerKeys: trustList().filter((t) => typeof t !== "string") as Array<{ iss: string; jwk: PublicJwk }> };
    const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deploymentAddress });
    try {
      const report = await verifyEvidenceBundle(bundle, { trust, registry });
      expect(report.checks.filter((c) => c.status !== "pass")).to.deep.equal([]);
      expect(report.checks.map((c) => c.check)).to.include.members(["consent-receipt-signature", "grant-receipt-signature", "presentation-issuer-trusted"]);
      // Without the issuer's ES256 key the notary does not believe the ES256 credential (and says so with a code).
      const withoutKey = await verifyEvidenceBundle(bundle, { trust: { ...trust, issuerKeys: [] }, registry });
      expect(withoutKey.checks.filter((c) => c.status === "fail").map((c) => c.code)).to.deep.equal(["ERR_EVIDENCE_UNTRUSTED_CREDENTIAL"]);
    } finally {
      await registry.close();
    }
    // A refresh proves possession with an ES256 key binding to the issuer, and brings ES256 credentials again.
    await wallet.backgroundRefresh;
    expect((await wallet.refreshBatch(2)).received).to.equal(2);
    const all = await wallet.exportCredentials();
    expect(all.every((c) => c.holderDid.startsWith("did:key:zDn") && decodeJws(c.credential.split("~")[0])!.header.alg === "ES256")).to.equal(true);
  });
});
