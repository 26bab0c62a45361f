import "reflect-metadata";
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KeyObject, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import {
  checkMerchantRequest,
  createAuthorizationRequest,
  DataKey,
  decodeJws,
  didKeyFromJwk,
  identityVct,
  keyObjectSigner,
  MemoryDocumentStore,
  merchantX5c,
  PlatformCa,
  x509HashOf,
  signJws,
  TrustRegistry,
  type JwsSigner,
  type MerchantEntry,
  type X509ClientConfig,
} from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";

const crypto = webcrypto as unknown as Crypto;
const ES256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 86_400_000;

/** A P-256 key usable both for certificates (WebCrypto) and for JWS (node:crypto), with its did:key. */
async function p256Key(): Promise<{ keys: CryptoKeyPair; did: string; jwk: Record<string, unknown>; signer: JwsSigner }> {
  const keys = (await crypto.subtle.generateKey(ES256, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", keys.publicKey)) as Record<string, unknown>;
  const pub = { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y };
  return { keys, did: didKeyFromJwk(pub), jwk: pub, signer: keyObjectSigner(KeyObject.from(keys.privateKey)) };
}

/** Certificates made by hand (a CA of the test's own), for the chains the platform CA never issues. */
async function cert(args: { subject: string; issuer?: x509.X509Certificate; issuerKey: CryptoKey; publicKey: CryptoKey; ca?: boolean; pathLength?: number; dns?: string[]; usage?: number; from?: Date; to?: Date }) {
  const extensions: x509.Extension[] = [];
  if (args.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(args.ca, args.pathLength, true));
  if (args.usage !== undefined) extensions.push(new x509.KeyUsagesExtension(args.usage, true));
  if (args.dns) extensions.push(new x509.SubjectAlternativeNameExtension(args.dns.map((value) => ({ type: "dns" as const, value }))));
  return x509.X509CertificateGenerator.create(
    { subject: args.subject, issuer: args.issuer?.subject ?? args.subject, publicKey: args.publicKey, signingKey: args.issuerKey, signingAlgorithm: ES256, notBefore: args.from ?? new Date(Date.now() - DAY), notAfter: args.to ?? new Date(Date.now() + 30 * DAY), extensions },
    crypto,
  );
}
const b64 = (c: x509.X509Certificate) => Buffer.from(c.rawData).toString("base64");

describe("x509_san_dns clients: the platform CA and the wallet's checks (OpenID4VP 1.0 §5.9.3)", function () {
  this.timeout(30_000);
  const issuer = newTestKey();
  const served = new Map<string, string>();
  let server: Server;
  let base = "";
  let ca: PlatformCa;
  let caStore: MemoryDocumentStore<never>;
  const dataKey = DataKey.ephemeral();
  let merchant: Awaited<ReturnType<typeof p256Key>>;
  let entry: MerchantEntry;
  let registry: TrustRegistry;
  let config: X509ClientConfig;

  before(async () => {
    server = createServer((req, res) => {
      const body = served.get(req.url ?? "");
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": req.url === "/registry" ? "application/jwt" : "application/oauth-authz-req+jwt" }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    // The merchant's DNS name is `localhost` (a name, not an IP: a dNSName), served on loopback.
    base = `http://localhost:${(server.address() as AddressInfo).port}`;
    caStore = new MemoryDocumentStore();
    ca = await PlatformCa.open(caStore as never, dataKey, { now: new Date() });
    merchant = await p256Key();
    entry = { did: merchant.did, name: "Certified Shop", maxLevel: "full", purposes: ["test"], fullClaims: ["full_name"], origins: [base] };
    registry = new TrustRegistry(new MemoryDocumentStore(), { did: issuer.did, signer: issuer.signer });
    await registry.putMerchant(entry);
    served.set("/registry", await registry.signed());
    const issued = await ca.issueMerchantCertificate(entry, { now: new Date() });
    config = merchantX5c([issued.pem], merchant.jwk);
  });
  after(() => server.close());

  describe("the platform CA", () => {
    it("keeps its key sealed at rest and its root across restarts: a reopened CA issues leaves that chain to the same root", async () => {
      const stored = (await caStore.get("ca")) as unknown as { sealedKey: string; rootDer: string };
      expect(stored.sealedKey).to.match(/^v1\./);
      expect(stored.sealedKey).not.to.include("MIG"); // no PKCS#8 in clear
      const again = await PlatformCa.open(caStore as never, dataKey);
      expect(again.rootPem).to.equal(ca.rootPem);
      const leaf = new x509.X509Certificate((await again.issueMerchantCertificate(entry, { now: new Date() })).x5c[0]!);
      expect(await leaf.verify({ publicKey: ca.root.publicKey, signatureOnly: true }, crypto)).to.equal(true);
      // Opened with another data key, the sealed CA key does not open.
      let code = "";
      await PlatformCa.open(caStore as never, DataKey.ephemeral()).catch((e) => (code = e.code));
      expect(code).to.equal("ERR_SEALED_DATA_CORRUPT");
    });
    it("the root is a self-signed CA that signs leaves only (pathLen 0, keyCertSign)", async () => {
      expect(await ca.root.isSelfSigned(crypto)).to.equal(true);
      const bc = ca.root.getExtension(x509.BasicConstraintsExtension)!;
      expect([bc.ca, bc.pathLength]).to.deep.equal([true, 0]);
      expect(ca.root.getExtension(x509.KeyUsagesExtension)!.usages & x509.KeyUsageFlags.keyCertSign).to.not.equal(0);
    });
    it("a leaf: the merchant's own P-256 key, SAN dNSName from its registry origins, digitalSignature, not a CA, 90 days", async () => {
      const now = new Date("2026-11-22T00:00:00Z");
      const issued = await ca.issueMerchantCertificate(entry, { now });
      const leaf = new x509.X509Certificate(issued.x5c[0]!);
      expect(issued.dnsName).to.equal("localhost");
      expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON()).to.deep.equal([{ type: "dns", value: "localhost" }]);
      expect(leaf.getExtension(x509.BasicConstraintsExtension)!.ca).to.equal(false);
      expect(leaf.getExtension(x509.KeyUsagesExtension)!.usages).to.equal(x509.KeyUsageFlags.digitalSignature);
      expect(leaf.notAfter.getTime() - now.getTime()).to.equal(90 * DAY);
      const spki = (await crypto.subtle.exportKey("jwk", await leaf.publicKey.export(crypto))) as Record<string, unknown>;
      expect([spki.x, spki.y]).to.deep.equal([merchant.jwk.x, merchant.jwk.y]);
    });
    it("refuses a name the registry does not list, an Ed25519 merchant, a merchant with only IP origins, and a validity beyond 397 days", async () => {
      const codes: string[] = [];
      const attempt = (p: Promise<unknown>) => p.then(() => codes.push("issued"), (e) => codes.push(e.code));
      await attempt(ca.issueMerchantCertificate(entry, { now: new Date(), dnsName: "bank.example" }));
      await attempt(ca.issueMerchantCertificate({ ...entry, did: newTestKey().did }, { now: new Date() }));
      await attempt(ca.issueMerchantCertificate({ ...entry, origins: ["http://127.0.0.1:3002"] }, { now: new Date() }));
      await attempt(ca.issueMerchantCertificate(entry, { now: new Date(), days: 400 }));
      expect(codes).to.deep.equal(["ERR_X509_DNS_NOT_REGISTERED", "ERR_X509_KEY_UNSUPPORTED", "ERR_X509_DNS_NOT_REGISTERED", "ERR_INVALID_INPUT"]);
    });
    it("a merchant configured with a certificate for another key is refused at start (ERR_CONFIG)", async () => {
      const other = await p256Key();
      expect(() => merchantX5c([config.x5c[0]!], other.jwk)).to.throw().with.property("code", "ERR_CONFIG");
      expect(() => merchantX5c([config.x5c[0]!], merchant.jwk, "shop.example")).to.throw().with.property("code", "ERR_CONFIG");
    });
  });

  /** A request from the certified merchant (optionally bent and signed again by `signer`), served at `path`. */
  async function serve(path: string, opts: { x509?: X509ClientConfig; responseUri?: string; signer?: JwsSigner; header?: (h: Record<string, any>) => void; payload?: (p: Record<string, any>) => void } = {}): Promise<string> {
    const created = await createAuthorizationRequest({
      merchant: { did: merchant.did, name: "Certified Shop", signer: merchant.signer, x509: opts.x509 ?? config },
      terms: { request_id: `request-${path}`, merchant_name: "Certified Shop", level: "verified", purpose: "test", retention_days: 0 },
      requestUri: `${base}${path}`,
      responseUri: opts.responseUri ?? `${base}${path}/response`,
      vct: identityVct(base),
      now: new Date(),
      validForSeconds: 60,
    });
    let jwt = created.requestObject;
    if (opts.signer || opts.header || opts.payload) {
      const { header, payload } = decodeJws(jwt)!;
      opts.header?.(header);
      opts.payload?.(payload);
      jwt = await signJws(header, payload, opts.signer ?? merchant.signer);
    }
    served.set(path, jwt);
    return created.authorizationRequest.replace(/request_uri=[^&]+/, `request_uri=${encodeURIComponent(`${base}${path}`)}`);
  }
  const check = (link: string, options: { anchors?: string[]; now?: Date } = {}) =>
    checkMerchantRequest({ requestUri: link, issuerUrl: base, issuerDid: issuer.did, now: options.now ?? new Date(), x509TrustAnchors: options.anchors ?? [ca.rootPem] }).then(
      (c) => c,
      (e: { code: string }) => e,
    );
  const codeOf = async (link: string, options?: { anchors?: string[]; now?: Date }) => ((await check(link, options)) as { code?: string }).code;

  describe("the wallet", () => {
    it("accepts a request whose chain leads to the pinned platform CA: client_id x509_san_dns:localhost, the merchant as the registry has it", async () => {
      const link = await serve("/ok");
      expect(link).to.include(`client_id=${encodeURIComponent("x509_san_dns:localhost")}`);
      const checked = (await check(link)) as Awaited<ReturnType<typeof checkMerchantRequest>>;
      expect(checked.request.client_id).to.equal("x509_san_dns:localhost");
      expect(checked.request.iss).to.equal(merchant.did);
      expect(checked.merchant.name).to.equal("Certified Shop");
      const header = decodeJws(checked.requestJwt)!.header;
      expect(header).to.include({ alg: "ES256", typ: "oauth-authz-req+jwt" });
      expect(header.x5c).to.deep.equal(config.x5c);
      expect(header.kid).to.equal(undefined);
    });
    it("without x5c: ERR_X509_CHAIN_MISSING; x5c not base64 DER: ERR_X509_CHAIN_MALFORMED", async () => {
      expect(await codeOf(await serve("/no-x5c", { header: (h) => delete h.x5c }))).to.equal("ERR_X509_CHAIN_MISSING");
      expect(await codeOf(await serve("/bad-x5c", { header: (h) => (h.x5c = ["not base64!"]) }))).to.equal("ERR_X509_CHAIN_MALFORMED");
      expect(await codeOf(await serve("/junk-x5c", { header: (h) => (h.x5c = ["AAAA"]) }))).to.equal("ERR_X509_CHAIN_MALFORMED");
    });
    it("a chain from another CA, or no CA pinned at all: ERR_X509_UNKNOWN_CA", async () => {
      const link = await serve("/other-ca");
      const otherCa = await PlatformCa.open(new MemoryDocumentStore() as never, DataKey.ephemeral());
      expect(await codeOf(link, { anchors: [otherCa.rootPem] })).to.equal("ERR_X509_UNKNOWN_CA");
      expect(await codeOf(link, { anchors: [] })).to.equal("ERR_X509_UNKNOWN_CA");
      // The same name and key, certified by a CA the wallet does not pin.
      const foreign = await p256Key();
      const rogueRoot = await cert({ subject: ca.root.subject, issuerKey: foreign.keys.privateKey, publicKey: foreign.keys.publicKey, ca: true });
      const rogueLeaf = await cert({ subject: "CN=localhost", issuer: rogueRoot, issuerKey: foreign.keys.privateKey, publicKey: merchant.keys.publicKey, ca: false, dns: ["localhost"], usage: x509.KeyUsageFlags.digitalSignature });
      expect(await codeOf(await serve("/rogue", { x509: { x5c: [b64(rogueLeaf)], dnsName: "localhost" } }))).to.equal("ERR_X509_UNKNOWN_CA");
    });
    it("an expired certificate (the wallet's clock past notAfter): ERR_X509_CERT_EXPIRED; not valid yet: ERR_X509_CERT_NOT_YET_VALID", async () => {
      const shortLived = merchantX5c([(await ca.issueMerchantCertificate(entry, { now: new Date(Date.now() - 3 * DAY), days: 1 })).pem], merchant.jwk);
      expect(await codeOf(await serve("/expired", { x509: shortLived }))).to.equal("ERR_X509_CERT_EXPIRED");
      const future = merchantX5c([(await ca.issueMerchantCertificate(entry, { now: new Date(Date.now() + 3 * DAY) })).pem], merchant.jwk);
      expect(await codeOf(await serve("/future", { x509: future }))).to.equal("ERR_X509_CERT_NOT_YET_VALID");
    });
    it("a client id naming another DNS name than the certificate's: ERR_X509_SAN_MISMATCH", async () => {
      const link = await serve("/san", { payload: (p) => (p.client_id = "x509_san_dns:shop.localhost") });
      expect(await codeOf(link.replace(/client_id=[^&]+/, `client_id=${encodeURIComponent("x509_san_dns:shop.localhost")}`))).to.equal("ERR_X509_SAN_MISMATCH");
    });
    it("a response_uri on another host than the certified name: ERR_X509_RESPONSE_URI_MISMATCH", async () => {
      const port = new URL(base).port;
      expect(await codeOf(await serve("/elsewhere", { responseUri: `http://127.0.0.1:${port}/elsewhere/response` }))).to.equal("ERR_X509_RESPONSE_URI_MISMATCH");
    });
    it("a request signed by another key than the certificate's (a stolen chain): ERR_REQUEST_SIGNATURE", async () => {
      const thief = await p256Key();
      expect(await codeOf(await serve("/stolen", { signer: thief.signer }))).to.equal("ERR_REQUEST_SIGNATURE");
    });
    it("a self-signed leaf, even when pinned by mistake as an anchor: ERR_X509_SELF_SIGNED_LEAF", async () => {
      const self = await cert({ subject: "CN=localhost", issuerKey: merchant.keys.privateKey, publicKey: merchant.keys.publicKey, ca: false, dns: ["localhost"], usage: x509.KeyUsageFlags.digitalSignature });
      const link = await serve("/self", { x509: { x5c: [b64(self)], dnsName: "localhost" } });
      expect(await codeOf(link)).to.equal("ERR_X509_SELF_SIGNED_LEAF");
      expect(await codeOf(link, { anchors: [ca.rootPem, self.toString("pem")] })).to.equal("ERR_X509_SELF_SIGNED_LEAF");
    });
    it("a certificate signed by the merchant's own leaf (a leaf acting as CA): ERR_X509_ISSUER_NOT_CA", async () => {
      const attacker = await p256Key();
      const merchantLeaf = new x509.X509Certificate(config.x5c[0]!);
      const forged = await cert({ subject: "CN=localhost", issuer: merchantLeaf, issuerKey: merchant.keys.privateKey, publicKey: attacker.keys.publicKey, ca: false, dns: ["localhost"], usage: x509.KeyUsageFlags.digitalSignature });
      const link = await serve("/leaf-as-ca", { x509: { x5c: [b64(forged), config.x5c[0]!], dnsName: "localhost" }, signer: attacker.signer });
      expect(await codeOf(link)).to.equal("ERR_X509_ISSUER_NOT_CA");
    });
    it("crafted chains under a pinned CA: a leaf that is a CA, an intermediate below a pathLen-0 root, a leaf that may not sign", async () => {
      const rootKey = await p256Key();
      const root = await cert({ subject: "CN=Test Root", issuerKey: rootKey.keys.privateKey, publicKey: rootKey.keys.publicKey, ca: true, pathLength: 0, usage: x509.KeyUsageFlags.keyCertSign });
      const anchors = [root.toString("pem")];
      const caLeaf = await cert({ subject: "CN=localhost", issuer: root, issuerKey: rootKey.keys.privateKey, publicKey: merchant.keys.publicKey, ca: true, dns: ["localhost"] });
      expect(await codeOf(await serve("/ca-leaf", { x509: { x5c: [b64(caLeaf)], dnsName: "localhost" } }), { anchors })).to.equal("ERR_X509_LEAF_IS_CA");
      const midKey = await p256Key();
      const mid = await cert({ subject: "CN=Intermediate", issuer: root, issuerKey: rootKey.keys.privateKey, publicKey: midKey.keys.publicKey, ca: true, usage: x509.KeyUsageFlags.keyCertSign });
      const deep = await cert({ subject: "CN=localhost", issuer: mid, issuerKey: midKey.keys.privateKey, publicKey: merchant.keys.publicKey, ca: false, dns: ["localhost"], usage: x509.KeyUsageFlags.digitalSignature });
      expect(await codeOf(await serve("/deep", { x509: { x5c: [b64(deep), b64(mid)], dnsName: "localhost" } }), { anchors })).to.equal("ERR_X509_PATH_TOO_LONG");
      const noSign = await cert({ subject: "CN=localhost", issuer: root, issuerKey: rootKey.keys.privateKey, publicKey: merchant.keys.publicKey, ca: false, dns: ["localhost"], usage: x509.KeyUsageFlags.keyEncipherment });
      expect(await codeOf(await serve("/no-sign", { x509: { x5c: [b64(noSign)], dnsName: "localhost" } }), { anchors })).to.equal("ERR_X509_KEY_USAGE");
      // The same shape done right is accepted under that anchor: the checks above are what refused.
      const fine = await cert({ subject: "CN=localhost", issuer: root, issuerKey: rootKey.keys.privateKey, publicKey: merchant.keys.publicKey, ca: false, dns: ["localhost"], usage: x509.KeyUsageFlags.digitalSignature });
      expect(await codeOf(await serve("/fine", { x509: { x5c: [b64(fine)], dnsName: "localhost" } }), { anchors })).to.equal(undefined);
    });
    it("x509_hash (HAIP 1.0): the client id is the leaf's SHA-256; accepted under the pinned CA; another leaf's hash: ERR_X509_HASH_MISMATCH; another CA: ERR_X509_UNKNOWN_CA", async () => {
      const hashed = { ...config, prefix: "x509_hash" as const };
      const clientId = `x509_hash:${x509HashOf(config.x5c[0]!)}`;
      const link = await serve("/hash", { x509: hashed });
      expect(link).to.include(`client_id=${encodeURIComponent(clientId)}`);
      const checked = (await check(link)) as Awaited<ReturnType<typeof checkMerchantRequest>>;
      expect(checked.request.client_id).to.equal(clientId);
      expect(checked.request.iss).to.equal(merchant.did);
      const otherLeaf = (await ca.issueMerchantCertificate(entry, { now: new Date() })).x5c[0]!;
      const wrongHash = `x509_hash:${x509HashOf(otherLeaf)}`;
      const bent = await serve("/hash-other", { x509: hashed, payload: (p) => (p.client_id = wrongHash) });
      expect(await codeOf(bent.replace(/client_id=[^&]+/, `client_id=${encodeURIComponent(wrongHash)}`))).to.equal("ERR_X509_HASH_MISMATCH");
      const otherCa = await PlatformCa.open(new MemoryDocumentStore() as never, DataKey.ephemeral());
      expect(await codeOf(link, { anchors: [otherCa.rootPem] })).to.equal("ERR_X509_UNKNOWN_CA");
      expect(await codeOf(await serve("/hash-malformed", { x509: hashed, payload: (p) => (p.client_id = "x509_hash:abc") }).then((l) => l.replace(/client_id=[^&]+/, "client_id=x509_hash%3Aabc")))).to.equal("ERR_REQUEST_MALFORMED");
    });
    it("a certified merchant the registry no longer lists is refused in words (ERR_MERCHANT_UNREGISTERED); one whose domain it no longer lists: ERR_X509_DNS_NOT_REGISTERED", async () => {
      const link = await serve("/revoked");
      try {
        await registry.remove("merchant", merchant.did);
        served.set("/registry", await registry.signed());
        const refused = (await check(link)) as { code: string; message: string };
        expect(refused.code).to.equal("ERR_MERCHANT_UNREGISTERED");
        expect(refused.message).to.match(/not registered/);
        await registry.putMerchant({ ...entry, origins: ["https://elsewhere.example"] });
        served.set("/registry", await registry.signed());
        expect(await codeOf(link)).to.equal("ERR_X509_DNS_NOT_REGISTERED");
      } finally {
        await registry.putMerchant(entry);
        served.set("/registry", await registry.signed());
      }
      expect(await codeOf(link)).to.equal(undefined);
    });
  });
});
