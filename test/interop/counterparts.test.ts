/**
 * The counterparts checked against each other, with real credentials from our issuer: the counterpart wallet
 * answers the counterpart verifier (EdDSA and ES256 request objects, every level, a decline) and the verifier
 * refuses each fault with the rule that catches it. This is the control for the two presentation files: when
 * a test there fails, this shows the counterparts themselves follow the texts.
 */
import { expect } from "chai";
import { CounterpartWallet, isDirectPostSuccess, type AnswerOptions } from "./counterpart/wallet.js";
import { CounterpartVerifier, type Level } from "./counterpart/verifier.js";
import { decodeDisclosure, splitSdJwt } from "./counterpart/sdjwt.js";
import { PURPOSES, LI_SI, startWorld, type World } from "./setup.js";

describe("Interop control: the counterpart wallet and verifier agree with each other on our issuer's credentials", function () {
  this.timeout(300_000);
  let world: World;
  const wallet = new CounterpartWallet();
  const verifiers = { EdDSA: new CounterpartVerifier({ alg: "EdDSA", trustedIssuers: [], vct: "", name: "Control EdDSA" }), ES256: new CounterpartVerifier({ alg: "ES256", trustedIssuers: [], vct: "", name: "Control ES256" }) };

  before(async () => {
    await Promise.all(Object.values(verifiers).map((v) => v.start()));
    // Registered before the batch is issued, so the credentials carry each verifier's member pseudonym.
    world = await startWorld(Object.values(verifiers));
    for (const v of Object.values(verifiers)) v.trust([world.issuer.did, world.issuer.url], world.vct);
    await wallet.redeem(await world.offerFor(LI_SI), { alg: "EdDSA", count: 2 });
  });
  after(async () => {
    await Promise.allSettled(Object.values(verifiers).map((v) => v.stop()));
    await world?.close();
  });

  for (const alg of ["EdDSA", "ES256"] as const) {
    // pseudonymous: see the test after this loop (it depends on how the pseudonym claim is named).
    for (const level of ["verified", "full"] as Level[]) {
      it(`${alg} request object, ${level}: the wallet verifies the request, the verifier accepts, the wallet sees {redirect_uri}`, async () => {
        const v = verifiers[alg];
        const open = await v.createRequest({ level, purpose: PURPOSES[level], claims: ["full_name"] });
        const post = await wallet.answer(open.link);
        expect(v.outcomes.get(open.id)?.errors).to.deep.equal([]);
        expect(isDirectPostSuccess(post)).to.equal(true);
        expect(post.body.redirect_uri).to.be.a("string");
        if (level === "full") expect(v.outcomes.get(open.id)?.claims?.full_name).to.equal(LI_SI.name);
      });
    }
  }

  for (const alg of ["EdDSA", "ES256"] as const) {
    it(`${alg} request object, direct_post.jwt: the wallet encrypts to the request's ECDH-ES key, the verifier opens and accepts it; a plain answer to it is refused`, async () => {
      const v = verifiers[alg];
      const open = await v.createRequest({ level: "verified", purpose: PURPOSES.verified, responseMode: "direct_post.jwt" });
      const request = await wallet.resolveRequest(open.link);
      const vpToken = await wallet.buildVpToken(request);
      const plain = await wallet.postVpToken(request, vpToken, { plain: true });
      expect(plain.status).to.equal(400);
      const post = await wallet.postVpToken(request, vpToken);
      expect(v.outcomes.get(open.id)).to.deep.include({ verified: true, encrypted: true });
      expect(isDirectPostSuccess(post)).to.equal(true);
    });
  }

  for (const alg of ["EdDSA", "ES256"] as const) {
    it(`${alg} request object, pseudonymous: the credential carries the pseudonym claim the profile names for this merchant, and the answer is accepted`, async () => {
      const v = verifiers[alg];
      const registryRefusal = world.registrationErrors.get(v.did);
      if (registryRefusal) throw new Error(`the issuer's registry refused this merchant, so no credential carries its pseudonym: ${registryRefusal}`);
      const names = wallet.credentials.flatMap((c) => splitSdJwt(c.compact).disclosures.map((d) => decodeDisclosure(d).name ?? ""));
      expect(names.filter((n) => n.startsWith("merchant_pseudonym_")), "the documented name is among the pseudonym claims issued").to.include(v.pseudonymClaim);
      const open = await v.createRequest({ level: "pseudonymous", purpose: PURPOSES.pseudonymous });
      const post = await wallet.answer(open.link);
      expect(v.outcomes.get(open.id)?.errors).to.deep.equal([]);
      expect(isDirectPostSuccess(post)).to.equal(true);
      expect(v.outcomes.get(open.id)?.claims?.[v.pseudonymClaim]).to.be.a("string");
    });
  }

  it("a decline reaches the verifier as access_denied with a 200", async () => {
    const v = verifiers.EdDSA;
    const open = await v.createRequest({ level: "verified", purpose: PURPOSES.verified });
    const post = await wallet.decline(open.link);
    expect(post.status).to.equal(200);
    expect(v.outcomes.get(open.id)?.declined).to.equal(true);
  });

  it("the wallet refuses a request object whose signature is not the client's key", async () => {
    const v = verifiers.EdDSA;
    const open = await v.createRequest({ level: "verified", purpose: PURPOSES.verified });
    const [h, p] = open.jwt.split(".");
    const forged = JSON.parse(Buffer.from(p, "base64url").toString());
    forged.dcql_query.credentials[0].claims.push({ path: ["id_number"] });
    open.jwt = `${h}.${Buffer.from(JSON.stringify(forged)).toString("base64url")}.${open.jwt.split(".")[2]}`;
    let failure: Error | undefined;
    await wallet.answer(open.link).catch((e) => (failure = e));
    expect(failure?.message).to.match(/signature does not verify/);
    expect(v.outcomes.has(open.id)).to.equal(false);
  });

  const faults: Record<string, AnswerOptions> = {
    disclosure_unreferenced: { tamperDisclosure: true },
    kb_aud: { aud: "decentralized_identifier:did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK" },
    kb_nonce: { nonce: "not-the-nonce" },
    kb_iat: { iat: Math.floor(Date.now() / 1000) - 3600 },
    transaction_data_hashes: { omitTransactionDataHashes: true },
    over_disclosure: { extraClaims: ["id_number"] },
  };
  for (const [code, fault] of Object.entries(faults)) {
    it(`the verifier refuses a presentation with ${code}, and accepts the honest one after it`, async () => {
      const v = verifiers.EdDSA;
      const open = await v.createRequest({ level: "verified", purpose: PURPOSES.verified });
      const request = await wallet.resolveRequest(open.link);
      const bad = await wallet.postVpToken(request, await wallet.buildVpToken(request, fault));
      expect(bad.status).to.equal(400);
      expect(v.outcomes.get(open.id)?.errors.map((e) => e.code)).to.deep.equal([code]);
      const good = await wallet.postVpToken(request, await wallet.buildVpToken(request));
      expect(good.status).to.equal(200);
    });
  }

  it("the verifier refuses a replay of an accepted vp_token", async () => {
    const v = verifiers.EdDSA;
    const open = await v.createRequest({ level: "verified", purpose: PURPOSES.verified });
    const first = await wallet.answer(open.link);
    expect(first.status).to.equal(200);
    const again = await wallet.postVpToken(first.request, first.vpToken);
    expect(again.status).to.equal(400);
    expect(v.outcomes.get(`${open.id}#replay`)?.errors.map((e) => e.code)).to.deep.equal(["replay"]);
  });

  it("the verifier refuses a revoked credential once the issuer's Token Status List says so (last: it revokes the person)", async () => {
    const v = verifiers.EdDSA;
    const r = await world.admin("/admin/identities/revoke", { idNumber: LI_SI.idNumber, reason: "interop control: revoked" });
    expect(r.status).to.equal(200);
    const deadline = Date.now() + 60_000;
    let codes: string[] | undefined = [];
    while (Date.now() < deadline) {
      const open = await v.createRequest({ level: "verified", purpose: PURPOSES.verified });
      await wallet.answer(open.link);
      codes = v.outcomes.get(open.id)?.errors.map((e) => e.code);
      if (codes?.length) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(codes).to.deep.equal(["status_revoked"]);
  });
});
