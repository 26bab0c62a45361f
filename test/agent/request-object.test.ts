import { expect } from "chai";
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { bytesToMultibase } from "did-jwt";
import { identityVct, publicJwkFromDidKey, resolveAuthorizationRequest } from "@realname/agent";

/**
 * The wallet verifies a merchant's request object itself (EdDSA or ES256, HAIP): signed by the key of the
 * did:key in its client identifier, with that key's own algorithm. Request objects by value, so the cases
 * need no server; every forgery is refused with ERR_REQUEST_SIGNATURE.
 */
describe("request objects: ES256 and EdDSA did:key client identifiers, verified by the wallet", () => {
  const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");
  const p256 = () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" }) as { x: string; y: string };
    const y = Buffer.from(jwk.y, "base64url");
    const did = `did:key:${bytesToMultibase(Buffer.concat([Buffer.from([y[y.length - 1]! & 1 ? 3 : 2]), Buffer.from(jwk.x, "base64url")]), "base58btc", "p256-pub")}`;
    return { did, privateKey, jwk };
  };
  const jwt = (header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject, alg: "ES256" | "EdDSA") => {
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const sig = alg === "ES256" ? sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }) : sign(null, Buffer.from(input), key);
    return `${input}.${b64url(sig)}`;
  };
  const payloadFor = (did: string) => ({
    iss: `decentralized_identifier:${did}`,
    aud: "https://self-issued.me/v2",
    client_id: `decentralized_identifier:${did}`,
    response_type: "vp_token",
    response_mode: "direct_post",
    response_uri: "https://shop.example/response",
    nonce: "n-0123456789",
    exp: Math.floor(Date.now() / 1000) + 300,
    dcql_query: { credentials: [{ id: "pid", format: "dc+sd-jwt", meta: { vct_values: [identityVct("https://issuer.example")] }, claims: [{ path: ["real_name_verified"] }] }] },
  });
  const linkOf = (did: string, object: string) => `openid4vp://?client_id=${encodeURIComponent(`decentralized_identifier:${did}`)}&request=${encodeURIComponent(object)}`;
  const code = (p: Promise<unknown>) => p.then(() => "resolved", (e: { code: string }) => e.code);

  it("a P-256 did:key decodes to its JWK", () => {
    const m = p256();
    expect(publicJwkFromDidKey(m.did)).to.deep.equal({ kty: "EC", crv: "P-256", x: m.jwk.x, y: m.jwk.y });
  });
  it("ES256 by the client identifier's key resolves, with `iss` the full client identifier", async () => {
    const m = p256();
    const r = await resolveAuthorizationRequest(linkOf(m.did, jwt({ alg: "ES256", typ: "oauth-authz-req+jwt", kid: `${m.did}#${m.did.slice(8)}` }, payloadFor(m.did), m.privateKey, "ES256")), new Date());
    expect(r.iss).to.equal(m.did);
    expect(r.credentialQuery).to.deep.equal({ id: "pid", claimNames: ["real_name_verified"] });
  });
  it("refused: ES256 by another key under this client identifier; EdDSA claimed for a P-256 key; a kid of another DID; another client in the link", async () => {
    const m = p256();
    const other = p256();
    expect(await code(resolveAuthorizationRequest(linkOf(m.did, jwt({ alg: "ES256" }, payloadFor(m.did), other.privateKey, "ES256")), new Date()))).to.equal("ERR_REQUEST_SIGNATURE");
    const ed = generateKeyPairSync("ed25519").privateKey;
    expect(await code(resolveAuthorizationRequest(linkOf(m.did, jwt({ alg: "EdDSA" }, payloadFor(m.did), ed, "EdDSA")), new Date()))).to.equal("ERR_REQUEST_SIGNATURE");
    expect(await code(resolveAuthorizationRequest(linkOf(m.did, jwt({ alg: "ES256", kid: `${other.did}#x` }, payloadFor(m.did), m.privateKey, "ES256")), new Date()))).to.equal("ERR_REQUEST_SIGNATURE");
    expect(await code(resolveAuthorizationRequest(linkOf(other.did, jwt({ alg: "ES256" }, payloadFor(m.did), m.privateKey, "ES256")), new Date()))).to.equal("ERR_REQUEST_SIGNATURE");
  });
  it("refused: an unknown transaction data type (§5.1) and asking for the whole credential (no claims)", async () => {
    const m = p256();
    const unknownType = { ...payloadFor(m.did), transaction_data: [b64url(JSON.stringify({ type: "payment", credential_ids: ["pid"] }))] };
    expect(await code(resolveAuthorizationRequest(linkOf(m.did, jwt({ alg: "ES256" }, unknownType, m.privateKey, "ES256")), new Date()))).to.equal("ERR_TRANSACTION_DATA_UNSUPPORTED");
    const everything = payloadFor(m.did);
    everything.dcql_query.credentials[0]!.claims = undefined as never;
    expect(await code(resolveAuthorizationRequest(linkOf(m.did, jwt({ alg: "ES256" }, everything, m.privateKey, "ES256")), new Date()))).to.equal("ERR_REQUEST_MALFORMED");
  });
});
