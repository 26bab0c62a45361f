/**
 * Interop, presentation: a standard wallet (the counterpart, written from OpenID4VP 1.0 / RFC 9901 / SD-JWT VC
 * only) answers OUR merchant verifier at every level, with EdDSA and ES256 holder keys; it declines; and our
 * verifier makes each refusal a standard verifier must make on what this wallet sends. Our merchant runs its
 * default configuration, encrypted responses (`direct_post.jwt`, §8.3, HAIP ECDH-ES P-256): every answer and
 * decline here travels as a JWE the counterpart made from the request's client_metadata.
 *
 * Every refusal test also sends the honest answer to the same request afterwards and expects it accepted, so a
 * verifier that refuses everything cannot pass it.
 */
import { expect } from "chai";
import { CounterpartWallet, encryptResponse, isDirectPostSuccess, type PostResult, type ResolvedRequest } from "./counterpart/wallet.js";
import { CounterpartVerifier } from "./counterpart/verifier.js";
import { jwtPayload, splitSdJwt } from "./counterpart/sdjwt.js";
import type { Alg } from "./counterpart/keys.js";
import { LI_SI, WANG_XIAOMING, ourRequest, ourResult, startWorld, type World } from "./setup.js";

type Level = "verified" | "pseudonymous" | "full";

describe("Interop: a standard wallet answers our merchant verifier (OpenID4VP 1.0, direct_post.jwt, DCQL, transaction_data)", function () {
  this.timeout(300_000);
  let world: World;
  const wallets: Partial<Record<Alg, CounterpartWallet>> = {};
  const issuanceFailure: Partial<Record<Alg, string>> = {};

  before(async () => {
    world = await startWorld();
    // Two people: a reissue revokes what the person held, so each holder-key algorithm gets its own person.
    for (const [alg, person] of [["EdDSA", LI_SI], ["ES256", WANG_XIAOMING]] as const) {
      const w = new CounterpartWallet();
      try {
        await w.redeem(await world.offerFor(person), { alg, count: 4 });
        wallets[alg] = w;
      } catch (e) {
        issuanceFailure[alg] = (e as Error).message;
      }
    }
  });
  after(async () => world?.close());

  const walletFor = (alg: Alg): CounterpartWallet => {
    const w = wallets[alg];
    if (!w) throw new Error(`no ${alg} credential from our issuer: ${issuanceFailure[alg]}`);
    return w;
  };

  /** Follows a `{redirect_uri}` the way the wallet hands the person's browser back: what the merchant shows. */
  const landing = async (post: PostResult) => (post.body?.redirect_uri ? (await fetch(post.body.redirect_uri, { headers: { accept: "application/json" } })).json() : undefined);

  describe("our request object, as a standard wallet reads it", () => {
    let request: ResolvedRequest;
    before(async () => {
      request = await new CounterpartWallet().resolveRequest((await ourRequest(world.shop, "full", ["full_name"])).authorizationRequest);
    });
    it("is signed by the key of its decentralized_identifier client id, typ oauth-authz-req+jwt, direct_post.jwt, DCQL", () => {
      expect(request.clientId).to.match(/^decentralized_identifier:did:key:/);
      expect(request.payload.response_mode).to.equal("direct_post.jwt");
      expect(request.dcql.credentials[0].format).to.equal("dc+sd-jwt");
    });
    it("its aud is what §5.8 says for a wallet that sent no metadata: https://self-issued.me/v2", () => {
      expect(request.payload.aud).to.equal("https://self-issued.me/v2");
    });
    it("carries vp_formats_supported for dc+sd-jwt with sd-jwt_alg_values and kb-jwt_alg_values (Appendix B.3.4)", () => {
      const f = request.payload.client_metadata?.vp_formats_supported?.["dc+sd-jwt"];
      expect(f?.["sd-jwt_alg_values"]).to.include.members(["EdDSA", "ES256"]);
      expect(f?.["kb-jwt_alg_values"]).to.include.members(["EdDSA", "ES256"]);
    });
    it("binds the grant terms as typed transaction_data naming the DCQL credential query (§8.4): level and purpose", () => {
      expect(request.transactionData, "transaction_data").to.have.length.greaterThan(0);
      const ids = request.dcql.credentials.map((c) => c.id);
      const terms = request.transactionData.find((t) => JSON.stringify(t.decoded).includes('"full"'));
      expect(terms, "a transaction data object with the level").to.not.equal(undefined);
      expect(terms!.decoded.credential_ids.every((id: string) => ids.includes(id))).to.equal(true);
      expect(JSON.stringify(terms!.decoded)).to.include("interop full");
    });
  });

  for (const alg of ["EdDSA", "ES256"] as const) {
    describe(`${alg} holder keys`, () => {
      const answer = async (level: Level, claims: string[] = []) => {
        const created = await ourRequest(world.shop, level, claims);
        const post = await walletFor(alg).answer(created.authorizationRequest);
        return { created, post };
      };
      it("verified: accepted; the merchant learns only that a verified person answered", async () => {
        const { created, post } = await answer("verified");
        expect(post.status, JSON.stringify(post.body)).to.equal(200);
        expect(isDirectPostSuccess(post)).to.equal(true);
        expect(await ourResult(world.shop, created)).to.deep.include({ status: "accepted", level: "verified" });
        const shown = await landing(post);
        if (shown) expect(shown.claims).to.deep.equal({ real_name_verified: true });
      });
      it("pseudonymous: accepted; the merchant can recognise the person on return (the same account twice)", async () => {
        const first = await answer("pseudonymous");
        expect(first.post.status, JSON.stringify(first.post.body)).to.equal(200);
        expect(await ourResult(world.shop, first.created)).to.deep.include({ status: "accepted", level: "pseudonymous" });
        // What the person's browser is shown, read before the second answer exists.
        const a = await landing(first.post);
        const again = await answer("pseudonymous");
        expect(again.post.status, JSON.stringify(again.post.body)).to.equal(200);
        const b = await landing(again.post);
        expect(a?.account?.pseudonym, "a member account").to.be.a("string");
        expect(a.account.returning).to.equal(false);
        expect(b?.account?.pseudonym).to.equal(a.account.pseudonym);
        expect(b.account.returning).to.equal(true);
      });
      it("full: accepted; the merchant gets exactly the claims it asked for", async () => {
        const { created, post } = await answer("full", ["full_name"]);
        expect(post.status, JSON.stringify(post.body)).to.equal(200);
        expect(await ourResult(world.shop, created)).to.deep.include({ status: "accepted", level: "full" });
        const person = alg === "EdDSA" ? LI_SI : WANG_XIAOMING;
        const shown = await landing(post);
        expect(shown?.claims?.full_name).to.equal(person.name);
        expect(shown?.claims).to.not.have.property("id_number");
      });
    });
  }

  it("a decline (error=access_denied, §8.5) gets 200 JSON and the request is not granted", async () => {
    const created = await ourRequest(world.shop, "verified");
    const post = await walletFor("EdDSA").decline(created.authorizationRequest);
    expect(post.status, JSON.stringify(post.body)).to.equal(200);
    expect(post.body).to.be.an("object");
    expect((await ourResult(world.shop, created)).status).to.not.equal("accepted");
  });

  describe("encrypted responses (direct_post.jwt, OpenID4VP §8.3, HAIP)", () => {
    it("the request publishes one ECDH-ES P-256 key with kid and use enc, and offers A128GCM and A256GCM", async () => {
      const request = await walletFor("ES256").resolveRequest((await ourRequest(world.shop, "verified")).authorizationRequest);
      expect(request.payload.client_metadata.jwks.keys).to.have.length(1);
      expect(request.payload.client_metadata.jwks.keys[0]).to.include({ kty: "EC", crv: "P-256", alg: "ECDH-ES", use: "enc" }).and.have.property("kid");
      expect(request.payload.client_metadata.encrypted_response_enc_values_supported).to.include.members(["A128GCM", "A256GCM"]);
      expect(request.encryption?.enc).to.equal("A128GCM");
    });
    it("A256GCM: accepted", async () => {
      const w = walletFor("ES256");
      const created = await ourRequest(world.shop, "verified");
      const request = await w.resolveRequest(created.authorizationRequest);
      const post = await w.postVpToken(request, await w.buildVpToken(request), { encryptTo: { jwk: request.encryption!.jwk, enc: "A256GCM" } });
      expect(post.status, JSON.stringify(post.body)).to.equal(200);
      expect(await ourResult(world.shop, created)).to.deep.include({ status: "accepted" });
    });
    /** The faulty post is refused (4xx, nothing granted) and the honest encrypted answer to the same request is then accepted. */
    async function refusedThenEncryptedAccepted(bad: (w: CounterpartWallet, r: ResolvedRequest, vpToken: Record<string, string[]>) => Promise<PostResult>) {
      const w = walletFor("EdDSA");
      const created = await ourRequest(world.shop, "verified");
      const request = await w.resolveRequest(created.authorizationRequest);
      const vpToken = await w.buildVpToken(request);
      const refused = await bad(w, request, vpToken);
      expect(refused.status, JSON.stringify(refused.body)).to.be.within(400, 499);
      expect((await ourResult(world.shop, created)).status).to.equal("pending");
      const good = await w.postVpToken(request, vpToken);
      expect(good.status, `the honest answer after the refusal: ${JSON.stringify(good.body)}`).to.equal(200);
      return refused;
    }
    it("a plain answer to the encrypted request (downgrade): refused", async () => {
      const refused = await refusedThenEncryptedAccepted((w, r, vp) => w.postVpToken(r, vp, { plain: true }));
      expect(refused.body.error.code).to.equal("ERR_RESPONSE_ENCRYPTION_REQUIRED");
    });
    it("an answer encrypted to another request's key: refused", async () => {
      const refused = await refusedThenEncryptedAccepted(async (w, r, vp) => {
        const other = await w.resolveRequest((await ourRequest(world.shop, "verified")).authorizationRequest);
        return w.postVpToken(r, vp, { encryptTo: other.encryption });
      });
      expect(refused.body.error.code).to.equal("ERR_RESPONSE_ENCRYPTION_KID");
    });
    it("an enc the request did not offer (A128CBC-HS256): refused", async () => {
      const refused = await refusedThenEncryptedAccepted((w, r, vp) => w.postVpToken(r, vp, { encryptTo: { jwk: r.encryption!.jwk, enc: "A128CBC-HS256" } }));
      expect(refused.body.error.code).to.equal("ERR_RESPONSE_ENCRYPTION_ENC");
    });
    it("a tampered ciphertext: refused", async () => {
      const refused = await refusedThenEncryptedAccepted(async (w, r, vp) => {
        const parts = (await encryptResponse({ vp_token: vp, state: r.payload.state }, r.encryption!)).split(".");
        parts[3] = (parts[3][0] === "A" ? "B" : "A") + parts[3].slice(1);
        const res = await fetch(r.payload.response_uri, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ response: parts.join(".") }) });
        return { status: res.status, body: await res.json() };
      });
      expect(refused.body.error.code).to.equal("ERR_RESPONSE_ENCRYPTION_INVALID");
    });
  });

  describe("refusals a standard verifier must make (RFC 9901 §7, OpenID4VP 1.0), on this wallet's answers", () => {
    /** The faulty answer is refused (4xx) and the honest answer to the same request is then accepted. */
    async function refusedThenHonestAccepted(fault: (w: CounterpartWallet, r: ResolvedRequest) => Promise<Record<string, string[]>>) {
      const w = walletFor("EdDSA");
      const created = await ourRequest(world.shop, "verified");
      const request = await w.resolveRequest(created.authorizationRequest);
      const bad = await w.postVpToken(request, await fault(w, request));
      expect(bad.status, JSON.stringify(bad.body)).to.be.within(400, 499);
      expect((await ourResult(world.shop, created)).status).to.not.equal("accepted");
      const good = await w.postVpToken(request, await w.buildVpToken(request));
      expect(good.status, `the honest answer after the refusal: ${JSON.stringify(good.body)}`).to.equal(200);
      expect(await ourResult(world.shop, created)).to.deep.include({ status: "accepted" });
    }
    it("a tampered disclosure (its digest is in no _sd)", () => refusedThenHonestAccepted((w, r) => w.buildVpToken(r, { tamperDisclosure: true })));
    it("a KB-JWT aud that is not the full client identifier (the bare DID)", () => refusedThenHonestAccepted((w, r) => w.buildVpToken(r, { aud: r.clientId.slice("decentralized_identifier:".length) })));
    it("a KB-JWT aud of another verifier", () => refusedThenHonestAccepted((w, r) => w.buildVpToken(r, { aud: new CounterpartVerifier({ alg: "EdDSA", trustedIssuers: [], vct: "" }).clientId })));
    it("a KB-JWT nonce that is not this request's", () => refusedThenHonestAccepted((w, r) => w.buildVpToken(r, { nonce: "another-nonce-0123456789" })));
    it("an expired KB-JWT (iat an hour ago)", () => refusedThenHonestAccepted((w, r) => w.buildVpToken(r, { iat: Math.floor(Date.now() / 1000) - 3600 })));
    it("transaction_data_hashes left out although the request carried transaction_data", () => refusedThenHonestAccepted((w, r) => w.buildVpToken(r, { omitTransactionDataHashes: true })));
    it("disclosing more than the DCQL query asked for (our policy: exactly the level's claims)", () => refusedThenHonestAccepted((w, r) => w.buildVpToken(r, { extraClaims: ["id_number"] })));
    it("a replay: the same accepted vp_token again is refused", async () => {
      const w = walletFor("EdDSA");
      const created = await ourRequest(world.shop, "verified");
      const first = await w.answer(created.authorizationRequest);
      expect(first.status, JSON.stringify(first.body)).to.equal(200);
      const { request, vpToken } = first;
      const again = await w.postVpToken(request, vpToken);
      expect(again.status).to.be.within(400, 499);
    });
    it("a revoked credential (Token Status List): accepted before the revocation, refused after", async () => {
      const w = walletFor("EdDSA");
      const before = await w.answer((await ourRequest(world.shop, "verified")).authorizationRequest);
      expect(before.status, JSON.stringify(before.body)).to.equal(200);
      const r = await world.admin("/admin/identities/revoke", { idNumber: LI_SI.idNumber, reason: "interop: revoked" });
      expect(r.status).to.equal(200);
      // Wait (bounded) until the published list shows it: the issuer spreads changes over its publication slots.
      const checker = new CounterpartVerifier({ alg: "EdDSA", trustedIssuers: [world.issuer.did, world.issuer.url], vct: world.vct });
      const used = w.credentials[0];
      const payload = jwtPayload(splitSdJwt(used.compact).issuerJwt);
      const key = await checker.issuerKey(JSON.parse(Buffer.from(used.compact.split(".")[0], "base64url").toString()), payload);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const revoked = await checker.checkStatus(payload, key).then(() => false, (e) => e.code === "status_revoked");
        if (revoked) break;
        if (Date.now() > deadline) throw new Error("the revocation was not published within 60 s");
        await new Promise((res) => setTimeout(res, 250));
      }
      const after = await w.answer((await ourRequest(world.shop, "verified")).authorizationRequest);
      expect(after.status).to.be.within(400, 499);
    });
  });
});
