/**
 * Interop, presentation: OUR wallet (driven only through its command line, as a person would) answers a
 * standard verifier (the counterpart, written from OpenID4VP 1.0 / RFC 9901 / SD-JWT VC / Token Status List
 * only) that the issuer's registry lists, at every level, for EdDSA and ES256 request objects, with plain
 * (`direct_post`) and encrypted (`direct_post.jwt`, ECDH-ES P-256, §8.3 / HAIP) responses. Then the
 * counterpart verifier makes each refusal a standard verifier must make on presentations our wallet produced.
 *
 * `pseudonymous` for a standard verifier, as the profile documents it: the DCQL query names the merchant's own
 * pseudonym claim (`merchant_pseudonym_<hash of its DID>`), an issuer-signed value stable at that merchant.
 */
import { expect } from "chai";
import { CounterpartVerifier, type GrantAsk, type Level, type OpenRequest, type Outcome } from "./counterpart/verifier.js";
import { tamperFirstDisclosure } from "./counterpart/wallet.js";
import { splitSdJwt } from "./counterpart/sdjwt.js";
import { PURPOSES, ZHANG_SAN, startWorld, type OurWalletCli, type World } from "./setup.js";

type ResponseMode = NonNullable<GrantAsk["responseMode"]>;

describe("Interop: our wallet answers a standard verifier (OpenID4VP 1.0, signed request by reference, DCQL, transaction_data)", function () {
  this.timeout(300_000);
  let world: World;
  let wallet: OurWalletCli;
  const eddsa = new CounterpartVerifier({ alg: "EdDSA", trustedIssuers: [], vct: "", name: "Counterpart EdDSA Shop" });
  const other = new CounterpartVerifier({ alg: "EdDSA", trustedIssuers: [], vct: "", name: "Counterpart Other Shop" });
  const es256 = new CounterpartVerifier({ alg: "ES256", trustedIssuers: [], vct: "", name: "Counterpart ES256 Shop" });

  before(async () => {
    await Promise.all([eddsa.start(), other.start(), es256.start()]);
    world = await startWorld([eddsa, other, es256]);
    wallet = await world.ourWallet(ZHANG_SAN, 10);
  });
  after(async () => {
    await Promise.allSettled([eddsa.stop(), other.stop(), es256.stop()]);
    await world?.close();
  });

  /** Our wallet answers the counterpart's link; returns the verifier's outcome for that request. */
  async function answerIn(verifier: CounterpartVerifier, level: Level, claims: string[] = [], responseMode: ResponseMode = "direct_post"): Promise<{ open: OpenRequest; outcome: Outcome; exit: number; out: string }> {
    const registryRefusal = world.registrationErrors.get(verifier.did);
    if (registryRefusal) throw new Error(`the issuer's registry refused this merchant: ${registryRefusal}`);
    const open = await verifier.createRequest({ level, purpose: PURPOSES[level], claims, responseMode });
    const r = await wallet.run("answer", open.link, "--yes");
    const outcome = verifier.outcomes.get(open.id);
    if (!outcome) throw new Error(`no answer reached the verifier (wallet exit ${r.code}): ${r.stdout}${r.stderr}`);
    return { open, outcome, exit: r.code, out: r.stdout + r.stderr };
  }

  for (const [verifier, mode] of [[eddsa, "direct_post"], [es256, "direct_post"], [eddsa, "direct_post.jwt"], [es256, "direct_post.jwt"]] as const) {
    const alg = verifier === eddsa ? "EdDSA" : "ES256";
    const answer = (v: CounterpartVerifier, level: Level, claims: string[] = []) => answerIn(v, level, claims, mode);
    describe(`${alg} request objects, ${mode} responses`, () => {
      it("verified: the verifier accepts; it learns only real_name_verified; the wallet reports success on {redirect_uri}", async () => {
        const { outcome, exit, out } = await answer(verifier, "verified");
        expect(outcome.errors, JSON.stringify(outcome.errors)).to.deep.equal([]);
        expect(!!outcome.encrypted, "the answer arrived encrypted exactly when asked").to.equal(mode === "direct_post.jwt");
        expect(outcome.verified).to.equal(true);
        const disclosed = Object.keys(outcome.claims!).filter((k) => !["iss", "iat", "exp", "nbf", "vct", "cnf", "status", "sub"].includes(k));
        expect(disclosed).to.deep.equal(["real_name_verified"]);
        expect(exit, out).to.equal(0);
      });
      it("pseudonymous: accepted; the issuer-signed pseudonym is the same on return and another at another merchant", async () => {
        const first = await answer(verifier, "pseudonymous");
        expect(first.outcome.errors, JSON.stringify(first.outcome.errors)).to.deep.equal([]);
        expect(first.exit, first.out).to.equal(0);
        const mine = first.outcome.claims![verifier.pseudonymClaim];
        expect(mine, "the pseudonym claim the DCQL query named").to.be.a("string").with.length.greaterThan(10);
        const again = await answer(verifier, "pseudonymous");
        expect(again.outcome.verified, JSON.stringify(again.outcome.errors)).to.equal(true);
        expect(again.outcome.claims![verifier.pseudonymClaim]).to.equal(mine);
        const elsewhere = await answer(other, "pseudonymous");
        expect(elsewhere.outcome.verified, JSON.stringify(elsewhere.outcome.errors)).to.equal(true);
        expect(elsewhere.outcome.claims![other.pseudonymClaim]).to.be.a("string").and.not.equal(mine);
        expect(elsewhere.outcome.claims).to.not.have.property(verifier.pseudonymClaim);
      });
      it("full: accepted; exactly the claims asked for, with the person's values", async () => {
        const { outcome, exit, out } = await answer(verifier, "full", ["full_name", "birth_date"]);
        expect(outcome.errors, JSON.stringify(outcome.errors)).to.deep.equal([]);
        expect(outcome.claims).to.deep.include({ real_name_verified: true, full_name: ZHANG_SAN.name, birth_date: "1990-03-07" });
        expect(outcome.claims).to.not.have.property("id_number");
        expect(exit, out).to.equal(0);
      });
    });
  }

  it("the person declines: nothing is disclosed and the verifier is told access_denied (§8.5, by direct_post)", async () => {
    const open = await eddsa.createRequest({ level: "full", purpose: PURPOSES.full, claims: ["full_name"] });
    const r = await wallet.runOnTerminal("n\n", "answer", open.link);
    expect(r.json?.error?.code, r.stdout + r.stderr).to.equal("ERR_DECLINED");
    const outcome = eddsa.outcomes.get(open.id);
    expect(outcome?.declined, "the verifier received error=access_denied").to.equal(true);
    expect(outcome?.presentation).to.equal(undefined);
  });

  it("a scripted decline of a direct_post.jwt request: the verifier is told access_denied inside a JWE to its key", async () => {
    const open = await es256.createRequest({ level: "verified", purpose: PURPOSES.verified, responseMode: "direct_post.jwt" });
    const r = await wallet.run("answer", open.link, "--decline");
    expect(r.json?.error?.code, r.stdout + r.stderr).to.equal("ERR_DECLINED");
    expect(es256.outcomes.get(open.id)).to.deep.include({ declined: true, encrypted: true });
  });

  it("a direct_post.jwt request offering no enc list: our wallet uses A128GCM (§8.3 default) and the verifier opens it", async () => {
    const open = await eddsa.createRequest({ level: "verified", purpose: PURPOSES.verified, responseMode: "direct_post.jwt", encValues: null });
    const r = await wallet.run("answer", open.link, "--yes");
    expect(eddsa.outcomes.get(open.id), r.stdout + r.stderr).to.deep.include({ verified: true, encrypted: true });
  });

  it("a scripted decline (`answer --decline`): the verifier is told access_denied too, nothing is disclosed", async () => {
    const open = await es256.createRequest({ level: "verified", purpose: PURPOSES.verified });
    const r = await wallet.run("answer", open.link, "--decline");
    expect(r.json?.error?.code, r.stdout + r.stderr).to.equal("ERR_DECLINED");
    const outcome = es256.outcomes.get(open.id);
    expect(outcome?.declined, "the verifier received error=access_denied").to.equal(true);
    expect(outcome?.presentation).to.equal(undefined);
  });

  describe("refusals a standard verifier must make, on presentations our wallet produced", () => {
    let open: OpenRequest;
    let presentation: string;
    before(async () => {
      const r = await answerIn(eddsa, "verified");
      if (!r.outcome.verified) throw new Error(`our wallet's honest answer was refused: ${JSON.stringify(r.outcome.errors)}`);
      open = r.open;
      presentation = r.outcome.presentation!;
    });
    const codeOf = (o: Outcome) => o.errors.map((e) => e.code);

    it("the honest presentation passes every check (the control for the refusals below)", async () => {
      expect((await eddsa.check(presentation, open)).verified).to.equal(true);
    });
    it("a tampered disclosure: refused (RFC 9901 §7.1: its digest is in no _sd)", async () => {
      const split = splitSdJwt(presentation);
      const tampered = `${tamperFirstDisclosure(split.sdJwtPart)}${split.kbJwt}`;
      expect(codeOf(await eddsa.check(tampered, open))).to.deep.equal(["disclosure_unreferenced"]);
    });
    it("another verifier's audience: refused (§7.3 aud; OpenID4VP B.3.6 the full client identifier)", async () => {
      // Same nonce, so only the audience differs.
      const elsewhere = await other.createRequest({ level: "verified", purpose: PURPOSES.verified, nonce: open.nonce });
      expect(codeOf(await other.check(presentation, elsewhere))).to.deep.equal(["kb_aud"]);
    });
    it("another nonce: refused (§7.3 nonce)", async () => {
      const fresh = await eddsa.createRequest({ level: "verified", purpose: PURPOSES.verified });
      expect(codeOf(await eddsa.check(presentation, fresh))).to.deep.equal(["kb_nonce"]);
    });
    it("a replay of the accepted vp_token to the same response_uri: refused", async () => {
      const res = await fetch(`${eddsa.url}/responses/${open.id}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ vp_token: JSON.stringify({ [open.queryId]: [presentation] }), state: open.state }),
      });
      expect(res.status).to.equal(400);
      expect(codeOf(eddsa.outcomes.get(`${open.id}#replay`)!)).to.deep.equal(["replay"]);
    });
    it("an expired key binding: refused an hour later (§7.3 iat within the verifier's window)", async () => {
      const clock = eddsa.clock;
      eddsa.clock = () => new Date(Date.now() + 3_600_000);
      try {
        expect(codeOf(await eddsa.check(presentation, open))).to.deep.equal(["kb_iat"]);
      } finally {
        eddsa.clock = clock;
      }
    });
    it("transaction data it did not sign: refused (OpenID4VP §8.4 transaction_data_hashes)", async () => {
      const altered = { ...open, transactionData: [Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(open.transactionData[0], "base64url").toString()), level: "full" })).toString("base64url")] };
      expect(codeOf(await eddsa.check(presentation, altered))).to.deep.equal(["transaction_data_hashes"]);
    });
    it("a revoked credential: refused once the issuer's Token Status List says so", async () => {
      const r = await world.admin("/admin/identities/revoke", { idNumber: ZHANG_SAN.idNumber, reason: "interop: revoked" });
      expect(r.status).to.equal(200);
      const deadline = Date.now() + 60_000;
      let codes: string[] = [];
      while (Date.now() < deadline) {
        codes = codeOf(await eddsa.check(presentation, open));
        if (codes.length) break;
        await new Promise((res) => setTimeout(res, 250));
      }
      expect(codes).to.deep.equal(["status_revoked"]);
    });
  });
});
