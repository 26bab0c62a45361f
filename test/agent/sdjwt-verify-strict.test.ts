import { expect } from "chai";
import { b64url, fromB64url, sha256B64url, signJws, verifySdJwtPresentation, type VerifyPresentationOptions } from "@realname/agent";
import {
  AUDIENCE,
  baseIssuerPayload,
  bindRaw,
  handmade,
  handmadeRaw,
  kbClaims,
  NONCE,
  nonCanonicalB64url,
  NOW,
  present,
  scenario,
  withLeadingMember,
  withRawStringMember,
  type Scenario,
} from "../helpers/sdjwt.js";

/**
 * The strict verifier to the letter (issue 13): the key-binding JWT is a JWT like any other (RFC 7515/7519),
 * every JSON text is read one way only (canonical base64url, valid UTF-8, no duplicate member names), and the
 * SD-JWT VC draft's rules on what may and may not be disclosed. The README's conformance table points here.
 */
describe("SD-JWT VC verification to the letter (RFC 9901 §7, RFC 7515/7519, SD-JWT VC)", () => {
  let s: Scenario;
  before(async () => {
    s = await scenario();
  });
  const verify = (presentation: unknown, o: Partial<VerifyPresentationOptions> = {}) =>
    verifySdJwtPresentation({ presentation, trustedIssuers: [s.issuer.did], audience: AUDIENCE, nonce: NONCE, now: () => NOW, ...o });
  const codes = (r: { errors: { code: string }[] }) => r.errors.map((e) => e.code);
  const t = Math.floor(NOW.getTime() / 1000);
  const KB_HEADER = { typ: "kb+jwt", alg: "EdDSA" };
  /** A genuine SD-JWT (issuer JWT and one disclosure, ending in '~') to bind key-binding JWTs to. */
  const presentedOf = async () => {
    const p = await present(s, { disclose: ["real_name_verified"] });
    return p.slice(0, p.lastIndexOf("~") + 1);
  };
  /** The genuine SD-JWT with a key-binding JWT whose header and claims the test chooses (signed by the holder). */
  const withKb = async (header: Record<string, unknown>, claims: (base: Record<string, unknown>) => Record<string, unknown>) => {
    const presented = await presentedOf();
    return presented + (await signJws(header, claims(kbClaims(presented)), s.holder.signer));
  };

  describe("the key-binding JWT is a JWT (RFC 9901 §7.3 step 5.8: RFC 7519, RFC 7515, RFC 8725)", () => {
    it("a genuine key-binding JWT with an extra claim we do not understand is accepted (SD-JWT VC §4.1: ignored)", async () => {
      const r = verify(await withKb(KB_HEADER, (c) => ({ ...c, unknown_extension: { x: 1 } })));
      expect(r.errors).to.deep.equal([]);
    });
    it("an expired key-binding JWT (exp passed beyond the skew): ERR_KB_EXPIRED", async () => {
      expect(codes(verify(await withKb(KB_HEADER, (c) => ({ ...c, exp: t - 120 }))))).to.deep.equal(["ERR_KB_EXPIRED"]);
    });
    it("exp within the clock skew is still accepted (the same bounded skew as the issuer's JWT)", async () => {
      expect(verify(await withKb(KB_HEADER, (c) => ({ ...c, exp: t - 30 })), { clockSkewSeconds: 60 }).errors).to.deep.equal([]);
      expect(codes(verify(await withKb(KB_HEADER, (c) => ({ ...c, exp: t - 30 })), { clockSkewSeconds: 10 }))).to.deep.equal(["ERR_KB_EXPIRED"]);
    });
    it("a key-binding JWT not valid yet (nbf in the future beyond the skew): ERR_KB_NOT_YET_VALID", async () => {
      expect(codes(verify(await withKb(KB_HEADER, (c) => ({ ...c, nbf: t + 600 }))))).to.deep.equal(["ERR_KB_NOT_YET_VALID"]);
      expect(verify(await withKb(KB_HEADER, (c) => ({ ...c, nbf: t + 30 }))).errors).to.deep.equal([]);
    });
    it("exp, nbf or iat that is not a NumericDate: ERR_KB_MALFORMED", async () => {
      expect(codes(verify(await withKb(KB_HEADER, (c) => ({ ...c, exp: String(t + 600) }))))).to.deep.equal(["ERR_KB_MALFORMED"]);
      expect(codes(verify(await withKb(KB_HEADER, (c) => ({ ...c, nbf: "yesterday" }))))).to.deep.equal(["ERR_KB_MALFORMED"]);
      expect(codes(verify(await withKb(KB_HEADER, (c) => ({ ...c, iat: String(t) }))))).to.deep.equal(["ERR_KB_MALFORMED"]);
      expect(codes(verify(await withKb(KB_HEADER, (c) => ({ ...c, iat: undefined }))))).to.deep.equal(["ERR_KB_MALFORMED"]);
    });
    it("a critical header extension we do not understand: ERR_KB_CRIT", async () => {
      expect(codes(verify(await withKb({ ...KB_HEADER, crit: ["ext"], ext: true }, (c) => c)))).to.deep.equal(["ERR_KB_CRIT"]);
    });
    for (const [name, header] of [
      ["crit empty", { ...KB_HEADER, crit: [] }],
      ["crit not an array", { ...KB_HEADER, crit: "ext", ext: 1 }],
      ["crit naming a registered parameter", { ...KB_HEADER, crit: ["alg"] }],
      ["crit naming a parameter absent from the header", { ...KB_HEADER, crit: ["ext"] }],
      ["crit naming one twice", { ...KB_HEADER, crit: ["ext", "ext"], ext: 1 }],
    ] as const) {
      it(`a malformed crit (${name}): ERR_KB_CRIT`, async () => {
        expect(codes(verify(await withKb(header, (c) => c)))).to.deep.equal(["ERR_KB_CRIT"]);
      });
    }
    it("typ must be exactly kb+jwt: ERR_KB_TYP for application/kb+jwt, KB+JWT or none", async () => {
      for (const typ of ["application/kb+jwt", "KB+JWT", undefined]) {
        expect(codes(verify(await withKb({ alg: "EdDSA", typ }, (c) => c))), String(typ)).to.deep.equal(["ERR_KB_TYP"]);
      }
    });
    it("alg none, HS256 or an alg the holder key does not use: ERR_KB_ALG", async () => {
      const presented = await presentedOf();
      const body = b64url(Buffer.from(JSON.stringify(kbClaims(presented))));
      const none = `${b64url(Buffer.from(JSON.stringify({ typ: "kb+jwt", alg: "none" })))}.${body}.`;
      expect(codes(verify(presented + none))).to.deep.equal(["ERR_KB_ALG"]);
      expect(codes(verify(await withKb({ typ: "kb+jwt", alg: "HS256" }, (c) => c)))).to.deep.equal(["ERR_KB_ALG"]);
      expect(codes(verify(await withKb({ typ: "kb+jwt", alg: "ES256" }, (c) => c)))).to.deep.equal(["ERR_KB_ALG"]);
    });
    it("duplicate member names in the key-binding payload (two nonces, the last ours): ERR_KB_DUPLICATE_KEY", async () => {
      const presented = await presentedOf();
      const payload = withLeadingMember(kbClaims(presented), "nonce", "someone-elses-nonce");
      expect(codes(verify(await bindRaw(s, presented, { payload })))).to.deep.equal(["ERR_KB_DUPLICATE_KEY"]);
    });
    it("duplicate member names in the key-binding header, also when spelled with an escape: ERR_KB_DUPLICATE_KEY", async () => {
      const presented = await presentedOf();
      expect(codes(verify(await bindRaw(s, presented, { header: withLeadingMember(KB_HEADER, "typ", "JWT") })))).to.deep.equal(["ERR_KB_DUPLICATE_KEY"]);
      expect(codes(verify(await bindRaw(s, presented, { header: '{"typ":"kb+jwt","alg":"EdDSA","\\u0074yp":"kb+jwt"}' })))).to.deep.equal(["ERR_KB_DUPLICATE_KEY"]);
    });
    it("the key-binding JWT's text is not valid UTF-8: ERR_KB_ENCODING", async () => {
      const presented = await presentedOf();
      expect(codes(verify(await bindRaw(s, presented, { payload: withRawStringMember(kbClaims(presented), "note", Buffer.from([0xff, 0xfe])) })))).to.deep.equal(["ERR_KB_ENCODING"]);
      expect(codes(verify(await bindRaw(s, presented, { header: withRawStringMember(KB_HEADER, "note", Buffer.from([0xc0, 0xaf])) })))).to.deep.equal(["ERR_KB_ENCODING"]);
    });
    it("a key-binding signature spelled in non-canonical base64url (same bytes): ERR_KB_ENCODING", async () => {
      const p = await present(s);
      const kb = p.slice(p.lastIndexOf("~") + 1);
      const [h, b, sig] = kb.split(".");
      expect(fromB64url(nonCanonicalB64url(sig!)).equals(fromB64url(sig!))).to.equal(true);
      expect(codes(verify(p.slice(0, p.lastIndexOf("~") + 1) + `${h}.${b}.${nonCanonicalB64url(sig!)}`))).to.deep.equal(["ERR_KB_ENCODING"]);
    });
    it("a key-binding JWT with padding or characters outside base64url: ERR_KB_MALFORMED", async () => {
      const p = await present(s);
      const [h, b, sig] = p.slice(p.lastIndexOf("~") + 1).split(".");
      const presented = p.slice(0, p.lastIndexOf("~") + 1);
      expect(codes(verify(presented + `${h}=.${b}.${sig}`))).to.deep.equal(["ERR_KB_MALFORMED"]);
      expect(codes(verify(presented + `${h}.${b}.${sig}+`))).to.deep.equal(["ERR_KB_MALFORMED"]);
    });
  });

  describe("every JSON text is read one way: canonical base64url, valid UTF-8, unique member names", () => {
    it("non-ASCII text in valid UTF-8 is accepted (张三)", async () => {
      const r = verify(await present(s, { disclose: ["real_name_verified", "full_name"] }));
      expect(r.errors).to.deep.equal([]);
      expect(r.claims!.full_name).to.equal("张三");
    });
    it("the issuer-signed JWT's header not valid UTF-8: ERR_SDJWT_ENCODING", async () => {
      const header = withRawStringMember({ alg: "EdDSA", typ: "dc+sd-jwt" }, "note", Buffer.from([0xff]));
      expect(codes(verify(await handmadeRaw(s, header, JSON.stringify(baseIssuerPayload(s)))))).to.deep.equal(["ERR_SDJWT_ENCODING"]);
    });
    it("the issuer-signed JWT's payload not valid UTF-8 (also an encoded surrogate, an overlong form): ERR_SDJWT_ENCODING", async () => {
      for (const raw of [[0xe5, 0xbc], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
        const payload = withRawStringMember(baseIssuerPayload(s), "note", Buffer.from(raw));
        expect(codes(verify(await handmadeRaw(s, JSON.stringify({ alg: "EdDSA", typ: "dc+sd-jwt" }), payload))), JSON.stringify(raw)).to.deep.equal(["ERR_SDJWT_ENCODING"]);
      }
    });
    it("a disclosure not valid UTF-8: ERR_DISCLOSURE_ENCODING", async () => {
      const encoded = b64url(Buffer.concat([Buffer.from('["salt-0123456789abcdef","given_name","'), Buffer.from([0xe4, 0xb8]), Buffer.from('"]')]));
      const payload = { ...baseIssuerPayload(s), _sd: [sha256B64url(encoded)] };
      expect(codes(verify(await handmadeRaw(s, JSON.stringify({ alg: "EdDSA", typ: "dc+sd-jwt" }), JSON.stringify(payload), [encoded])))).to.deep.equal(["ERR_DISCLOSURE_ENCODING"]);
    });
    it("a string escaping an unpaired surrogate (no UTF-8 can carry it): ERR_DISCLOSURE_ENCODING", async () => {
      const p = await handmade(s, () => {
        const encoded = b64url(Buffer.from('["salt-0123456789abcdef","given_name","\\ud800"]'));
        return { payload: { _sd: [sha256B64url(encoded)] }, disclosures: [encoded] };
      });
      expect(codes(verify(p))).to.deep.equal(["ERR_DISCLOSURE_ENCODING"]);
    });
    it("a byte order mark before the JSON: ERR_DISCLOSURE_MALFORMED (RFC 8259 §8.1: not JSON text)", async () => {
      const p = await handmade(s, () => {
        const encoded = b64url(Buffer.from('\ufeff["salt-0123456789abcdef","given_name","三"]'));
        return { payload: { _sd: [sha256B64url(encoded)] }, disclosures: [encoded] };
      });
      expect(codes(verify(p))).to.deep.equal(["ERR_DISCLOSURE_MALFORMED"]);
    });
    it("duplicate member names in the issuer-signed header (two typ): ERR_SDJWT_DUPLICATE_KEY", async () => {
      const header = withLeadingMember({ alg: "EdDSA", typ: "dc+sd-jwt" }, "typ", "JWT");
      expect(codes(verify(await handmadeRaw(s, header, JSON.stringify(baseIssuerPayload(s)))))).to.deep.equal(["ERR_SDJWT_DUPLICATE_KEY"]);
    });
    it("duplicate member names in the issuer-signed payload, at the top or nested, plain or escaped: ERR_SDJWT_DUPLICATE_KEY", async () => {
      const header = JSON.stringify({ alg: "EdDSA", typ: "dc+sd-jwt" });
      const base = baseIssuerPayload(s);
      expect(codes(verify(await handmadeRaw(s, header, withLeadingMember(base, "exp", t + 10 * 365 * 86_400))))).to.deep.equal(["ERR_SDJWT_DUPLICATE_KEY"]);
      const nested = JSON.stringify(base).replace('"cnf":{', `"cnf":{"jwk":${JSON.stringify({ kty: "OKP", crv: "Ed25519", x: b64url(Buffer.alloc(32, 1)) })},`);
      expect(codes(verify(await handmadeRaw(s, header, nested)))).to.deep.equal(["ERR_SDJWT_DUPLICATE_KEY"]);
      const escaped = JSON.stringify(base).replace('"vct":', '"v\\u0063t":"urn:other",' + '"vct":');
      expect(codes(verify(await handmadeRaw(s, header, escaped)))).to.deep.equal(["ERR_SDJWT_DUPLICATE_KEY"]);
    });
    it("the same member name in two different objects is no duplicate", async () => {
      const p = await handmade(s, (d) => {
        const a = d(["salt-0123456789abcdef", "place", { name: "北京", inner: { name: "x" } }]);
        return { payload: { _sd: [a.digest], other: { name: "y" } }, disclosures: [a.encoded] };
      });
      expect(verify(p).errors).to.deep.equal([]);
    });
    it("duplicate member names inside a disclosed value: ERR_DISCLOSURE_DUPLICATE_KEY", async () => {
      const p = await handmade(s, () => {
        const encoded = b64url(Buffer.from('["salt-0123456789abcdef","address",{"locality":"北京","locality":"上海"}]'));
        return { payload: { _sd: [sha256B64url(encoded)] }, disclosures: [encoded] };
      });
      expect(codes(verify(p))).to.deep.equal(["ERR_DISCLOSURE_DUPLICATE_KEY"]);
    });
    it("the issuer's signature spelled in non-canonical base64url (same bytes, key binding over it): ERR_SDJWT_ENCODING", async () => {
      const p = await present(s);
      const parts = p.split("~");
      const [h, b, sig] = parts[0]!.split(".");
      parts[0] = `${h}.${b}.${nonCanonicalB64url(sig!)}`;
      expect(codes(verify(await bindRaw(s, parts.slice(0, -1).join("~") + "~")))).to.deep.equal(["ERR_SDJWT_ENCODING"]);
    });
    it("a disclosure in non-canonical base64url, even one the issuer hashed that way: ERR_DISCLOSURE_ENCODING", async () => {
      const p = await handmade(s, () => {
        let canonical = b64url(Buffer.from('["salt-0123456789abcdef","given_name","三"]'));
        if (canonical.length % 4 < 2) canonical = b64url(Buffer.from('["salt-0123456789abcdef","given_name","三 "]'));
        const encoded = nonCanonicalB64url(canonical);
        return { payload: { _sd: [sha256B64url(encoded)] }, disclosures: [encoded] };
      });
      expect(codes(verify(p))).to.deep.equal(["ERR_DISCLOSURE_ENCODING"]);
    });
    it("padding or characters outside the alphabet stay ERR_SDJWT_MALFORMED / ERR_DISCLOSURE_MALFORMED", async () => {
      const p = await present(s);
      const parts = p.split("~");
      const [h, b, sig] = parts[0]!.split(".");
      expect(codes(verify([`${h}==.${b}.${sig}`, ...parts.slice(1)].join("~")))).to.deep.equal(["ERR_SDJWT_MALFORMED"]);
      expect(codes(verify([`${h}.${b}+.${sig}`, ...parts.slice(1)].join("~")))).to.deep.equal(["ERR_SDJWT_MALFORMED"]);
      const padded = [...parts];
      padded[1] = `${padded[1]}=`;
      expect(codes(verify(padded.join("~")))).to.deep.equal(["ERR_DISCLOSURE_MALFORMED"]);
    });
  });

  describe("SD-JWT VC: what may and may not be disclosed, vct", () => {
    for (const name of ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"]) {
      it(`the registered claim ${name} disclosed selectively: ERR_DISCLOSURE_NAME_FORBIDDEN`, async () => {
        const p = await handmade(s, (d) => {
          const a = d(["salt-0123456789abcdef", name, name === "cnf" || name === "status" ? { x: 1 } : "x"]);
          return { payload: { _sd: [a.digest] }, disclosures: [a.encoded] };
        });
        expect(codes(verify(p))).to.include("ERR_DISCLOSURE_NAME_FORBIDDEN");
      });
    }
    it("a nested claim that happens to be named exp or iss is ordinary data, not a registered claim", async () => {
      const p = await handmade(s, (d) => {
        const inner = d(["salt-0123456789abcdef", "exp", "5 years"]);
        const outer = d(["salt-fedcba9876543210", "employment", { iss: "ACME", _sd: [inner.digest] }]);
        return { payload: { _sd: [outer.digest] }, disclosures: [outer.encoded, inner.encoded] };
      });
      const r = verify(p);
      expect(r.errors).to.deep.equal([]);
      expect(r.claims!.employment).to.deep.equal({ iss: "ACME", exp: "5 years" });
    });
    it("sub may be disclosed selectively (SD-JWT VC §3.2.2.2): accepted, and reported as disclosed", async () => {
      const p = await handmade(s, (d) => {
        const a = d(["salt-0123456789abcdef", "sub", "user-42"]);
        return { payload: { _sd: [a.digest] }, disclosures: [a.encoded] };
      });
      const r = verify(p);
      expect(r.errors).to.deep.equal([]);
      expect(r.claims!.sub).to.equal("user-42");
      expect(r.disclosed).to.deep.equal(["sub"]);
    });
    it("iat may be disclosed selectively: accepted, and checked in the processed payload (future or not a number is refused)", async () => {
      const withIat = (value: unknown) =>
        handmade(s, (d) => {
          const a = d(["salt-0123456789abcdef", "iat", value]);
          return { payload: { iat: undefined, _sd: [a.digest] }, disclosures: [a.encoded] };
        });
      const r = verify(await withIat(t - 60));
      expect(r.errors).to.deep.equal([]);
      expect(r.claims!.iat).to.equal(t - 60);
      expect(codes(verify(await withIat(t + 3600)))).to.deep.equal(["ERR_CREDENTIAL_NOT_YET_VALID"]);
      expect(codes(verify(await withIat("today")))).to.deep.equal(["ERR_SDJWT_MALFORMED"]);
    });
    it("a disclosure inside status (the holder could withhold the status reference): ERR_DISCLOSURE_INSIDE_FORBIDDEN", async () => {
      const build = (withDisclosure: boolean) =>
        handmade(s, (d) => {
          const a = d(["salt-0123456789abcdef", "status_list", { idx: 7, uri: "https://issuer.example/status/1" }]);
          return { payload: { status: { _sd: [a.digest] } }, disclosures: withDisclosure ? [a.encoded] : [] };
        });
      expect(codes(verify(await build(true)))).to.deep.equal(["ERR_DISCLOSURE_INSIDE_FORBIDDEN"]);
      expect(codes(verify(await build(false)))).to.deep.equal(["ERR_DISCLOSURE_INSIDE_FORBIDDEN"]);
    });
    it("an _sd array deeper inside status, even of decoys only: ERR_DISCLOSURE_INSIDE_FORBIDDEN", async () => {
      const p = await handmade(s, () => ({ payload: { status: { status_list: { idx: 7, uri: "https://issuer.example/status/1", _sd: [sha256B64url("decoy")] } } }, disclosures: [] }));
      expect(codes(verify(p))).to.deep.equal(["ERR_DISCLOSURE_INSIDE_FORBIDDEN"]);
    });
    it("a disclosure inside cnf, or an _sd of decoys next to the holder key: ERR_DISCLOSURE_INSIDE_FORBIDDEN", async () => {
      const jwk = (baseIssuerPayload(s).cnf as { jwk: unknown }).jwk;
      const hidden = await handmade(s, (d) => {
        const a = d(["salt-0123456789abcdef", "jwk", jwk]);
        return { payload: { cnf: { _sd: [a.digest] } }, disclosures: [a.encoded] };
      });
      expect(codes(verify(hidden))).to.include("ERR_DISCLOSURE_INSIDE_FORBIDDEN");
      const decoy = await handmade(s, () => ({ payload: { cnf: { jwk, _sd: [sha256B64url("decoy")] } }, disclosures: [] }));
      expect(codes(verify(decoy))).to.deep.equal(["ERR_DISCLOSURE_INSIDE_FORBIDDEN"]);
    });
    it("an array digest inside cnf: ERR_DISCLOSURE_INSIDE_FORBIDDEN", async () => {
      const jwk = (baseIssuerPayload(s).cnf as { jwk: Record<string, unknown> }).jwk;
      const p = await handmade(s, (d) => {
        const a = d(["salt-0123456789abcdef", "MIIB..."]);
        return { payload: { cnf: { jwk: { ...jwk, x5c: [{ "...": a.digest }] } } }, disclosures: [a.encoded] };
      });
      expect(codes(verify(p))).to.deep.equal(["ERR_DISCLOSURE_INSIDE_FORBIDDEN"]);
    });
    it("vct is required and a non-empty string: ERR_VCT_INVALID when absent, a number, an object or empty", async () => {
      for (const vct of [undefined, 1, { id: "urn:realname:identity:1" }, ""]) {
        const p = await handmade(s, () => ({ payload: { vct }, disclosures: [] }));
        expect(codes(verify(p)), JSON.stringify(vct)).to.deep.equal(["ERR_VCT_INVALID"]);
      }
    });
    it("a missing vct where a type is expected keeps ERR_VCT first, then ERR_VCT_INVALID", async () => {
      const p = await handmade(s, () => ({ payload: { vct: undefined }, disclosures: [] }));
      expect(codes(verify(p, { expectedVct: "urn:realname:identity:1" }))).to.deep.equal(["ERR_VCT", "ERR_VCT_INVALID"]);
    });
    it("another credential type than the one expected: ERR_VCT", async () => {
      const p = await handmade(s, () => ({ payload: { vct: "https://other.example/credential" }, disclosures: [] }));
      expect(codes(verify(p, { expectedVct: "urn:realname:identity:1" }))).to.deep.equal(["ERR_VCT"]);
    });
    it("typ vc+sd-jwt (the draft's pre-2025 media type) is refused: ERR_SDJWT_TYP", async () => {
      const p = await handmade(s, () => ({ payload: {}, disclosures: [] }), { alg: "EdDSA", typ: "vc+sd-jwt" });
      expect(codes(verify(p))).to.deep.equal(["ERR_SDJWT_TYP"]);
    });
    it("no iss: ERR_ISSUER_UNTRUSTED (our only Issuer Signature Mechanisms are keyed by iss)", async () => {
      const p = await handmade(s, () => ({ payload: { iss: undefined }, disclosures: [] }));
      expect(codes(verify(p))).to.deep.equal(["ERR_ISSUER_UNTRUSTED"]);
    });
    it("no cnf while key binding is presented: ERR_CNF_MISSING", async () => {
      const p = await handmade(s, () => ({ payload: { cnf: undefined }, disclosures: [] }));
      expect(codes(verify(p))).to.deep.equal(["ERR_CNF_MISSING"]);
    });
    it("a critical header extension on the issuer-signed JWT, well-formed or not: ERR_SDJWT_CRIT", async () => {
      for (const extra of [{ crit: ["ext"], ext: 1 }, { crit: [] }, { crit: ["alg"] }, { crit: ["missing"] }, { crit: "ext", ext: 1 }]) {
        const p = await handmade(s, () => ({ payload: {}, disclosures: [] }), { alg: "EdDSA", typ: "dc+sd-jwt", ...extra });
        expect(codes(verify(p)), JSON.stringify(extra)).to.deep.equal(["ERR_SDJWT_CRIT"]);
      }
    });
  });

  describe("RFC 9901 §7.1 processing, clause by clause", () => {
    it("step 2.1: an issuer alg outside our list (HS256): ERR_SDJWT_ALG", async () => {
      const p = await handmade(s, () => ({ payload: {}, disclosures: [] }), { alg: "HS256", typ: "dc+sd-jwt" });
      expect(codes(verify(p))).to.deep.equal(["ERR_SDJWT_ALG"]);
    });
    it("step 3.3.2.1: an array-element disclosure ([salt, value]) referenced from _sd: ERR_DISCLOSURE_MALFORMED", async () => {
      const p = await handmade(s, (d) => {
        const a = d(["salt-0123456789abcdef", "三"]);
        return { payload: { _sd: [a.digest] }, disclosures: [a.encoded] };
      });
      expect(codes(verify(p))).to.include("ERR_DISCLOSURE_MALFORMED");
    });
    it("step 3.3.2.2: a disclosure named '...': ERR_DISCLOSURE_NAME_FORBIDDEN", async () => {
      const p = await handmade(s, (d) => {
        const a = d(["salt-0123456789abcdef", "...", "x"]);
        return { payload: { _sd: [a.digest] }, disclosures: [a.encoded] };
      });
      expect(codes(verify(p))).to.include("ERR_DISCLOSURE_NAME_FORBIDDEN");
    });
    it("step 3.3.2.5 and 3.3.3: recursive disclosures in objects and arrays are processed; undisclosed elements and _sd removed", async () => {
      const p = await handmade(s, (d) => {
        const street = d(["salt-0000000000000001", "street", "长安街 1 号"]);
        const address = d(["salt-0000000000000002", "address", { locality: "北京", _sd: [street.digest, sha256B64url("decoy")] }]);
        const shown = d(["salt-0000000000000003", "zh"]);
        const hidden = d(["salt-0000000000000004", "en"]);
        return { payload: { _sd: [address.digest], languages: [{ "...": shown.digest }, { "...": hidden.digest }, "fr"] }, disclosures: [address.encoded, street.encoded, shown.encoded] };
      });
      const r = verify(p);
      expect(r.errors).to.deep.equal([]);
      expect(r.claims!.address).to.deep.equal({ locality: "北京", street: "长安街 1 号" });
      expect(r.claims!.languages).to.deep.equal(["zh", "fr"]);
      expect(r.claims).to.not.have.property("_sd");
      expect(r.claims).to.not.have.property("_sd_alg");
    });
    it("step 3.3.3.1: an object-property disclosure ([salt, name, value]) referenced from an array: ERR_DISCLOSURE_MALFORMED", async () => {
      const p = await handmade(s, (d) => {
        const a = d(["salt-0123456789abcdef", "lang", "zh"]);
        return { payload: { languages: [{ "...": a.digest }] }, disclosures: [a.encoded] };
      });
      expect(codes(verify(p))).to.include("ERR_DISCLOSURE_MALFORMED");
    });
    it("step 4: an array digest that appears twice: ERR_DIGEST_DUPLICATE", async () => {
      const p = await handmade(s, (d) => {
        const a = d(["salt-0123456789abcdef", "zh"]);
        return { payload: { languages: [{ "...": a.digest }], other: [{ "...": a.digest }] }, disclosures: [a.encoded] };
      });
      expect(codes(verify(p))).to.include("ERR_DIGEST_DUPLICATE");
    });
    it("step 6: a credential without exp (required by our policy): ERR_SDJWT_MALFORMED; nbf in the future: ERR_CREDENTIAL_NOT_YET_VALID", async () => {
      expect(codes(verify(await handmade(s, () => ({ payload: { exp: undefined }, disclosures: [] }))))).to.deep.equal(["ERR_SDJWT_MALFORMED"]);
      expect(codes(verify(await handmade(s, () => ({ payload: { nbf: t + 3600 }, disclosures: [] }))))).to.deep.equal(["ERR_CREDENTIAL_NOT_YET_VALID"]);
    });
  });
});
