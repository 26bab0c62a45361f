/**
 * Interop, issuance: the counterpart wallet (written from OpenID4VCI 1.0 and RFC 9901 only) redeems our
 * issuer's pre-authorized offer with EdDSA proofs and checks what it gets as any third party would.
 */
import { expect } from "chai";
import { decodeSdJwt } from "@sd-jwt/decode";
import { digest } from "@sd-jwt/crypto-nodejs";
import { CounterpartWallet, wellKnown } from "./counterpart/wallet.js";
import { CounterpartVerifier } from "./counterpart/verifier.js";
import { jwtPayload, processPayload, splitSdJwt } from "./counterpart/sdjwt.js";
import { LI_SI, startWorld, type World } from "./setup.js";

describe("Interop: a standard wallet redeems our credential offer (OpenID4VCI 1.0, pre-authorized code)", function () {
  this.timeout(300_000);
  let world: World;
  let checker: CounterpartVerifier;

  before(async () => {
    world = await startWorld();
    checker = new CounterpartVerifier({ alg: "EdDSA", trustedIssuers: [world.issuer.did, world.issuer.url], vct: world.vct });
  });
  after(async () => world?.close());

  it("publishes issuer and authorization server metadata where §12.2.2 and RFC 8414 put them", async () => {
    const meta = world.issuerMetadata;
    expect(meta.credential_issuer).to.equal(world.issuer.url);
    expect(meta.credential_endpoint).to.be.a("string");
    expect(meta.nonce_endpoint).to.be.a("string");
    const configs = Object.values(meta.credential_configurations_supported) as any[];
    expect(configs.length).to.be.greaterThan(0);
    for (const c of configs) {
      expect(c.format).to.equal("dc+sd-jwt");
      expect(c.vct).to.be.a("string");
      expect(c.proof_types_supported.jwt.proof_signing_alg_values_supported).to.be.an("array").that.is.not.empty;
    }
    const as = await (await fetch(wellKnown(meta.authorization_servers?.[0] ?? meta.credential_issuer, "oauth-authorization-server"))).json();
    expect(as.token_endpoint).to.be.a("string");
    expect(as.grant_types_supported ?? [PRE]).to.include(PRE);
  });

  it("EdDSA: a batch of 3, each bound to its own proof key, issuer-signed, every claim processable per RFC 9901 §7.1, status valid", async () => {
    const wallet = new CounterpartWallet();
    const creds = await wallet.redeem(await world.offerFor(LI_SI), { alg: "EdDSA", count: 3 });
    expect(creds).to.have.length(3);
    const holderKeys = new Set(creds.map((c) => c.holder.publicJwk.x));
    expect(holderKeys.size).to.equal(3);
    for (const c of creds) {
      const split = splitSdJwt(c.compact);
      expect(split.kbJwt, "an issued SD-JWT carries no KB-JWT").to.equal(undefined);
      const header = JSON.parse(Buffer.from(split.issuerJwt.split(".")[0], "base64url").toString());
      expect(header.typ).to.equal("dc+sd-jwt");
      expect(header.alg).to.equal("EdDSA");
      const payload = jwtPayload(split.issuerJwt);
      expect(payload.cnf.jwk).to.deep.include({ kty: c.holder.publicJwk.kty, x: c.holder.publicJwk.x });
      expect(payload.vct).to.equal(world.vct);
      const issuerKey = await checker.issuerKey(header, payload);
      const { claims } = processPayload(payload, split.disclosures);
      expect(claims.full_name).to.equal(LI_SI.name);
      expect(claims.real_name_verified).to.equal(true);
      await checker.checkStatus(payload, issuerKey); // throws unless the Token Status List says VALID (0)
      // A second, independent decoder (@sd-jwt/decode) agrees on what was disclosed.
      const decoded = await decodeSdJwt(c.compact, digest);
      expect(decoded.disclosures.map((d) => d.key).sort()).to.deep.equal(split.disclosures.map((d) => JSON.parse(Buffer.from(d, "base64url").toString())[1]).sort());
    }
  });

  it("the pre-authorized code is single use (§6.3 invalid_grant on a second redemption)", async () => {
    const first = new CounterpartWallet();
    const offer = await first.resolveOffer(await world.offerFor(LI_SI));
    await first.redeem(offer, { alg: "EdDSA" });
    const second = new CounterpartWallet();
    let failure: Error | undefined;
    try {
      await second.redeem(offer, { alg: "EdDSA" });
    } catch (e) {
      failure = e as Error;
    }
    expect(failure?.message).to.match(/token endpoint: 400 .*invalid_grant/);
  });

  it("a proof over another nonce is refused with invalid_nonce (§8.3.1.2)", async () => {
    const offer = await world.offerFor(LI_SI);
    const wallet = new CounterpartWallet(async (input, init) => {
      // The wallet asks the nonce endpoint, but this "stale" copy uses a nonce the issuer never gave.
      if (String(input).endsWith("/nonce")) return new Response(JSON.stringify({ c_nonce: "not-a-nonce-the-issuer-gave" }), { status: 200, headers: { "content-type": "application/json" } });
      return fetch(input, init);
    });
    let failure: Error | undefined;
    try {
      await wallet.redeem(offer, { alg: "EdDSA" });
    } catch (e) {
      failure = e as Error;
    }
    expect(failure?.message).to.match(/credential endpoint: 400 .*invalid_nonce/);
  });
});

const PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
