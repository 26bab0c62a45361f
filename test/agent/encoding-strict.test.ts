import { expect } from "chai";
import { decodeB64urlStrict, decodeJsonSegmentStrict, decodeUtf8Strict, parseJsonStrict } from "../../agent/src/encoding-strict.js";
import { critProblem } from "../../agent/src/crypto/strict-jws.js";

/** The strict reader under the SD-JWT verifier: one spelling per token, valid UTF-8, unique member names. */
describe("Strict base64url / UTF-8 / JSON decoding (encoding-strict.ts)", () => {
  const problem = (r: { ok: boolean; problem?: string }) => (r.ok ? "ok" : r.problem);

  it("base64url: canonical only — no padding, no foreign characters, no stray trailing bits, no impossible length", () => {
    expect(problem(decodeB64urlStrict("QQ"))).to.equal("ok");
    expect(problem(decodeB64urlStrict(""))).to.equal("ok");
    expect(problem(decodeB64urlStrict("QR"))).to.equal("encoding"); // decodes to "A" too, with a non-zero spare bit
    expect(problem(decodeB64urlStrict("QQ=="))).to.equal("malformed");
    expect(problem(decodeB64urlStrict("Q+"))).to.equal("malformed");
    expect(problem(decodeB64urlStrict("QUJDR"))).to.equal("encoding"); // 5 characters: no byte sequence encodes to this
  });

  it("UTF-8: invalid sequences are refused, never replaced; a BOM is kept (and then is not JSON)", () => {
    expect(decodeUtf8Strict(Buffer.from("张三", "utf8"))).to.deep.equal({ ok: true, value: "张三" });
    for (const bytes of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe5, 0xbc]]) expect(problem(decodeUtf8Strict(Buffer.from(bytes))), JSON.stringify(bytes)).to.equal("encoding");
    expect(problem(decodeJsonSegmentStrict(Buffer.from("\ufeff{}").toString("base64url")))).to.equal("malformed");
  });

  it("JSON: duplicate member names at any depth, however escaped, are refused; the same name in two objects is not a duplicate", () => {
    expect(parseJsonStrict('{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}')).to.deep.equal({ ok: true, value: { a: 1, b: { a: 2 }, c: [{ a: 3 }, { a: 4 }] } });
    for (const text of ['{"a":1,"a":1}', '{"a":1,"\\u0061":2}', '{"x":[{"k":1,"k":2}]}', '{"q\\"":1,"q\\"":2}', '{"a":{"b":1},"a":2}']) {
      expect(problem(parseJsonStrict(text)), text).to.equal("duplicate");
    }
    // A string value that looks like a member name, or a name inside a string, is not a name.
    expect(problem(parseJsonStrict('{"a":"a","b":["a","a"],"c":"{\\"a\\":1,\\"a\\":2}"}'))).to.equal("ok");
  });

  it("JSON: an escaped unpaired surrogate is refused; a paired one is text", () => {
    expect(problem(parseJsonStrict('["\\ud800"]'))).to.equal("encoding");
    expect(problem(parseJsonStrict('{"\\udc00":1}'))).to.equal("encoding");
    expect(parseJsonStrict('["\\ud83d\\ude00"]')).to.deep.equal({ ok: true, value: ["😀"] });
  });

  it("JSON: deep nesting is read without recursion (no stack overflow), syntax errors are malformed", () => {
    expect(problem(parseJsonStrict("[".repeat(100_000) + "]".repeat(100_000)))).to.equal("ok");
    expect(problem(parseJsonStrict('{"a":1,}'))).to.equal("malformed");
  });

  it("crit (RFC 7515 §4.1.11): absent is fine; empty, not an array, registered, absent from the header or not understood is refused", () => {
    expect(critProblem({ alg: "EdDSA" })).to.equal(undefined);
    expect(critProblem({ alg: "EdDSA", crit: ["ext"], ext: 1 }, new Set(["ext"]))).to.equal(undefined);
    for (const header of [{ crit: [] }, { crit: "ext", ext: 1 }, { crit: [1] }, { crit: ["alg"], alg: "EdDSA" }, { crit: ["ext"] }, { crit: ["ext"], ext: 1 }, { crit: ["ext", "ext"], ext: 1 }]) {
      expect(critProblem(header, new Set(["other"])), JSON.stringify(header)).to.be.a("string");
    }
  });
});
