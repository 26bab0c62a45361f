import { expect } from "chai";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest } from "@sd-jwt/crypto-nodejs";
import { generateSigningKey, issueIdentityCredential, SD_DIGEST_BUCKET } from "@realname/agent";

/**
 * The issuer builds SD-JWT VCs directly (agent/src/sdjwt/issue.ts, for speed): the library that verifies them
 * elsewhere must read exactly what was meant, and the shape must give nothing away (digest count bucketed,
 * `_sd` sorted, decoys shaped like real digests, salts never reused).
 */
describe("issueIdentityCredential: a well-formed SD-JWT VC, read back by @sd-jwt/sd-jwt-vc", () => {
  const issuer = generateSigningKey("EdDSA");
  const holder = generateSigningKey("ES256");
  const claims = { real_name_verified: true as const, age_over_18: true, family_name: "张", given_name: "三", full_name: "张三", id_number: "110105199003071239", birth_date: "1990-03-07" };
  const issue = (extra: Record<string, unknown> = {}) =>
    issueIdentityCredential({ issuerDid: issuer.did, vct: "https://issuer.example/vct/realname-identity/v1", signer: issuer.signer, holderJwk: holder.publicJwk, claims, now: new Date("2026-11-22T00:00:00Z"), validForSeconds: 86400, status: { idx: 7, uri: "https://issuer.example/status-lists/1" }, ...extra });
  const payloadOf = (credential: string) => JSON.parse(Buffer.from(credential.split("~")[0]!.split(".")[1]!, "base64url").toString());

  it("the library decodes every claim with its value, and the plain fields stay plain", async () => {
    const credential = await issue({ pseudonyms: { pseudonym_shop: "p-123" } });
    const decoded = (await new SDJwtVcInstance({ hasher: digest }).decode(credential)) as { disclosures?: unknown[] };
    const claimsBack = await new SDJwtVcInstance({ hasher: digest }).getClaims(credential);
    expect(claimsBack).to.deep.include({ ...claims, pseudonym_shop: "p-123", iss: issuer.did, vct: "https://issuer.example/vct/realname-identity/v1" });
    expect(decoded.disclosures).to.have.length(8);
    const payload = payloadOf(credential);
    expect(payload).to.include({ _sd_alg: "sha-256", iat: Date.parse("2026-11-22T00:00:00Z") / 1000 });
    expect(payload.cnf.jwk).to.deep.equal(holder.publicJwk);
    for (const name of Object.keys(claims)) expect(payload, name).to.not.have.property(name);
    const header = JSON.parse(Buffer.from(credential.split(".")[0]!, "base64url").toString());
    expect(header).to.include({ typ: "dc+sd-jwt", alg: "EdDSA" });
  });

  it("_sd: a multiple of the bucket, sorted, every entry shaped like a SHA-256 digest (decoys too)", async () => {
    const sd: string[] = payloadOf(await issue())._sd;
    expect(sd.length % SD_DIGEST_BUCKET).to.equal(0);
    expect(sd).to.deep.equal([...sd].sort());
    // 32 bytes in base64url: 43 characters, the last carrying 4 bits (one of 16 characters).
    for (const d of sd) expect(d).to.match(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/);
  });

  it("no salt is used twice across a batch", async () => {
    const salts = new Set<string>();
    let count = 0;
    for (let i = 0; i < 50; i++) {
      for (const d of (await issue()).split("~").slice(1, -1)) {
        salts.add(JSON.parse(Buffer.from(d, "base64url").toString())[0]);
        count++;
      }
    }
    expect(salts.size).to.equal(count);
  });

  it("a pseudonym named like an SD-JWT structure field is misuse (TypeError), nothing issued", async () => {
    for (const name of ["_sd", "...", "cnf", "iss"]) {
      const error = await issue({ pseudonyms: { [name]: "x" } }).catch((e) => e);
      expect(error, name).to.be.instanceOf(TypeError);
    }
  });
});
