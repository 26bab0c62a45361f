import { expect } from "chai";
import { b64url, fromB64url, jwkFromDidKey, sha256B64url, signJws, verifySdJwtPresentation, type VerifyPresentationOptions } from "@realname/agent";
import { AUDIENCE, CLAIMS, handmade, NONCE, NOW, present, scenario, type Scenario } from "../helpers/sdjwt.js";
import { newTestKey } from "../helpers/keys.js";

describe("SD-JWT VC presentation verification (RFC 9901 §7.1, §7.3, enforced by us)", () => {
  let s: Scenario;
  before(async () => {
    s = await scenario();
  });
  const verify = (presentation: unknown, o: Partial<VerifyPresentationOptions> = {}) =>
    verifySdJwtPresentation({ presentation, trustedIssuers: [s.issuer.did], audience: AUDIENCE, nonce: NONCE, now: () => NOW, ...o });
  const codes = (r: { errors: { code: string }[] }) => r.errors.map((e) => e.code);

  it("accepts a genuine presentation and returns exactly the disclosed claims", async () => {
    const r = verify(await present(s, { disclose: ["real_name_verified", "age_over_18"] }));
    expect(r.errors).to.deep.equal([]);
    expect(r.verified).to.equal(true);
    expect(r.disclosed!.sort()).to.deep.equal(["age_over_18", "real_name_verified"]);
    expect(r.claims!.real_name_verified).to.equal(true);
    expect(r.claims).to.not.have.property("id_number");
    expect(r.claims).to.not.have.property("full_name");
  });

  it("the issuer's credential hides every identity claim behind digests, with decoys", async () => {
    const payload = JSON.parse(fromB64url(s.credential.split(".")[1]!).toString());
    for (const name of Object.keys(CLAIMS)) expect(payload).to.not.have.property(name);
    expect(payload._sd.length).to.be.greaterThan(Object.keys(CLAIMS).length);
    const header = JSON.parse(fromB64url(s.credential.split(".")[0]!).toString());
    expect(header).to.include({ alg: "EdDSA", typ: "dc+sd-jwt" });
  });

  describe("refusals, each with its code", () => {
    it("wrong nonce: ERR_KB_NONCE", async () => {
      expect(codes(verify(await present(s, { nonce: "another-nonce-0123456789" })))).to.include("ERR_KB_NONCE");
    });
    it("wrong audience: ERR_KB_AUDIENCE", async () => {
      expect(codes(verify(await present(s, { audience: "did:key:z6Mkother" })))).to.include("ERR_KB_AUDIENCE");
    });
    it("an audience array that merely contains us: ERR_KB_AUDIENCE", async () => {
      expect(codes(verify(await present(s, { audience: [AUDIENCE, "did:key:z6Mkother"] })))).to.include("ERR_KB_AUDIENCE");
    });
    it("untrusted issuer: ERR_ISSUER_UNTRUSTED", async () => {
      expect(codes(verify(await present(s), { trustedIssuers: [newTestKey().did] }))).to.deep.equal(["ERR_ISSUER_UNTRUSTED"]);
    });
    it("a trusted iss signed by another key (key confusion): ERR_SDJWT_SIGNATURE", async () => {
      const forger = newTestKey();
      const forged = await handmade({ ...s, issuer: { ...s.issuer, signer: forger.signer } }, () => ({ payload: {}, disclosures: [] }));
      expect(codes(verify(forged))).to.deep.equal(["ERR_SDJWT_SIGNATURE"]);
    });
    it("a kid that names another DID: ERR_ISSUER_UNTRUSTED", async () => {
      const other = await handmade(s, () => ({ payload: {}, disclosures: [] }), { alg: "EdDSA", typ: "dc+sd-jwt", kid: `${newTestKey().did}#x` });
      expect(codes(verify(other))).to.deep.equal(["ERR_ISSUER_UNTRUSTED"]);
    });
    it("alg none: ERR_SDJWT_ALG", async () => {
      const p = await present(s);
      const [jwt, ...rest] = p.split("~");
      const [, payload] = jwt!.split(".");
      const none = `${b64url(Buffer.from(JSON.stringify({ alg: "none", typ: "dc+sd-jwt" })))}.${payload}.`;
      expect(codes(verify([none, ...rest].join("~")))).to.deep.equal(["ERR_SDJWT_ALG"]);
    });
    it("wrong typ: ERR_SDJWT_TYP", async () => {
      const p = await handmade(s, () => ({ payload: {}, disclosures: [] }), { alg: "EdDSA", typ: "JWT" });
      expect(codes(verify(p))).to.deep.equal(["ERR_SDJWT_TYP"]);
    });
    it("tampered disclosure (value changed): ERR_DISCLOSURE_UNREFERENCED", async () => {
      const p = await present(s, { disclose: ["real_name_verified", "age_over_18"] });
      const parts = p.split("~");
      const i = parts.findIndex((d, k) => k > 0 && JSON.parse(fromB64url(d).toString())[1] === "age_over_18");
      const [salt] = JSON.parse(fromB64url(parts[i]!).toString());
      parts[i] = b64url(Buffer.from(JSON.stringify([salt, "age_over_18", false])));
      expect(codes(verify(parts.join("~")))).to.include("ERR_DISCLOSURE_UNREFERENCED");
    });
    it("tampered disclosure without key binding is still refused (not silently dropped)", async () => {
      const p = await present(s, { disclose: ["real_name_verified"] });
      const parts = p.split("~");
      parts[1] = b64url(Buffer.from(JSON.stringify(["salt", "real_name_verified", true])));
      parts[parts.length - 1] = "";
      expect(codes(verify(parts.join("~"), { requireKeyBinding: false }))).to.include("ERR_DISCLOSURE_UNREFERENCED");
    });
    it("missing key binding: ERR_KB_MISSING", async () => {
      const p = await present(s);
      expect(codes(verify(p.slice(0, p.lastIndexOf("~") + 1)))).to.deep.equal(["ERR_KB_MISSING"]);
    });
    it("key binding signed by a key other than cnf: ERR_KB_SIGNATURE", async () => {
      expect(codes(verify(await present(s, { signer: newTestKey() })))).to.deep.equal(["ERR_KB_SIGNATURE"]);
    });
    it("key binding with the wrong typ: ERR_KB_TYP", async () => {
      expect(codes(verify(await present(s, { kbHeader: { typ: "JWT", alg: "EdDSA" } })))).to.deep.equal(["ERR_KB_TYP"]);
    });
    it("stale key binding: ERR_KB_STALE", async () => {
      expect(codes(verify(await present(s, { now: new Date(NOW.getTime() - 3_600_000) })))).to.deep.equal(["ERR_KB_STALE"]);
    });
    it("key binding from the future: ERR_KB_FUTURE", async () => {
      expect(codes(verify(await present(s, { now: new Date(NOW.getTime() + 3_600_000) })))).to.deep.equal(["ERR_KB_FUTURE"]);
    });
    it("a disclosure added after key binding (sd_hash no longer matches): ERR_KB_SD_HASH", async () => {
      const p = await present(s, { disclose: ["real_name_verified"] });
      const extra = (await present(s, { disclose: ["id_number"] })).split("~")[1]!;
      const parts = p.split("~");
      parts.splice(1, 0, extra);
      expect(codes(verify(parts.join("~")))).to.deep.equal(["ERR_KB_SD_HASH"]);
    });
    it("the same disclosure twice: ERR_DISCLOSURE_DUPLICATE", async () => {
      const parts = (await present(s)).split("~");
      parts.splice(1, 0, parts[1]!);
      expect(codes(verify(parts.join("~")))).to.deep.equal(["ERR_DISCLOSURE_DUPLICATE"]);
    });
    it("a digest that appears twice in the payload: ERR_DIGEST_DUPLICATE", async () => {
      const p = await handmade(s, (d) => {
        const a = d(["s1", "real_name_verified", true]);
        return { payload: { _sd: [a.digest, a.digest] }, disclosures: [a.encoded] };
      });
      expect(codes(verify(p))).to.include("ERR_DIGEST_DUPLICATE");
    });
    it("a disclosure from another credential: ERR_DISCLOSURE_UNREFERENCED", async () => {
      const other = await scenario();
      const foreign = (await present(other, { disclose: ["id_number"] })).split("~")[1]!;
      const parts = (await present(s)).split("~");
      parts.splice(1, 0, foreign);
      // Recompute the key binding so only the foreign disclosure is wrong.
      const presented = parts.slice(0, -1).join("~") + "~";
      const kb = await signJws({ typ: "kb+jwt", alg: "EdDSA" }, { iat: Math.floor(NOW.getTime() / 1000), aud: AUDIENCE, nonce: NONCE, sd_hash: sha256B64url(presented) }, s.holder.signer);
      expect(codes(verify(presented + kb))).to.deep.equal(["ERR_DISCLOSURE_UNREFERENCED"]);
    });
    it("a disclosure named _sd: ERR_DISCLOSURE_NAME_FORBIDDEN", async () => {
      const p = await handmade(s, (d) => {
        const a = d(["s1", "_sd", ["x"]]);
        return { payload: { _sd: [a.digest] }, disclosures: [a.encoded] };
      });
      expect(codes(verify(p))).to.include("ERR_DISCLOSURE_NAME_FORBIDDEN");
    });
    it("a disclosed validity claim (exp): ERR_DISCLOSURE_NAME_FORBIDDEN", async () => {
      const p = await handmade(s, (d) => {
        const a = d(["s1", "exp", 9_999_999_999]);
        return { payload: { _sd: [a.digest] }, disclosures: [a.encoded] };
      });
      expect(codes(verify(p))).to.include("ERR_DISCLOSURE_NAME_FORBIDDEN");
    });
    it("a disclosed name colliding with a plain claim: ERR_CLAIM_COLLISION", async () => {
      const p = await handmade(s, (d) => {
        const a = d(["s1", "given_name", "四"]);
        return { payload: { given_name: "三", _sd: [a.digest] }, disclosures: [a.encoded] };
      });
      expect(codes(verify(p))).to.include("ERR_CLAIM_COLLISION");
    });
    it("an unknown _sd_alg: ERR_SD_ALG, with or without key binding", async () => {
      const p = await handmade(s, () => ({ payload: { _sd_alg: "md5" }, disclosures: [] }));
      expect(codes(verify(p))).to.deep.equal(["ERR_SD_ALG"]);
      expect(codes(verify(p.slice(0, p.lastIndexOf("~") + 1), { requireKeyBinding: false }))).to.deep.equal(["ERR_SD_ALG"]);
    });
    it("an expired credential: ERR_CREDENTIAL_EXPIRED", async () => {
      const later = new Date(NOW.getTime() + 2 * 86_400_000);
      expect(codes(verify(await present(s, { now: later }), { now: () => later }))).to.deep.equal(["ERR_CREDENTIAL_EXPIRED"]);
    });
    it("a credential issued in the future: ERR_CREDENTIAL_NOT_YET_VALID", async () => {
      const earlier = new Date(NOW.getTime() - 3600_000);
      expect(codes(verify(await present(s, { now: earlier }), { now: () => earlier }))).to.deep.equal(["ERR_CREDENTIAL_NOT_YET_VALID"]);
    });
    it("more claims than the request allows: ERR_CLAIMS_NOT_ALLOWED", async () => {
      const r = verify(await present(s, { disclose: ["real_name_verified", "id_number"] }), { allowedClaims: ["real_name_verified"] });
      expect(codes(r)).to.deep.equal(["ERR_CLAIMS_NOT_ALLOWED"]);
    });
    it("fewer claims than required: ERR_CLAIMS_MISSING", async () => {
      expect(codes(verify(await present(s), { requiredClaims: ["real_name_verified", "full_name"] }))).to.deep.equal(["ERR_CLAIMS_MISSING"]);
    });
    for (const [name, input] of [
      ["not a string", 42],
      ["empty", ""],
      ["no tilde", "a.b.c"],
      ["garbage JWT", "x.y.z~"],
      ["empty disclosure", "a.b.c~~x~"],
      ["oversized", "a".repeat(70_000)],
    ] as const) {
      it(`malformed input (${name}) is refused with a code, never thrown`, () => {
        const r = verify(input);
        expect(r.verified).to.equal(false);
        expect(r.errors[0]!.code).to.match(/^ERR_SDJWT_/);
      });
    }
    it("a non-JSON disclosure: ERR_DISCLOSURE_MALFORMED", async () => {
      const parts = (await present(s)).split("~");
      parts.splice(1, 0, b64url(Buffer.from("not json")));
      expect(codes(verify(parts.join("~")))).to.deep.equal(["ERR_DISCLOSURE_MALFORMED"]);
    });
  });
});

describe("Issuer keys from the trust list: did:key or JWK, EdDSA or ES256", () => {
  it("accepts an ES256 issuer trusted by JWK, with an ES256 holder key; refuses alg/key mismatches", async () => {
    const { generateKeyPairSync, sign } = await import("node:crypto");
    const { b64url, signJws: sign2, sha256B64url: h, verifySdJwtPresentation: verify } = await import("@realname/agent");
    const es = (priv: import("node:crypto").KeyObject) => async (data: string) => b64url(sign("sha256", Buffer.from(data), { key: priv, dsaEncoding: "ieee-p1363" }));
    const issuerPair = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const holderPair = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const issuerJwk = issuerPair.publicKey.export({ format: "jwk" }) as { kty: "EC"; crv: "P-256"; x: string; y: string };
    const holderJwk = holderPair.publicKey.export({ format: "jwk" });
    const disclosure = b64url(Buffer.from(JSON.stringify(["salt-1234567890abcd", "real_name_verified", true])));
    const t = Math.floor(NOW.getTime() / 1000);
    const jwt = await sign2({ alg: "ES256", typ: "dc+sd-jwt" }, { iss: "https://issuer.example", iat: t, exp: t + 3600, vct: "urn:realname:identity:1", cnf: { jwk: holderJwk }, _sd_alg: "sha-256", _sd: [h(disclosure)] }, es(issuerPair.privateKey));
    const presented = `${jwt}~${disclosure}~`;
    const kb = await sign2({ typ: "kb+jwt", alg: "ES256" }, { iat: t, aud: AUDIENCE, nonce: NONCE, sd_hash: h(presented) }, es(holderPair.privateKey));
    const trusted = [{ iss: "https://issuer.example", jwk: issuerJwk }];
    const ok = verify({ presentation: presented + kb, trustedIssuers: trusted, audience: AUDIENCE, nonce: NONCE, now: () => NOW });
    expect(ok.errors).to.deep.equal([]);
    expect(ok.claims!.real_name_verified).to.equal(true);
    // The same token against an Ed25519 key for that iss: the header's alg does not decide the key type.
    const edKey = newTestKey();
    const wrongKey = verify({ presentation: presented + kb, trustedIssuers: [{ iss: "https://issuer.example", jwk: jwkFromDidKey(edKey.did) }], audience: AUDIENCE, nonce: NONCE, now: () => NOW });
    expect(wrongKey.errors.map((e) => e.code)).to.deep.equal(["ERR_SDJWT_ALG"]);
    // A JWK for another iss is not a key for this one.
    expect(verify({ presentation: presented + kb, trustedIssuers: [{ iss: "https://other.example", jwk: issuerJwk }], audience: AUDIENCE, nonce: NONCE, now: () => NOW }).errors[0]!.code).to.equal("ERR_ISSUER_UNTRUSTED");
    // A key binding signed EdDSA for an ES256 holder key.
    const edKb = await sign2({ typ: "kb+jwt", alg: "EdDSA" }, { iat: t, aud: AUDIENCE, nonce: NONCE, sd_hash: h(presented) }, edKey.signer);
    expect(verify({ presentation: presented + edKb, trustedIssuers: trusted, audience: AUDIENCE, nonce: NONCE, now: () => NOW }).errors.map((e) => e.code)).to.deep.equal(["ERR_KB_ALG"]);
  });
});
