import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { checkMerchantRequest, createAuthorizationRequest, decodeJws, identityVct, MemoryDocumentStore, signJws, TrustRegistry } from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";

/**
 * The wallet's checks of a merchant's request against the issuer's signed registry, with a real registry
 * JWT and real signed request objects served over loopback: who the person is told is asking comes from the
 * registry, and the answer may only go to an origin the registry lists for the signer.
 */
describe("The wallet's request check: the registry's name and origins", function () {
  this.timeout(30_000);
  const issuer = newTestKey();
  const merchant = newTestKey();
  const served = new Map<string, string>();
  let server: Server;
  let base = "";

  before(async () => {
    server = createServer((req, res) => {
      const body = served.get(req.url ?? "");
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": req.url === "/registry" ? "application/jwt" : "application/oauth-authz-req+jwt" }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const registry = new TrustRegistry(new MemoryDocumentStore(), { did: issuer.did, signer: issuer.signer });
    await registry.putMerchant({ did: merchant.did, name: "Registered Name", maxLevel: "full", purposes: ["test"], fullClaims: [], origins: [base] });
    served.set("/registry", await registry.signed());
  });
  after(() => server.close());

  /** A genuinely signed request, optionally altered (and signed again by the merchant) before it is served. */
  async function serve(path: string, opts: { name?: string; responseUri?: string; alter?: (payload: Record<string, any>) => void } = {}): Promise<string> {
    const created = await createAuthorizationRequest({
      merchant: { did: merchant.did, name: opts.name ?? "Registered Name", signer: merchant.signer },
      terms: { request_id: `request-${path}`, merchant_name: opts.name ?? "Registered Name", level: "verified", purpose: "test", retention_days: 0 },
      requestUri: `${base}${path}`,
      responseUri: opts.responseUri ?? `${base}${path}/response`,
      // The issuer (at `base`) is the wallet's: the request asks for its identity type.
      vct: identityVct(base),
      now: new Date(),
      validForSeconds: 60,
    });
    let jwt = created.requestObject;
    if (opts.alter) {
      const { header, payload } = decodeJws(jwt)!;
      opts.alter(payload);
      jwt = await signJws(header, payload, merchant.signer);
    }
    served.set(path, jwt);
    return `${base}${path}`;
  }
  const check = (requestUri: string) => checkMerchantRequest({ requestUri, issuerUrl: base, issuerDid: issuer.did, now: new Date() }).then((c) => c, (e: { code: string }) => e);

  it("a request named as in the registry passes, and carries the registry's entry and the request's hash", async () => {
    const checked = (await check(await serve("/ok"))) as Awaited<ReturnType<typeof checkMerchantRequest>>;
    expect(checked.merchant.name).to.equal("Registered Name");
    expect(checked.requestHash).to.match(/^[0-9a-f]{64}$/);
  });
  it("the grant terms name the merchant otherwise: ERR_MERCHANT_NAME_MISMATCH", async () => {
    expect(((await check(await serve("/renamed", { name: "Famous Bank" }))) as { code: string }).code).to.equal("ERR_MERCHANT_NAME_MISMATCH");
  });
  it("only client_metadata.client_name differs: ERR_MERCHANT_NAME_MISMATCH", async () => {
    const uri = await serve("/client-name", { alter: (p) => (p.client_metadata.client_name = "Famous Bank") });
    expect(((await check(uri)) as { code: string }).code).to.equal("ERR_MERCHANT_NAME_MISMATCH");
  });
  it("the answer would go to an origin not registered for the signer: ERR_ORIGIN_NOT_REGISTERED", async () => {
    const uri = await serve("/elsewhere", { responseUri: "http://127.0.0.1:9/requests/x/response" });
    expect(((await check(uri)) as { code: string }).code).to.equal("ERR_ORIGIN_NOT_REGISTERED");
  });
});
