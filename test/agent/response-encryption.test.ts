import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import { CompactEncrypt, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import {
  createAuthorizationRequest,
  decryptAuthorizationResponse,
  encryptAuthorizationResponse,
  identityVct,
  newResponseEncryptionKey,
  resolveAuthorizationRequest,
  responseEncryptionTarget,
  MAX_ENCRYPTED_RESPONSE_CHARS,
} from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";

/**
 * OpenID4VP 1.0 §8.3 response encryption on the HAIP profile (ECDH-ES, P-256, A128GCM/A256GCM), both halves:
 * what the verifier opens and refuses, and which verifier keys the wallet encrypts to or refuses.
 */
describe("encrypted responses (direct_post.jwt): JWE to a per-request ECDH-ES P-256 key", () => {
  const code = (p: Promise<unknown> | (() => unknown)) =>
    (typeof p === "function" ? Promise.resolve().then(p) : p).then(() => "resolved", (e: { code?: string }) => e.code ?? String(e));
  const answer = { vp_token: { identity: ["a~b~c"] }, state: "state-0123456789" };

  it("the verifier's key: fresh per request, public JWK with kid, use enc, alg ECDH-ES, no private members; both HAIP enc values offered", async () => {
    const a = await newResponseEncryptionKey();
    const b = await newResponseEncryptionKey();
    const [jwk] = a.clientMetadata.jwks.keys;
    expect(jwk).to.include({ kty: "EC", crv: "P-256", use: "enc", alg: "ECDH-ES", kid: a.key.kid });
    expect(jwk).to.not.have.property("d");
    expect(a.clientMetadata.encrypted_response_enc_values_supported).to.deep.equal(["A128GCM", "A256GCM"]);
    expect(b.key.kid).to.not.equal(a.key.kid);
    expect(b.clientMetadata.jwks.keys[0]!.x).to.not.equal(jwk!.x);
  });

  it("round trip: the wallet picks the key and the verifier's first supported enc; the verifier opens it; A256GCM too", async () => {
    const { key, clientMetadata } = await newResponseEncryptionKey();
    const target = responseEncryptionTarget(clientMetadata);
    expect(target.enc).to.equal("A128GCM");
    expect(target.kid).to.equal(key.kid);
    const jwe = await encryptAuthorizationResponse(answer, target);
    expect(JSON.parse(Buffer.from(jwe.split(".")[0]!, "base64url").toString())).to.deep.equal({ alg: "ECDH-ES", enc: "A128GCM", kid: key.kid, epk: JSON.parse(Buffer.from(jwe.split(".")[0]!, "base64url").toString()).epk });
    expect(await decryptAuthorizationResponse(jwe, key)).to.deep.equal(answer);
    const a256 = responseEncryptionTarget({ ...clientMetadata, encrypted_response_enc_values_supported: ["A256GCM", "A128GCM"] });
    expect(a256.enc).to.equal("A256GCM");
    expect(await decryptAuthorizationResponse(await encryptAuthorizationResponse(answer, a256), key)).to.deep.equal(answer);
  });

  it("§8.3 default: without encrypted_response_enc_values_supported the wallet uses A128GCM; an unknown enc first is skipped", async () => {
    const { clientMetadata } = await newResponseEncryptionKey();
    expect(responseEncryptionTarget({ jwks: clientMetadata.jwks }).enc).to.equal("A128GCM");
    expect(responseEncryptionTarget({ ...clientMetadata, encrypted_response_enc_values_supported: ["A192GCM", "A256GCM"] }).enc).to.equal("A256GCM");
  });

  describe("the verifier refuses, by code", () => {
    let key: Awaited<ReturnType<typeof newResponseEncryptionKey>>["key"];
    let publicJwk: JWK;
    before(async () => {
      const made = await newResponseEncryptionKey();
      key = made.key;
      publicJwk = made.clientMetadata.jwks.keys[0]!;
    });
    const encrypt = async (header: Record<string, unknown>, to: CryptoKey | Uint8Array | JWK, payload: unknown = answer) =>
      new CompactEncrypt(new TextEncoder().encode(typeof payload === "string" ? payload : JSON.stringify(payload)))
        .setProtectedHeader(header as never)
        .encrypt("kty" in (to as object) ? await importJWK(to as JWK, String(header.alg)) : (to as CryptoKey));

    it("another request's key (its kid), or this kid on a JWE made for another key", async () => {
      const other = await newResponseEncryptionKey();
      const forOther = await encryptAuthorizationResponse(answer, responseEncryptionTarget(other.clientMetadata));
      expect(await code(decryptAuthorizationResponse(forOther, key))).to.equal("ERR_RESPONSE_ENCRYPTION_KID");
      const relabelled = await encrypt({ alg: "ECDH-ES", enc: "A128GCM", kid: key.kid }, other.clientMetadata.jwks.keys[0]!);
      expect(await code(decryptAuthorizationResponse(relabelled, key))).to.equal("ERR_RESPONSE_ENCRYPTION_INVALID");
    });
    it("no kid at all", async () => {
      expect(await code(decryptAuthorizationResponse(await encrypt({ alg: "ECDH-ES", enc: "A128GCM" }, publicJwk), key))).to.equal("ERR_RESPONSE_ENCRYPTION_KID");
    });
    it("key management other than ECDH-ES: RSA-OAEP-256, dir, ECDH-ES+A128KW", async () => {
      const rsa = await generateKeyPair("RSA-OAEP-256");
      expect(await code(decryptAuthorizationResponse(await encrypt({ alg: "RSA-OAEP-256", enc: "A128GCM", kid: key.kid }, rsa.publicKey), key))).to.equal("ERR_RESPONSE_ENCRYPTION_ALG");
      expect(await code(decryptAuthorizationResponse(await encrypt({ alg: "dir", enc: "A128GCM", kid: key.kid }, new Uint8Array(16)), key))).to.equal("ERR_RESPONSE_ENCRYPTION_ALG");
      expect(await code(decryptAuthorizationResponse(await encrypt({ alg: "ECDH-ES+A128KW", enc: "A128GCM", kid: key.kid }, { ...publicJwk, alg: "ECDH-ES+A128KW" }), key))).to.equal("ERR_RESPONSE_ENCRYPTION_ALG");
    });
    it("content encryption the request did not offer: A192GCM, A128CBC-HS256", async () => {
      for (const enc of ["A192GCM", "A128CBC-HS256"]) {
        expect(await code(decryptAuthorizationResponse(await encrypt({ alg: "ECDH-ES", enc, kid: key.kid }, publicJwk), key)), enc).to.equal("ERR_RESPONSE_ENCRYPTION_ENC");
      }
    });
    it("a tampered ciphertext, tag or protected header", async () => {
      const jwe = await encryptAuthorizationResponse(answer, responseEncryptionTarget({ jwks: { keys: [publicJwk] } }));
      const parts = jwe.split(".");
      const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
      expect(await code(decryptAuthorizationResponse([parts[0], parts[1], parts[2], flip(parts[3]!), parts[4]].join("."), key))).to.equal("ERR_RESPONSE_ENCRYPTION_INVALID");
      expect(await code(decryptAuthorizationResponse([parts[0], parts[1], parts[2], parts[3], flip(parts[4]!)].join("."), key))).to.equal("ERR_RESPONSE_ENCRYPTION_INVALID");
      const header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString());
      const reheaded = Buffer.from(JSON.stringify({ ...header, extra: 1 })).toString("base64url");
      expect(await code(decryptAuthorizationResponse([reheaded, ...parts.slice(1)].join("."), key))).to.equal("ERR_RESPONSE_ENCRYPTION_INVALID");
    });
    it("not a compact JWE (a JWS, garbage, a number), a zip or crit header", async () => {
      expect(await code(decryptAuthorizationResponse("a.b.c", key))).to.equal("ERR_RESPONSE_ENCRYPTION_MALFORMED");
      expect(await code(decryptAuthorizationResponse("....", key))).to.equal("ERR_RESPONSE_ENCRYPTION_MALFORMED");
      expect(await code(decryptAuthorizationResponse(42, key))).to.equal("ERR_RESPONSE_ENCRYPTION_MALFORMED");
      const h = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
      expect(await code(decryptAuthorizationResponse(`${h({ alg: "ECDH-ES", enc: "A128GCM", kid: key.kid, zip: "DEF" })}..aaaa.bbbb.cccc`, key))).to.equal("ERR_RESPONSE_ENCRYPTION_MALFORMED");
      expect(await code(decryptAuthorizationResponse(`${h({ alg: "ECDH-ES", enc: "A128GCM", kid: key.kid, crit: ["x"], x: 1 })}..aaaa.bbbb.cccc`, key))).to.equal("ERR_RESPONSE_ENCRYPTION_MALFORMED");
    });
    it("a payload that is not a UTF-8 JSON object", async () => {
      for (const payload of ["[1,2]", "\"text\"", "not json"]) {
        expect(await code(decryptAuthorizationResponse(await encrypt({ alg: "ECDH-ES", enc: "A128GCM", kid: key.kid }, publicJwk, payload), key)), payload).to.equal("ERR_RESPONSE_ENCRYPTION_PAYLOAD");
      }
    });
    it("an oversized response is refused before any decryption", async () => {
      const big = `${"a".repeat(MAX_ENCRYPTED_RESPONSE_CHARS)}.b.c.d.e`;
      expect(await code(decryptAuthorizationResponse(big, key))).to.equal("ERR_BODY_TOO_LARGE");
    });
  });

  describe("the wallet refuses a merchant's key set before anything is shown", () => {
    let good: JWK;
    before(async () => {
      good = (await newResponseEncryptionKey()).clientMetadata.jwks.keys[0]!;
    });
    const refuse = (metadata: unknown) => code(() => responseEncryptionTarget(metadata));

    it("malformed: no jwks, empty, not a list, a key that is not an object, a kid that is not a string, coordinates off the curve", async () => {
      expect(await refuse({})).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
      expect(await refuse(undefined)).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
      expect(await refuse({ jwks: { keys: [] } })).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
      expect(await refuse({ jwks: { keys: "x" } })).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
      expect(await refuse({ jwks: { keys: ["x"] } })).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
      expect(await refuse({ jwks: { keys: [{ ...good, kid: 7 }] } })).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
      const y = Buffer.from(good.y!, "base64url");
      y[31] ^= 1;
      expect(await refuse({ jwks: { keys: [{ ...good, y: y.toString("base64url") }] } })).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
      expect(await refuse({ jwks: { keys: [{ ...good, x: "AAAA" }] } })).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
      expect(await refuse({ jwks: { keys: [good] }, encrypted_response_enc_values_supported: [] })).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
    });
    it("private key material anywhere in the set (an EC `d`, an oct `k`)", async () => {
      const { privateKey } = await generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
      const withD = { ...(await exportJWK(privateKey)), kid: "k1", use: "enc", alg: "ECDH-ES" };
      expect(await refuse({ jwks: { keys: [withD] } })).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
      expect(await refuse({ jwks: { keys: [good, { kty: "oct", k: "AAAA" }] } })).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
    });
    it("no usable key: P-384, X25519, RSA, a P-256 key for signing or without alg; no supported enc", async () => {
      const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey.export({ format: "jwk" });
      const x25519 = generateKeyPairSync("x25519").publicKey.export({ format: "jwk" });
      const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
      expect(await refuse({ jwks: { keys: [{ ...p384, alg: "ECDH-ES", use: "enc" }] } })).to.equal("ERR_REQUEST_ENCRYPTION_UNSUPPORTED");
      expect(await refuse({ jwks: { keys: [{ ...x25519, alg: "ECDH-ES", use: "enc" }] } })).to.equal("ERR_REQUEST_ENCRYPTION_UNSUPPORTED");
      expect(await refuse({ jwks: { keys: [{ ...rsa, alg: "RSA-OAEP-256", use: "enc" }] } })).to.equal("ERR_REQUEST_ENCRYPTION_UNSUPPORTED");
      expect(await refuse({ jwks: { keys: [{ ...good, use: "sig" }] } })).to.equal("ERR_REQUEST_ENCRYPTION_UNSUPPORTED");
      const { alg: _alg, ...noAlg } = good;
      expect(await refuse({ jwks: { keys: [noAlg] } })).to.equal("ERR_REQUEST_ENCRYPTION_UNSUPPORTED");
      expect(await refuse({ jwks: { keys: [good] }, encrypted_response_enc_values_supported: ["A128CBC-HS256"] })).to.equal("ERR_REQUEST_ENCRYPTION_UNSUPPORTED");
    });
  });

  describe("our wallet reads a direct_post.jwt request (by value here) and refuses a bad key set before the person is asked", () => {
    const merchantKey = newTestKey();
    const merchant = { did: merchantKey.did, name: "Encrypting Shop", signer: merchantKey.signer };
    const issuerUrl = "https://issuer.example";
    const make = async (responseEncryption?: Parameters<typeof createAuthorizationRequest>[0]["responseEncryption"]) => {
      const created = await createAuthorizationRequest({
        merchant,
        terms: { request_id: "request-0123456789", merchant_name: merchant.name, level: "verified", purpose: "age check", retention_days: 0 },
        requestUri: "https://shop.example/requests/1",
        responseUri: "https://shop.example/requests/1/response",
        vct: identityVct(issuerUrl),
        now: new Date(),
        validForSeconds: 300,
        ...(responseEncryption ? { responseEncryption } : {}),
      });
      return `openid4vp://?${new URLSearchParams({ client_id: `decentralized_identifier:${merchant.did}`, request: created.requestObject })}`;
    };
    it("a request with its own key: response_mode direct_post.jwt, resolved by value", async () => {
      const { clientMetadata } = await newResponseEncryptionKey();
      const resolved = await resolveAuthorizationRequest(await make(clientMetadata), new Date(), { vct: identityVct(issuerUrl) });
      expect(resolved.payload.response_mode).to.equal("direct_post.jwt");
      expect((resolved.payload.client_metadata as { jwks: unknown }).jwks).to.deep.equal(clientMetadata.jwks);
    });
    it("a signed request whose key set carries a private key, or has no P-256 key: refused by code", async () => {
      const { privateKey } = await generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
      const leaked = { jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: "k", use: "enc", alg: "ECDH-ES" }] }, encrypted_response_enc_values_supported: ["A128GCM"] };
      expect(await code(resolveAuthorizationRequest(await make(leaked), new Date(), { vct: identityVct(issuerUrl) }))).to.equal("ERR_REQUEST_ENCRYPTION_KEY_INVALID");
      const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
      const noP256 = { jwks: { keys: [{ ...rsa, kid: "r", use: "enc", alg: "RSA-OAEP-256" }] }, encrypted_response_enc_values_supported: ["A128GCM"] };
      expect(await code(resolveAuthorizationRequest(await make(noP256 as never), new Date(), { vct: identityVct(issuerUrl) }))).to.equal("ERR_REQUEST_ENCRYPTION_UNSUPPORTED");
    });
  });
});
