import { expect } from "chai";
import express from "express";
import { createServiceApp, errorHandler, handle, listenOn, MemoryDocumentStore, notaryAuthorization, NotaryGate, signJws, TrustRegistry, type Listening } from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";

/**
 * A notary's request signature is spent once (issue 12 §4): a captured `Authorization` header replayed, even
 * by many requests at once, reads the merchant's receipts once. Real HTTP on loopback: the issuer's signed
 * registry is served by one server, the gate guards a route on another.
 */
describe("NotaryGate: notary request signatures carry a jti spent once", () => {
  const issuerKey = newTestKey();
  const notary = newTestKey();
  const merchant = newTestKey();
  let registryServer: Listening;
  let service: Listening;
  let gate: NotaryGate;
  let clock = new Date();

  before(async () => {
    const trust = new TrustRegistry(new MemoryDocumentStore(), issuerKey);
    await trust.putNotary({ did: notary.did, name: "Notary Office No. 3" });
    const registryApp = express();
    registryApp.get("/registry", handle(async (_req, res) => void res.type("application/jwt").send(await trust.signed())));
    registryServer = await listenOn(registryApp, "127.0.0.1", 0);
    gate = new NotaryGate({ audience: merchant.did, issuerUrl: registryServer.url, issuerDid: issuerKey.did, clock: () => clock, allowLoopbackHttp: true });
    const app = createServiceApp();
    app.get("/notary/receipts", handle(async (req, res) => void res.json({ notary: await gate.authenticate(req.get("authorization"), req.method, req.originalUrl) })));
    app.use(errorHandler(() => undefined));
    service = await listenOn(app, "127.0.0.1", 0);
  });
  after(async () => {
    await service?.close();
    await registryServer?.close();
  });

  it("the same signed header sent 10 times at once: one 200, nine 409 ERR_REPLAYED", async () => {
    const path = "/notary/receipts?grant=abc";
    const authorization = await notaryAuthorization({ did: notary.did, signer: notary.signer }, merchant.did, "GET", path, clock);
    const results = await Promise.all(Array.from({ length: 10 }, () => call(`${service.url}${path}`, { headers: { authorization } })));
    expect(results.filter((r) => r.status === 200).map((r) => r.body.notary)).to.deep.equal([notary.did]);
    for (const r of results.filter((r) => r.status !== 200)) expect([r.status, r.body.error.code]).to.deep.equal([409, "ERR_REPLAYED"]);
    // A fresh signature for the same request works: it is the signature that is single-use, not the request.
    const again = await notaryAuthorization({ did: notary.did, signer: notary.signer }, merchant.did, "GET", path, clock);
    expect((await call(`${service.url}${path}`, { headers: { authorization: again } })).status).to.equal(200);
  });

  it("a signature without a jti is refused (400 ERR_JTI_MISSING)", async () => {
    const path = "/notary/receipts?grant=def";
    const { createHash } = await import("node:crypto");
    const req = createHash("sha256").update(`GET ${path}`).digest("base64url");
    const jwt = await signJws({ typ: "notary-auth+jwt", alg: "EdDSA" }, { iss: notary.did, aud: merchant.did, iat: Math.floor(clock.getTime() / 1000), req }, notary.signer);
    const r = await call(`${service.url}${path}`, { headers: { authorization: `NotaryDID ${jwt}` } });
    expect([r.status, r.body.error.code]).to.deep.equal([400, "ERR_JTI_MISSING"]);
  });

  it("sweep forgets spent signatures only once they are stale anyway", async () => {
    const path = "/notary/receipts?grant=ghi";
    const authorization = await notaryAuthorization({ did: notary.did, signer: notary.signer }, merchant.did, "GET", path, clock);
    expect((await call(`${service.url}${path}`, { headers: { authorization } })).status).to.equal(200);
    expect(await gate.sweep(clock)).to.equal(0);
    clock = new Date(clock.getTime() + 10 * 60_000);
    expect(await gate.sweep(clock)).to.be.greaterThan(0);
    // Stale now: refused for its age, not let through because its jti was forgotten.
    const r = await call(`${service.url}${path}`, { headers: { authorization } });
    expect([r.status, r.body.error.code]).to.deep.equal([403, "ERR_FORBIDDEN"]);
  });
});
