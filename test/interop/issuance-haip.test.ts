/**
 * Interop, issuance for HAIP-profile wallets and for verifiers without DID resolution (issue 13, "Issuance and
 * discovery"): an ES256 credential configuration with ES256 proofs, the issuer key from
 * `/.well-known/jwt-vc-issuer` (SD-JWT VC §5), `vct` resolvable to Type Metadata (SD-JWT VC §6), and
 * `unknown_credential_configuration` (OpenID4VCI §8.3.1.2). Written to the texts; kept apart from
 * issuance.test.ts because these need the ES256 and discovery work of issue 13.
 */
import { expect } from "chai";
import { CounterpartWallet, wellKnown } from "./counterpart/wallet.js";
import { CounterpartVerifier } from "./counterpart/verifier.js";
import { jwtPayload, processPayload, splitSdJwt } from "./counterpart/sdjwt.js";
import { WANG_XIAOMING, startWorld, type World } from "./setup.js";

describe("Interop: HAIP issuance and discovery (ES256, jwt-vc-issuer, vct type metadata)", function () {
  this.timeout(300_000);
  let world: World;
  let checker: CounterpartVerifier;

  before(async () => {
    // The issuer named by its URL (README, "Discovery": ISSUER_IDENTIFIER=url; the default on loopback is its DID).
    world = await startWorld([], { ISSUER_IDENTIFIER: "url" });
    checker = new CounterpartVerifier({ alg: "ES256", trustedIssuers: [world.issuer.did, world.issuer.url], vct: world.vct });
  });
  after(async () => world?.close());

  it("the metadata offers a dc+sd-jwt configuration signed with ES256 and proven with ES256 (HAIP), next to EdDSA", () => {
    const configs = Object.values(world.issuerMetadata.credential_configurations_supported) as any[];
    const signs = (alg: string) => configs.some((c) => c.credential_signing_alg_values_supported?.includes(alg) && c.proof_types_supported?.jwt?.proof_signing_alg_values_supported?.includes(alg));
    expect(signs("ES256"), "an ES256 configuration").to.equal(true);
    expect(signs("EdDSA"), "an EdDSA configuration").to.equal(true);
  });

  it("ES256: a standard wallet redeems the offer with ES256 proofs and gets ES256 credentials bound to its P-256 keys", async () => {
    const wallet = new CounterpartWallet();
    const creds = await wallet.redeem(await world.offerFor(WANG_XIAOMING), { alg: "ES256", count: 2 });
    expect(creds).to.have.length(2);
    for (const c of creds) {
      const split = splitSdJwt(c.compact);
      const header = JSON.parse(Buffer.from(split.issuerJwt.split(".")[0], "base64url").toString());
      expect(header.alg).to.equal("ES256");
      const payload = jwtPayload(split.issuerJwt);
      expect(payload.cnf.jwk).to.deep.include({ kty: "EC", crv: "P-256", x: c.holder.publicJwk.x, y: c.holder.publicJwk.y });
      const key = await checker.issuerKey(header, payload);
      const { claims } = processPayload(payload, split.disclosures);
      expect(claims.full_name).to.equal(WANG_XIAOMING.name);
      expect(claims.age_over_18).to.equal(false);
      await checker.checkStatus(payload, key);
    }
  });

  it("the issuer key is discoverable without DID resolution: https iss and /.well-known/jwt-vc-issuer (SD-JWT VC §5)", async () => {
    const wallet = new CounterpartWallet();
    const [c] = await wallet.redeem(await world.offerFor(WANG_XIAOMING), { alg: "EdDSA" });
    const payload = jwtPayload(splitSdJwt(c.compact).issuerJwt);
    expect(payload.iss).to.match(/^https?:\/\//);
    const res = await fetch(wellKnown(payload.iss, "jwt-vc-issuer"));
    expect(res.status).to.equal(200);
    const meta = await res.json();
    expect(meta.issuer).to.equal(payload.iss);
    expect(meta.jwks ?? meta.jwks_uri).to.not.equal(undefined);
    // The counterpart verifier resolves the key this way (its did:key path is not used for a URL iss).
    const header = JSON.parse(Buffer.from(c.compact.split(".")[0], "base64url").toString());
    await checker.issuerKey(header, payload);
  });

  it("vct is an https URL serving SD-JWT VC Type Metadata with display names in Chinese and English (SD-JWT VC §6)", async () => {
    expect(world.vct).to.match(/^https?:\/\//);
    const res = await fetch(world.vct);
    expect(res.status).to.equal(200);
    const meta = await res.json();
    expect(meta.vct).to.equal(world.vct);
    const locales = (meta.display ?? []).map((d: { locale?: string; lang?: string }) => d.locale ?? d.lang);
    expect(locales.some((l: string) => /^zh/.test(l))).to.equal(true);
    expect(locales.some((l: string) => /^en/.test(l))).to.equal(true);
    expect(meta.claims).to.be.an("array").that.is.not.empty;
  });

  it("a credential request for a configuration the issuer does not have: unknown_credential_configuration (§8.3.1.2)", async () => {
    const wallet = new CounterpartWallet(async (input, init) => {
      // Rewrite only the credential request body: the configuration id is one the issuer never offered.
      if (String(input).endsWith("/credential") && init?.body) {
        const body = JSON.parse(String(init.body));
        return fetch(input, { ...init, body: JSON.stringify({ ...body, credential_configuration_id: "NoSuchConfiguration" }) });
      }
      return fetch(input, init);
    });
    let failure: Error | undefined;
    try {
      await wallet.redeem(await world.offerFor(WANG_XIAOMING), { alg: "EdDSA" });
    } catch (e) {
      failure = e as Error;
    }
    expect(failure?.message).to.match(/credential endpoint: 400 .*unknown_credential_configuration/);
  });
});
