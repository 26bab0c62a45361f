import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTrustAnchors, MemoryDocumentStore, TrustRegistry, TrustRegistryResolver } from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";

describe("The notary's trust anchors and the verifier's registry it relies on", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "trust-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const contract = "0x" + "ab".repeat(20);
  const issuer = newTestKey();

  it("reads a deployment file as a trust file (address, chain id, trustedIssuers); flags override it", () => {
    const file = join(dir, "deployment.json");
    writeFileSync(file, JSON.stringify({ chainId: "31337", address: contract, deployer: "0x", txHash: "0x", blockNumber: 1, deployedAt: "x", anchorers: [], trustedIssuers: [issuer.did] }));
    const t = loadTrustAnchors({ deploymentFile: file, rpcUrl: "http://127.0.0.1:8545" });
    expect(t).to.deep.include({ chainId: "31337", contracts: [contract], issuers: [issuer.did] });
    const other = newTestKey().did;
    const flagged = loadTrustAnchors({ deploymentFile: file, rpcUrl: "http://127.0.0.1:8545", issuers: [other], contracts: ["0x" + "cd".repeat(20)], chainId: "1" });
    expect(flagged).to.deep.include({ chainId: "1", contracts: ["0x" + "cd".repeat(20)], issuers: [other] });
    expect(flagged.source).to.contain("command-line flags");
  });

  it("a trust file names chain, contracts and issuers; a missing or unreadable trust, or none at all, is refused with a code", () => {
    const file = join(dir, "trust.json");
    writeFileSync(file, JSON.stringify({ chainId: 31337, contracts: [contract], issuers: [issuer.did] }));
    expect(loadTrustAnchors({ trustFile: file, rpcUrl: "http://x" })).to.deep.include({ chainId: "31337", contracts: [contract], issuers: [issuer.did] });
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as { code: string }).code;
      }
      return "none";
    };
    expect(code(() => loadTrustAnchors({ trustFile: join(dir, "nope.json"), rpcUrl: "http://x" }))).to.equal("ERR_INVALID_INPUT");
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ contracts: ["not an address"] }));
    expect(code(() => loadTrustAnchors({ trustFile: join(dir, "bad.json"), rpcUrl: "http://x" }))).to.equal("ERR_INVALID_INPUT");
    expect(code(() => loadTrustAnchors({ deploymentFile: join(dir, "absent.json"), rpcUrl: "http://x" }))).to.equal("ERR_NO_TRUST_ANCHORS");
    expect(code(() => loadTrustAnchors({ deploymentFile: join(dir, "absent.json"), rpcUrl: "http://x", contracts: [contract], issuers: ["did:web:x"] }))).to.equal("ERR_INVALID_INPUT");
  });

  it("the verifier relies on the trusted issuer's registry only, and refetches one that does not list what it relies on", async () => {
    const registry = new TrustRegistry(new MemoryDocumentStore(), issuer);
    const merchant = newTestKey().did;
    let fetched = 0;
    const resolver = new TrustRegistryResolver({ issuerUrl: "http://127.0.0.1:1", issuerDid: issuer.did, cacheSeconds: 60, fetchText: async () => (fetched++, registry.signed()) });
    const lists = (doc: { merchants: Array<{ did: string }> }) => doc.merchants.some((m) => m.did === merchant);
    const before = await resolver.current(new Date());
    expect(before.document.merchants).to.deep.equal([]);
    await registry.putMerchant({ did: merchant, name: "Shop", maxLevel: "full", purposes: ["p"], fullClaims: [], origins: ["https://shop.example"] });
    expect((await resolver.current(new Date())).hash, "cached while it covers the need").to.equal(before.hash);
    const after = await resolver.current(new Date(), lists);
    expect(fetched).to.equal(2);
    expect(after.hash).to.not.equal(before.hash);
    expect(after.document.merchants.map((m) => m.did)).to.deep.equal([merchant]);
    expect(after.uri).to.equal("http://127.0.0.1:1/registry");
    const impostor = new TrustRegistryResolver({ issuerUrl: "http://127.0.0.1:1", issuerDid: issuer.did, fetchText: async () => new TrustRegistry(new MemoryDocumentStore(), newTestKey()).signed() });
    try {
      await impostor.current(new Date());
      expect.fail("a registry signed by another key was relied on");
    } catch (error) {
      expect((error as { code: string }).code).to.equal("ERR_TRUST_REGISTRY_INVALID");
    }
  });
});
