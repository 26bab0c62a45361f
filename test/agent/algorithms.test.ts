import { expect } from "chai";
import { createHmac, ECDH, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { bytesToMultibase } from "did-jwt";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compactVerify, importJWK } from "jose";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest } from "@sd-jwt/crypto-nodejs";
import {
  b64url,
  bindPresentation,
  CONSENT_RECEIPT_TYPE,
  createConsentReceipt,
  createIdentifier,
  createRoleAgent,
  decodeJws,
  didKeyFromJwk,
  generateSigningKey,
  identifierAlg,
  identifierKeyObjectSigner,
  identifierSigner,
  issueIdentityCredential,
  jwkFromDidKey,
  jwkThumbprint,
  keyObjectSigner,
  LevelDatabase,
  publicJwkFrom,
  REQUEST_OBJECT_TYP,
  selectDisclosures,
  signJws,
  signJwt,
  verifyJwt,
  verifyReceipt,
  verifyRequestObjectSignature,
  verifySdJwtPresentation,
  type JwsAlg,
} from "@realname/agent";
import { AUDIENCE, CLAIMS, NONCE, NOW, TEST_VCT } from "../helpers/sdjwt.js";

const b64json = (o: unknown) => b64url(Buffer.from(JSON.stringify(o)));
/** Whether a compressed point with this (small) x lies on P-256. */
const isCurveX = (x: number): boolean => {
  try {
    ECDH.convertKey(Buffer.from([0x02, ...Buffer.alloc(31), x]), "prime256v1", undefined, undefined, "uncompressed");
    return true;
  } catch {
    return false;
  }
};
const codes = (r: { errors: Array<{ code: string }> }) => r.errors.map((e) => e.code);
const codeOf = (f: () => unknown): string => {
  try {
    f();
    return "no error";
  } catch (error) {
    return (error as { code?: string }).code ?? (error instanceof TypeError ? "TypeError" : String(error));
  }
};

describe("Algorithm layer: EdDSA (Ed25519) and ES256 (P-256)", () => {
  it("ES256 signatures are r||s (64 bytes, RFC 7518 §3.4) and verify with jose, EdDSA too", async () => {
    for (const alg of ["ES256", "EdDSA"] as JwsAlg[]) {
      const key = generateSigningKey(alg);
      const jwt = await signJwt({ typ: "JWT" }, { hello: alg }, key);
      expect(decodeJws(jwt)!.header.alg).to.equal(alg);
      expect(decodeJws(jwt)!.signature.length).to.equal(64);
      expect(verifyJwt(jwt, key.did)).to.include({ verified: true, alg });
      expect(verifyJwt(jwt, key.publicJwk)).to.include({ verified: true, alg });
      // Independent: jose with the JWK.
      const { payload } = await compactVerify(jwt, await importJWK(key.publicJwk as never, alg));
      expect(JSON.parse(Buffer.from(payload).toString())).to.deep.equal({ hello: alg });
    }
  });

  it("did:key for P-256: multicodec p256-pub over the compressed point, round trip; the did:key spec's test vector", () => {
    const key = generateSigningKey("ES256");
    expect(key.did).to.match(/^did:key:zDn/);
    expect(jwkFromDidKey(key.did)).to.deep.equal(key.publicJwk);
    expect(didKeyFromJwk(jwkFromDidKey(key.did))).to.equal(key.did);
    // W3C did:key test vector (P-256).
    const vector = "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169";
    expect(jwkFromDidKey(vector)).to.deep.equal({ kty: "EC", crv: "P-256", x: "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI", y: "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU" });
    expect(didKeyFromJwk(jwkFromDidKey(vector))).to.equal(vector);
  });

  it("JWK thumbprints (RFC 7638): the RFC 8037 Ed25519 example, and a P-256 key's is stable over member order and extra members", () => {
    expect(jwkThumbprint({ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" })).to.equal("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    const k = generateSigningKey("ES256").publicJwk as { x: string; y: string };
    expect(jwkThumbprint({ y: k.y, x: k.x, crv: "P-256", kty: "EC", kid: "ignored" })).to.equal(jwkThumbprint(k));
  });

  it("refuses alg confusion with codes: alg none, HS256 keyed with the public key, EdDSA header over an ES256 key, ES256 over an Ed25519 key", async () => {
    const p256 = generateSigningKey("ES256");
    const ed = generateSigningKey("EdDSA");
    const body = b64json({ sub: "x" });
    const none = `${b64json({ alg: "none" })}.${body}.`;
    expect(codes(verifyJwt(none, p256.did))).to.deep.equal(["ERR_JWS_ALG"]);
    const hsInput = `${b64json({ alg: "HS256" })}.${body}`;
    const hs = `${hsInput}.${b64url(createHmac("sha256", JSON.stringify(p256.publicJwk)).update(hsInput).digest())}`;
    expect(codes(verifyJwt(hs, p256.publicJwk))).to.deep.equal(["ERR_JWS_ALG"]);
    // An EdDSA header over the P-256 key (signed by an Ed25519 key): refused by the key's algorithm, not tried.
    const edOverP256 = await signJws({ alg: "EdDSA" }, { sub: "x" }, ed.signer);
    expect(codes(verifyJwt(edOverP256, p256.did))).to.deep.equal(["ERR_JWS_ALG"]);
    const esOverEd = await signJws({ alg: "ES256" }, { sub: "x" }, p256.signer);
    expect(codes(verifyJwt(esOverEd, ed.did))).to.deep.equal(["ERR_JWS_ALG"]);
    // A DER-encoded ECDSA signature is not a JWS signature.
    const input = `${b64json({ alg: "ES256" })}.${body}`;
    const der = `${input}.${b64url(nodeSign("sha256", Buffer.from(input), p256.privateKey))}`;
    expect(codes(verifyJwt(der, p256.did))).to.deep.equal(["ERR_JWS_SIGNATURE"]);
    // Tampered payload, unknown crit, wrong typ.
    const good = await signJwt({ typ: "a+jwt" }, { sub: "x" }, p256);
    const [h, , s] = good.split(".");
    expect(codes(verifyJwt(`${h}.${b64json({ sub: "y" })}.${s}`, p256.did))).to.deep.equal(["ERR_JWS_SIGNATURE"]);
    expect(codes(verifyJwt(await signJwt({ crit: ["b64"], b64: true }, { sub: "x" }, p256), p256.did))).to.deep.equal(["ERR_JWS_CRIT"]);
    expect(codes(verifyJwt(good, p256.did, { typ: "b+jwt" }))).to.deep.equal(["ERR_JWS_TYP"]);
    expect(codes(verifyJwt("not a jwt", p256.did))).to.deep.equal(["ERR_JWS_MALFORMED"]);
  });

  it("refuses a P-256 point not on the curve (JWK and did:key) and private or foreign keys, with codes", () => {
    const k = generateSigningKey("ES256").publicJwk as { x: string; y: string };
    const y = Buffer.from(k.y, "base64url");
    y[31] ^= 1;
    const offCurve = { kty: "EC", crv: "P-256", x: k.x, y: b64url(y) };
    expect(codeOf(() => publicJwkFrom(offCurve))).to.equal("ERR_UNSUPPORTED_KEY");
    expect(codeOf(() => didKeyFromJwk(offCurve))).to.equal("ERR_UNSUPPORTED_KEY");
    expect(codes(verifyJwt("a.b.c", offCurve as never))).to.deep.equal(["ERR_UNSUPPORTED_KEY"]);
    // A did:key whose compressed point has no y on the curve: the first small x that is not a point's.
    let x = 1;
    while (isCurveX(x)) x++;
    const bad = `did:key:${bytesToMultibase(Uint8Array.from([0x02, ...Buffer.alloc(31), x]), "base58btc", "p256-pub")}`;
    expect(codeOf(() => jwkFromDidKey(bad))).to.equal("ERR_UNSUPPORTED_DID");
    expect(codes(verifyJwt("a.b.c", bad))).to.deep.equal(["ERR_UNSUPPORTED_KEY"]);
    expect(codeOf(() => publicJwkFrom({ ...generateSigningKey("ES256").publicJwk, d: "secret" }))).to.equal("ERR_UNSUPPORTED_KEY");
    expect(codeOf(() => publicJwkFrom({ kty: "EC", crv: "P-384", x: k.x, y: k.y }))).to.equal("ERR_UNSUPPORTED_KEY");
    expect(codeOf(() => jwkFromDidKey("did:web:example.com"))).to.equal("ERR_UNSUPPORTED_DID");
  });

  it("misuse is a TypeError: an unknown algorithm, a public key or an RSA key as signer", () => {
    expect(codeOf(() => generateSigningKey("RS256" as JwsAlg))).to.equal("TypeError");
    expect(codeOf(() => keyObjectSigner(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey))).to.equal("TypeError");
    expect(codeOf(() => keyObjectSigner(generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey))).to.equal("TypeError");
    expect(codeOf(() => keyObjectSigner(generateKeyPairSync("ec", { namedCurve: "secp256k1" }).privateKey))).to.equal("TypeError");
  });

  it("request objects signed ES256 by a P-256 merchant did:key verify; a kid of another DID or an EdDSA header is refused", async () => {
    const merchant = generateSigningKey("ES256");
    const kid = `${merchant.did}#${merchant.did.slice(8)}`;
    const jwt = await signJwt({ typ: REQUEST_OBJECT_TYP, kid }, { client_id: `decentralized_identifier:${merchant.did}`, nonce: NONCE }, merchant);
    expect(verifyRequestObjectSignature(jwt, merchant.did)).to.include({ verified: true, alg: "ES256" });
    const other = generateSigningKey("ES256");
    expect(codes(verifyRequestObjectSignature(jwt, other.did))).to.deep.equal(["ERR_JWS_SIGNATURE"]);
    const foreignKid = await signJwt({ typ: REQUEST_OBJECT_TYP, kid: `${other.did}#x` }, { nonce: NONCE }, merchant);
    expect(codes(verifyRequestObjectSignature(foreignKid, merchant.did))).to.deep.equal(["ERR_JWS_KID"]);
    expect(codes(verifyRequestObjectSignature(await signJws({ typ: REQUEST_OBJECT_TYP, alg: "EdDSA" }, {}, merchant.signer), merchant.did))).to.deep.equal(["ERR_JWS_ALG"]);
    expect(codes(verifyRequestObjectSignature(await signJwt({ typ: "JWT" }, {}, merchant), merchant.did))).to.deep.equal(["ERR_JWS_TYP"]);
  });

  it("a consent receipt signed by a P-256 did:key verifies (ES256); tampered or re-labelled EdDSA it is refused", async () => {
    const holder = generateSigningKey("ES256");
    const { jwt } = await createConsentReceipt(
      { consentTimestamp: NOW.toISOString(), jurisdiction: "CN", controller: { id: AUDIENCE, name: "Shop" }, purpose: "p", level: "verified", claimNames: ["real_name_verified"], retentionDays: 1, presentationHash: "h", requestHash: "r", expiresAt: NOW.toISOString() },
      { did: holder.did, signer: holder.signer },
      NOW,
    );
    expect(decodeJws(jwt)!.header.alg).to.equal("ES256");
    const r = await verifyReceipt(jwt, CONSENT_RECEIPT_TYPE, { now: NOW });
    expect(r).to.include({ verified: true, issuer: holder.did });
    const [h, p, s] = jwt.split(".");
    const relabelled = `${b64json({ ...decodeJws(jwt)!.header, alg: "EdDSA" })}.${p}.${s}`;
    expect(codes(await verifyReceipt(relabelled, CONSENT_RECEIPT_TYPE, { now: NOW }))).to.deep.equal(["ERR_RECEIPT_SIGNATURE"]);
    const sig = Buffer.from(s!, "base64url");
    sig[10] ^= 1;
    expect(codes(await verifyReceipt(`${h}.${p}.${b64url(sig)}`, CONSENT_RECEIPT_TYPE, { now: NOW }))).to.deep.equal(["ERR_RECEIPT_SIGNATURE"]);
  });
});

describe("SD-JWT VC with ES256: issuer signature and key binding, ours and an independent check", () => {
  for (const [issuerAlg, holderAlg] of [["ES256", "ES256"], ["ES256", "EdDSA"], ["EdDSA", "ES256"]] as Array<[JwsAlg, JwsAlg]>) {
    it(`issuer ${issuerAlg}, holder ${holderAlg}: verifies with our verifier (did:key and {iss, jwk}) and with @sd-jwt/sd-jwt-vc + jose`, async () => {
      const issuer = generateSigningKey(issuerAlg);
      const holder = generateSigningKey(holderAlg);
      const credential = await issueIdentityCredential({ issuerDid: issuer.did, vct: TEST_VCT, signer: issuer.signer, signAlg: issuerAlg, holderJwk: holder.publicJwk, claims: CLAIMS, now: NOW, validForSeconds: 86_400 });
      const { presented, sdHash } = await selectDisclosures(credential, ["real_name_verified"]);
      const presentation = await bindPresentation({ presented, sdHash, audience: AUDIENCE, nonce: NONCE, now: NOW, signer: holder.signer, alg: holderAlg });
      const options = { presentation, audience: AUDIENCE, nonce: NONCE, now: () => NOW };
      expect(verifySdJwtPresentation({ ...options, trustedIssuers: [issuer.did] })).to.include({ verified: true });
      expect(verifySdJwtPresentation({ ...options, trustedIssuers: [{ iss: issuer.did, jwk: issuer.publicJwk }] })).to.include({ verified: true });
      // Independent: @sd-jwt's own verifier with jose doing the signature checks.
      const joseVerifier = (jwk: unknown, alg: JwsAlg) => async (data: string, sig: string) => {
        try {
          await compactVerify(`${data}.${sig}`, await importJWK(jwk as never, alg));
          return true;
        } catch {
          return false;
        }
      };
      const sdjwt = new SDJwtVcInstance({ hasher: digest, verifier: joseVerifier(issuer.publicJwk, issuerAlg), kbVerifier: joseVerifier(holder.publicJwk, holderAlg) });
      const verified = await sdjwt.verify(presentation, { requiredClaimKeys: ["real_name_verified"], keyBindingNonce: NONCE, currentDate: Math.floor(NOW.getTime() / 1000) });
      expect((verified.payload as Record<string, unknown>).real_name_verified).to.equal(true);
      // The wrong key type for the issuer: refused by algorithm.
      const wrong = generateSigningKey(issuerAlg === "ES256" ? "EdDSA" : "ES256");
      expect(codes(verifySdJwtPresentation({ ...options, trustedIssuers: [{ iss: issuer.did, jwk: wrong.publicJwk }] }))).to.deep.equal(["ERR_SDJWT_ALG"]);
    });
  }

  it("an issuer with two keys for one iss (EdDSA did:key and an ES256 JWK): each credential verifies with the key of its algorithm", async () => {
    const ed = generateSigningKey("EdDSA");
    const p256 = generateSigningKey("ES256");
    const holder = generateSigningKey("ES256");
    const trusted = [ed.did, { iss: ed.did, jwk: p256.publicJwk }];
    for (const [signer, signAlg] of [[ed, "EdDSA"], [p256, "ES256"]] as const) {
      const credential = await issueIdentityCredential({ issuerDid: ed.did, vct: TEST_VCT, signer: signer.signer, signAlg, kid: `${ed.did}#${jwkThumbprint(signer.publicJwk)}`, holderJwk: holder.publicJwk, claims: CLAIMS, now: NOW, validForSeconds: 86_400 });
      expect(verifySdJwtPresentation({ presentation: credential, trustedIssuers: trusted, audience: "", nonce: "", requireKeyBinding: false, now: () => NOW })).to.include({ verified: true });
      // Without the ES256 key on the trust list an ES256 credential is not believed.
      if (signAlg === "ES256") expect(codes(verifySdJwtPresentation({ presentation: credential, trustedIssuers: [ed.did], audience: "", nonce: "", requireKeyBinding: false, now: () => NOW }))).to.deep.equal(["ERR_SDJWT_ALG"]);
    }
  });
});

describe("Veramo keys: P-256 (Secp256r1) identifiers sealed in the role's store", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "p256-agent-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("creates a P-256 did:key with Veramo's key manager, signs ES256 through it and through the unsealed in-memory signer", async () => {
    const db = await LevelDatabase.open(join(dir, "db"));
    try {
      const { agent, box } = await createRoleAgent(db, "0000");
      const id = await createIdentifier(agent, "p256", "ES256");
      expect(id.did).to.match(/^did:key:zDn/);
      expect(identifierAlg(id)).to.equal("ES256");
      for (const signer of [identifierSigner(agent, id), await identifierKeyObjectSigner(db, box, id)]) {
        const jwt = await signJws({ alg: "ES256" }, { n: 1 }, signer);
        expect(verifyJwt(jwt, id.did)).to.include({ verified: true });
        await compactVerify(jwt, await importJWK(jwkFromDidKey(id.did) as never, "ES256"));
      }
      const ed = await createIdentifier(agent, "ed");
      expect(identifierAlg(ed)).to.equal("EdDSA");
    } finally {
      await db.close();
    }
  });
});
