/**
 * Interop, `x509_san_dns` and `x509_hash` client identifiers (OpenID4VP 1.0 §5.9.3, HAIP): merchants whose certificate chain
 * comes from our platform's CA (the issuer publishes the root at /platform-ca.pem; an admin has a leaf issued
 * for a registered merchant's key and registered domain).
 *
 * - OUR merchant verifier runs in x509 mode (MERCHANT_X509_CHAIN_FILE) on `localhost`: our wallet (command line)
 *   completes all three levels with it, and so does the standard counterpart wallet, which checks the chain
 *   against the pinned root with node:crypto only.
 * - The counterpart VERIFIER acts as `x509_san_dns:localhost` with a certificate from our CA: our wallet answers
 *   it at every level, and refuses a verifier that signs with a stolen chain.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash, X509Certificate } from "node:crypto";
import { CounterpartVerifier, type Level } from "./counterpart/verifier.js";
import { CounterpartWallet, isDirectPostSuccess } from "./counterpart/wallet.js";
import { jwtPayload, splitSdJwt } from "./counterpart/sdjwt.js";
import { LI_SI, PURPOSES, ZHANG_SAN, ourRequest, ourResult, startWorld, type OurWalletCli, type World } from "./setup.js";
import { startService, type ServiceProcess } from "../../scripts/lib/devnet.js";

describe("Interop: x509_san_dns clients with certificates from our platform CA (OpenID4VP 1.0 §5.9.3)", function () {
  this.timeout(300_000);
  let world: World;
  let shop: ServiceProcess;
  let shopCert: { x5c: string[]; dnsName: string; pem: string };
  let shopEnv: Record<string, string>;
  let wallet: OurWalletCli;
  let standardWallet: CounterpartWallet;
  let rootPem = "";
  const counterpart = new CounterpartVerifier({ alg: "ES256", trustedIssuers: [], vct: "", name: "Counterpart X509 Shop", host: "localhost" });
  const hashed = new CounterpartVerifier({ alg: "ES256", trustedIssuers: [], vct: "", name: "Counterpart X509 Hash Shop", host: "localhost" });
  const thief = new CounterpartVerifier({ alg: "ES256", trustedIssuers: [], vct: "", name: "Interop X509 Shop", host: "localhost" });

  before(async () => {
    await Promise.all([counterpart.start(), hashed.start(), thief.start()]);
    // The counterparts are registered (origin http://localhost:<port>) by the world, then certified by our CA.
    world = await startWorld([counterpart, hashed]);
    rootPem = await (await fetch(`${world.issuer.url}/platform-ca.pem`)).text();
    const cert = await world.admin(`/admin/merchants/${encodeURIComponent(counterpart.did)}/certificate`, {});
    expect(cert.status, JSON.stringify(cert.body)).to.equal(201);
    counterpart.useX509(cert.body.x5c, cert.body.dnsName);
    const hashCert = await world.admin(`/admin/merchants/${encodeURIComponent(hashed.did)}/certificate`, {});
    hashed.useX509(hashCert.body.x5c, hashCert.body.dnsName, "x509_hash");

    // Our merchant in x509 mode: its ES256 DID is made at a first start; registered on localhost; certified; restarted.
    const env = { ...world.ourVerifierEnv, DATA_DIR: join(world.work, "x509-shop"), MERCHANT_NAME: "Interop X509 Shop", MERCHANT_PASSPHRASE: "x509-shop", MERCHANT_ALG: "ES256", ANCHOR_DEV_ACCOUNT: "3" };
    const first = await startService("verifier-service", env);
    const port = new URL(first.url).port;
    await first.stop();
    const origin = `http://localhost:${port}`;
    await world.registerMerchant(first.did, origin, "Interop X509 Shop");
    const issued = await world.admin(`/admin/merchants/${encodeURIComponent(first.did)}/certificate`, {});
    expect(issued.status, JSON.stringify(issued.body)).to.equal(201);
    shopCert = issued.body;
    const chainFile = join(world.work, "x509-shop.pem");
    writeFileSync(chainFile, issued.body.pem);
    shopEnv = { ...env, PORT: port, PUBLIC_URL: origin, MERCHANT_X509_CHAIN_FILE: chainFile };
    shop = await startService("verifier-service", shopEnv);
    expect(shop.did).to.equal(first.did);

    // Wallets last: a batch carries member pseudonyms for the merchants registered before it was issued.
    wallet = await world.ourWallet(ZHANG_SAN, 10);
    standardWallet = new CounterpartWallet();
    standardWallet.x509Anchors.push(rootPem);
    await standardWallet.redeem(await world.offerFor(LI_SI), { alg: "ES256", count: 6 });
  });
  after(async () => {
    await Promise.allSettled([counterpart.stop(), hashed.stop(), thief.stop(), shop?.stop()]);
    await world?.close();
  });

  it("the platform CA root is published (PEM and DER) as a self-signed CA; the merchant leaf: SAN dNSName localhost, not a CA, 90 days, issued by it", async () => {
    const root = new X509Certificate(rootPem);
    const der = Buffer.from(await (await fetch(`${world.issuer.url}/platform-ca.cer`)).arrayBuffer());
    expect(der.equals(root.raw)).to.equal(true);
    expect(root.ca).to.equal(true);
    expect(root.checkIssued(root)).to.equal(true);
    const leaf = new X509Certificate(Buffer.from(shopCert.x5c[0]!, "base64"));
    expect(shopCert.x5c).to.have.length(1); // the root is not sent
    expect(leaf.subjectAltName).to.equal("DNS:localhost");
    expect(leaf.ca).to.equal(false);
    expect(leaf.checkIssued(root) && leaf.verify(root.publicKey)).to.equal(true);
    expect(Math.round((Date.parse(leaf.validTo) - Date.now()) / 86_400_000)).to.equal(90);
  });

  it("a certificate is issued only for a registered merchant, only for a domain its registry entry lists, only to the admin", async () => {
    const stranger = new CounterpartVerifier({ alg: "ES256", trustedIssuers: [], vct: "" });
    expect((await world.admin(`/admin/merchants/${encodeURIComponent(stranger.did)}/certificate`, {})).body.error.code).to.equal("ERR_MERCHANT_UNREGISTERED");
    expect((await world.admin(`/admin/merchants/${encodeURIComponent(counterpart.did)}/certificate`, { dnsName: "bank.example" })).body.error.code).to.equal("ERR_X509_DNS_NOT_REGISTERED");
    // Bad input: a stable code and a 400, never a 500; an Ed25519 merchant (the world's EdDSA shop) has no P-256 key to certify.
    const bad = [
      await world.admin(`/admin/merchants/${encodeURIComponent(world.shop.did)}/certificate`, {}),
      await world.admin(`/admin/merchants/${encodeURIComponent(counterpart.did)}/certificate`, { days: 0 }),
      await world.admin(`/admin/merchants/${encodeURIComponent(counterpart.did)}/certificate`, { dnsName: "localhost", extra: true }),
      await world.admin(`/admin/merchants/not-a-did/certificate`, {}),
    ];
    expect(bad.map((r) => [r.status, r.body.error.code])).to.deep.equal([
      [400, "ERR_X509_KEY_UNSUPPORTED"],
      [400, "ERR_INVALID_INPUT"],
      [400, "ERR_INVALID_INPUT"],
      [400, "ERR_INVALID_INPUT"],
    ]);
    const anonymous = await fetch(`${world.issuer.url}/admin/merchants/${encodeURIComponent(counterpart.did)}/certificate`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(anonymous.status).to.equal(401);
  });

  describe("our merchant verifier as x509_san_dns:localhost", () => {
    it("its request object: client_id x509_san_dns:localhost, x5c with the leaf, response_uri on localhost", async () => {
      const request = await standardWallet.resolveRequest((await ourRequest(shop, "verified")).authorizationRequest);
      expect(request.clientId).to.equal("x509_san_dns:localhost");
      expect(request.header.x5c).to.deep.equal(shopCert.x5c);
      expect(new URL(request.payload.response_uri).hostname).to.equal("localhost");
    });

    for (const level of ["verified", "pseudonymous", "full"] as Level[]) {
      it(`our wallet completes ${level}: the grant is accepted with the level asked`, async () => {
        const created = await ourRequest(shop, level, ["full_name"]);
        const r = await wallet.run("answer", created.authorizationRequest, "--yes");
        expect(r.code, r.stdout + r.stderr).to.equal(0);
        const result = await ourResult(shop, created);
        expect(result.status, JSON.stringify(result)).to.equal("accepted");
        expect(result.level).to.equal(level);
      });
      it(`the standard wallet completes ${level}: its KB-JWT aud is the full client id x509_san_dns:localhost`, async () => {
        const created = await ourRequest(shop, level, ["full_name"]);
        const post = await standardWallet.answer(created.authorizationRequest);
        expect(isDirectPostSuccess(post), JSON.stringify(post.body)).to.equal(true);
        const presentation = Object.values(post.vpToken)[0]![0]!;
        expect(jwtPayload(splitSdJwt(presentation).kbJwt!).aud).to.equal("x509_san_dns:localhost");
        const result = await ourResult(shop, created);
        expect(result.status, JSON.stringify(result)).to.equal("accepted");
      });
    }

    it("our verifier refuses a KB-JWT whose aud is the bare DNS name (not the client id), then accepts the honest answer to the same request", async () => {
      const created = await ourRequest(shop, "verified");
      const bent = await standardWallet.answer(created.authorizationRequest, { aud: "localhost" });
      expect(bent.status).to.equal(400);
      expect(JSON.stringify(bent.body)).to.include("ERR_KB_AUDIENCE");
      const honest = await standardWallet.answer(created.authorizationRequest);
      expect(isDirectPostSuccess(honest), JSON.stringify(honest.body)).to.equal(true);
    });

    it("a standard wallet that has not pinned the platform CA refuses our merchant (the check is real)", async () => {
      const created = await ourRequest(shop, "verified");
      let message = "";
      await new CounterpartWallet().resolveRequest(created.authorizationRequest).catch((e: Error) => (message = e.message));
      expect(message).to.match(/trust anchor/);
    });
  });

  describe("the standard verifier as x509_san_dns:localhost, certified by our CA", () => {
    for (const level of ["verified", "pseudonymous", "full"] as Level[]) {
      it(`our wallet answers ${level}; the verifier accepts`, async () => {
        const open = await counterpart.createRequest({ level, purpose: PURPOSES[level], claims: level === "full" ? ["full_name"] : [] });
        expect(decodeHeader(open.jwt).x5c).to.have.length(1);
        const r = await wallet.run("answer", open.link, "--yes");
        const outcome = counterpart.outcomes.get(open.id);
        expect(outcome?.errors, r.stdout + r.stderr).to.deep.equal([]);
        expect(outcome?.verified).to.equal(true);
        if (level === "pseudonymous") expect(outcome!.claims![counterpart.pseudonymClaim]).to.be.a("string");
        if (level === "full") expect(outcome!.claims!.full_name).to.equal(ZHANG_SAN.name);
        expect(r.code, r.stdout + r.stderr).to.equal(0);
      });
    }

    it("a verifier signing with another merchant's certificate chain (a stolen x5c) is refused by our wallet before anything is sent: ERR_REQUEST_SIGNATURE", async () => {
      thief.useX509(shopCert.x5c, "localhost");
      const open = await thief.createRequest({ level: "full", purpose: PURPOSES.full, claims: ["full_name"] });
      const r = await wallet.run("answer", open.link, "--yes");
      expect(r.json?.error?.code, r.stdout + r.stderr).to.equal("ERR_REQUEST_SIGNATURE");
      expect(thief.outcomes.get(open.id)).to.equal(undefined);
    });
  });

  describe("x509_hash (HAIP 1.0): the client id is the SHA-256 of the leaf certificate", () => {
    for (const level of ["verified", "pseudonymous", "full"] as Level[]) {
      it(`our wallet answers the standard verifier as x509_hash at ${level}; the verifier accepts`, async () => {
        expect(hashed.clientId).to.match(/^x509_hash:[A-Za-z0-9_-]{43}$/);
        const open = await hashed.createRequest({ level, purpose: PURPOSES[level], claims: level === "full" ? ["full_name"] : [] });
        const r = await wallet.run("answer", open.link, "--yes");
        const outcome = hashed.outcomes.get(open.id);
        expect(outcome?.errors, r.stdout + r.stderr).to.deep.equal([]);
        expect(outcome?.verified).to.equal(true);
        expect(r.code, r.stdout + r.stderr).to.equal(0);
      });
    }
    it("our merchant verifier restarted with MERCHANT_X509_PREFIX=x509_hash: the standard wallet and ours complete every level", async () => {
      await shop.stop();
      shop = await startService("verifier-service", { ...shopEnv, MERCHANT_X509_PREFIX: "x509_hash" });
      const hash = createHash("sha256").update(Buffer.from(shopCert.x5c[0]!, "base64")).digest("base64url");
      for (const level of ["verified", "pseudonymous", "full"] as Level[]) {
        const mine = await ourRequest(shop, level, ["full_name"]);
        expect(new URL(mine.authorizationRequest).searchParams.get("client_id")).to.equal(`x509_hash:${hash}`);
        const r = await wallet.run("answer", mine.authorizationRequest, "--yes");
        expect(r.code, r.stdout + r.stderr).to.equal(0);
        expect((await ourResult(shop, mine)).status).to.equal("accepted");
        const theirs = await ourRequest(shop, level, ["full_name"]);
        const post = await standardWallet.answer(theirs.authorizationRequest);
        expect(isDirectPostSuccess(post), JSON.stringify(post.body)).to.equal(true);
        expect(jwtPayload(splitSdJwt(Object.values(post.vpToken)[0]![0]!).kbJwt!).aud).to.equal(`x509_hash:${hash}`);
        expect((await ourResult(shop, theirs)).status).to.equal("accepted");
      }
    });
  });
});

const decodeHeader = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString()) as Record<string, unknown>;
