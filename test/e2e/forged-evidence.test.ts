import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import {
  AnchorRegistryClient,
  bindPresentation,
  createNotaryConsoleApp,
  deployAnchorRegistry,
  devAccountKey,
  issueIdentityCredential,
  jwkFromDidKey,
  listenOn,
  loadTrustAnchors,
  renderEvidenceReport,
  REPO_ROOT,
  selectDisclosures,
  sha256B64url,
  verifyEvidenceBundle,
  writeDeployment,
  type Deployment,
  type EvidenceBundle,
  type EvidenceReport,
  type TrustAnchors,
} from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { makeEvidenceBundle, makePresentationEvidenceBundle, newKey, type BundleRecipe } from "../../drill/forge.js";
import type { EmbeddedChain } from "../../scripts/lib/devnet.js";

const exec = promisify(execFile);

/**
 * §2 of issue 12: a bundle is checked against the notary's own trust anchors (the chain, the registry
 * contract and the issuers it configured), never against what the bundle names. Real chain, real contracts,
 * real signatures; the forger deploys his own AnchorRegistry on the same chain.
 */
describe("Evidence cannot be forged: bundles are checked against the notary's trust anchors", function () {
  this.timeout(120_000);
  let chain: EmbeddedChain;
  let deployment: Deployment;
  let deploymentFile: string;
  let trusted: AnchorRegistryClient;
  let forgerRegistry: AnchorRegistryClient;
  let trust: TrustAnchors;
  let work: string;
  const issuer = newKey();

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "forged-"));
    const c = await chainWithRegistry();
    chain = c.chain;
    deployment = c.deployment;
    deploymentFile = c.deploymentFile;
    // The deployment file is the notary's default trust file; the demo records its issuer there.
    writeDeployment({ ...deployment, trustedIssuers: [issuer.did] }, deploymentFile);
    trust = loadTrustAnchors({ deploymentFile, rpcUrl: chain.url });
    trusted = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deployment.address, privateKey: devAccountKey(5) });
    // The forger: his own AnchorRegistry on the same chain, anchored with his own account.
    const forgerKey = devAccountKey(9);
    const forged = await deployAnchorRegistry({ rpcUrl: chain.url, deployerKey: forgerKey, anchorers: [new Wallet(forgerKey).address] });
    forgerRegistry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: forged.address, privateKey: forgerKey });
  });
  after(async () => {
    trusted?.close();
    forgerRegistry?.close();
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const genuine = (over: Partial<BundleRecipe> = {}) => makeEvidenceBundle({ anchorOn: trusted, registryIssuer: issuer, ...over });
  const forged = () => makeEvidenceBundle({ anchorOn: forgerRegistry, registryIssuer: newKey() });
  const verify = async (bundle: unknown): Promise<EvidenceReport> => {
    const clients = [await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deployment.address })];
    try {
      return await verifyEvidenceBundle(bundle, { trust, registry: clients });
    } finally {
      clients[0]!.close();
    }
  };
  const check = (report: EvidenceReport, name: string) => report.checks.find((c) => c.check === name);
  const notaryVerify = async (bundle: EvidenceBundle) => {
    const file = join(work, `bundle-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(bundle));
    // No --trust: the default trust file (DEPLOYMENT_FILE), never the contract the bundle names.
    try {
      const r = await exec(join(REPO_ROOT, "node_modules", ".bin", "notary"), ["verify", file, "--rpc", chain.url, "--json"], { cwd: REPO_ROOT, env: { ...process.env, DEPLOYMENT_FILE: deploymentFile } });
      return { code: 0, report: JSON.parse(r.stdout) as EvidenceReport };
    } catch (error) {
      const e = error as { code: number; stdout: string };
      return { code: e.code, report: JSON.parse(e.stdout) as EvidenceReport };
    }
  };

  it("a genuine bundle (registered merchant, trusted issuer, trusted registry) verifies, and the report names the trust anchors", async () => {
    const { bundle, merchant } = await genuine();
    const report = await verify(bundle);
    expect(report.checks.filter((c) => c.status !== "pass")).to.deep.equal([]);
    expect(report.verified).to.equal(true);
    expect(report.summary!.registeredAs).to.equal("Hand-made Shop");
    expect(report.trustAnchors).to.deep.include({ chainId: deployment.chainId, rpcUrl: chain.url, contracts: [deployment.address.toLowerCase()], issuers: [issuer.did] });
    expect(report.trustAnchors.registrySnapshot!.issuer).to.equal(issuer.did);
    const html = renderEvidenceReport(bundle, report, { generatedAt: new Date(), rpcUrl: chain.url });
    for (const anchor of [deployment.address.toLowerCase(), issuer.did, report.trustAnchors.registrySnapshot!.hash, chain.url]) expect(html).to.include(anchor);
    expect(html).to.include(merchant.did);
    const cli = await notaryVerify(bundle);
    expect(cli.code).to.equal(0);
    expect(cli.report.trustAnchors.contracts).to.deep.equal([deployment.address.toLowerCase()]);
  });

  it("a forged bundle (self-made keys, the forger's own AnchorRegistry on the same chain) is refused by verifyEvidenceBundle", async () => {
    const { bundle } = await forged();
    expect(bundle.anchors.grant.contract.toLowerCase()).to.not.equal(deployment.address.toLowerCase());
    const report = await verify(bundle);
    expect(report.verified).to.equal(false);
    for (const name of ["consent-root-on-chain", "grant-root-on-chain", "registry-snapshot-on-chain"]) expect(check(report, name)).to.deep.include({ status: "fail", code: "ERR_EVIDENCE_UNTRUSTED_CONTRACT" });
    expect(check(report, "merchant-registered")).to.deep.include({ status: "fail", code: "ERR_EVIDENCE_UNTRUSTED_REGISTRY" });
  });

  it("a bundle naming another chain, or an endpoint serving another chain than the trusted one, fails (ERR_EVIDENCE_UNTRUSTED_CHAIN)", async () => {
    const { bundle } = await genuine();
    const otherChain = structuredClone(bundle);
    otherChain.anchors.grant.chainId = "1";
    expect(check(await verify(otherChain), "grant-root-on-chain")).to.deep.include({ status: "fail", code: "ERR_EVIDENCE_UNTRUSTED_CHAIN" });
    const clients = [await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deployment.address })];
    try {
      const report = await verifyEvidenceBundle(bundle, { trust: { ...trust, chainId: "1" }, registry: clients });
      expect(check(report, "consent-root-on-chain")).to.deep.include({ status: "fail", code: "ERR_EVIDENCE_UNTRUSTED_CHAIN" });
    } finally {
      clients[0]!.close();
    }
  });

  it("`notary verify` refuses the forged bundle (exit 1) with its default trust file", async () => {
    const { code, report } = await notaryVerify((await forged()).bundle);
    expect(report.verified).to.equal(false);
    expect(code).to.equal(1);
    expect(check(report, "grant-root-on-chain")!.code).to.equal("ERR_EVIDENCE_UNTRUSTED_CONTRACT");
  });

  it("the notary console refuses the forged bundle and names its trust anchors", async () => {
    const hosts: string[] = [];
    const consoleServer = await listenOn(createNotaryConsoleApp({ rpcUrl: chain.url, trust, allowedHosts: () => hosts }), "127.0.0.1", 0, hosts);
    try {
      const upload = async (bundle: EvidenceBundle) => {
        const form = new FormData();
        form.append("bundle", new Blob([JSON.stringify(bundle)], { type: "application/json" }), "bundle.json");
        const posted = await fetch(`${consoleServer.url}/verify`, { method: "POST", body: form, headers: { origin: consoleServer.url, "accept-language": "en" }, redirect: "manual" });
        expect(posted.status).to.equal(303);
        return (await fetch(new URL(posted.headers.get("location")!, consoleServer.url), { headers: { "accept-language": "en" } })).text();
      };
      const page = await upload((await forged()).bundle);
      expect(page).to.contain("Not verified: a check failed");
      expect(page).to.match(/data-check="grant-root-on-chain"[^]*?FAILED/);
      expect(page).to.not.contain("Neither side can deny");
      expect(page).to.contain(deployment.address.toLowerCase());
      expect(page).to.contain(issuer.did);
      const ok = await upload((await genuine()).bundle);
      expect(ok).to.contain("Verified: every check passed");
    } finally {
      await consoleServer.close();
    }
  });

  it("a merchant missing from the trusted issuer's registry snapshot is refused (ERR_EVIDENCE_MERCHANT_UNREGISTERED)", async () => {
    const report = await verify((await genuine({ registered: false })).bundle);
    expect(report.verified).to.equal(false);
    expect(check(report, "merchant-registered")).to.deep.include({ status: "fail", code: "ERR_EVIDENCE_MERCHANT_UNREGISTERED" });
  });

  it("a consent signed by a key other than the grant's subject is refused (ERR_EVIDENCE_CONSENT_SIGNER)", async () => {
    const report = await verify((await genuine({ consentSigner: newKey() })).bundle);
    expect(report.verified).to.equal(false);
    expect(check(report, "consent-signed-by-holder")).to.deep.include({ status: "fail", code: "ERR_EVIDENCE_CONSENT_SIGNER" });
  });

  it("an included presentation must be a trusted issuer's credential bound (cnf) to the key that consented", async () => {
    const holder = newKey();
    const credential = await issueIdentityCredential({ issuerDid: issuer.did, vct: "https://issuer.example/vct/realname-identity/v1", signer: issuer.signer, holderJwk: jwkFromDidKey(holder.did), claims: { real_name_verified: true, age_over_18: true, family_name: "张", given_name: "三", full_name: "张三", id_number: "110105199003071239", birth_date: "1990-03-07" }, now: new Date(), validForSeconds: 3600 });
    const { presented, sdHash } = await selectDisclosures(credential, ["real_name_verified"]);
    const full = await bindPresentation({ presented, sdHash, audience: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", nonce: "n", now: new Date(), signer: holder.signer });
    const presentation = { full, presentedHash: sha256B64url(presented) };
    const own = await verify((await genuine({ holder, presentation })).bundle);
    expect(own.checks.filter((c) => c.status !== "pass")).to.deep.equal([]);
    // Someone else's presentation under a consent signed by a forger's key: the hash matches, the key does not.
    const stolen = await verify((await genuine({ presentation })).bundle);
    expect(check(stolen, "presentation-matches-consent")!.status).to.equal("pass");
    expect(check(stolen, "presentation-issuer-trusted")).to.deep.include({ status: "fail", code: "ERR_EVIDENCE_CONSENT_SIGNER" });
    expect(stolen.verified).to.equal(false);
  });

  it("a consent dated after the anchoring block's time is refused (ERR_EVIDENCE_TIME_INCONSISTENT)", async () => {
    const later = new Date(Date.now() + 3600_000);
    const report = await verify((await genuine({ consentAt: later, grantAt: later })).bundle);
    expect(report.verified).to.equal(false);
    expect(check(report, "times-consistent")).to.deep.include({ status: "fail", code: "ERR_EVIDENCE_TIME_INCONSISTENT" });
    const before = await verify((await genuine({ consentAt: new Date(), grantAt: new Date(Date.now() - 3600_000) })).bundle);
    expect(check(before, "times-consistent")!.status, "a grant before the consent").to.equal("fail");
  });

  it("a withdrawn grant's evidence says it was withdrawn, when, acknowledged and anchored; never 'neither side can deny this grant' alone", async () => {
    const { bundle } = await genuine({ withdraw: true });
    const report = await verify(bundle);
    expect(report.checks.filter((c) => c.status !== "pass")).to.deep.equal([]);
    for (const name of ["withdrawal-receipt", "withdrawal-acknowledgement", "withdrawal-root-on-chain", "withdrawal-acknowledgement-root-on-chain"]) expect(check(report, name)!.status).to.equal("pass");
    expect(report.summary!.withdrawal).to.deep.include({ dataDeleted: true });
    expect(report.summary!.withdrawal!.withdrawnAt).to.be.a("string");
    const html = renderEvidenceReport(bundle, report, { generatedAt: new Date(), rpcUrl: chain.url });
    expect(html).to.include("WITHDRAWN");
    expect(html).to.include(report.summary!.withdrawal!.withdrawnAt);
    const cli = await notaryVerify(bundle);
    expect(cli.code).to.equal(0);
    expect(cli.report.summary!.withdrawal!.withdrawnAt).to.equal(report.summary!.withdrawal!.withdrawnAt);
    // A withdrawal signed by someone other than the consenting key is not the person's.
    const other = await verify((await genuine({ withdraw: true, withdrawalSigner: newKey() })).bundle);
    expect(check(other, "withdrawal-receipt")).to.deep.include({ status: "fail", code: "ERR_EVIDENCE_WITHDRAWAL" });
  });

  describe("a grant without a consent receipt (a plain OpenID4VP 1.0 answer): the presentation is the person's signed consent", () => {
    it("verifies: the key-binding JWT over the grant terms, named by the anchored grant receipt, stands in for the consent receipt", async () => {
      const { bundle, holder } = await makePresentationEvidenceBundle({ anchorOn: trusted, registryIssuer: issuer });
      expect(bundle.receipts.consent).to.equal(undefined);
      expect(bundle.anchors.consent).to.equal(undefined);
      const report = await verify(bundle);
      expect(report.checks.filter((c) => c.status !== "pass")).to.deep.equal([]);
      expect(report.verified).to.equal(true);
      expect(check(report, "consent-presentation")!.status).to.equal("pass");
      expect(report.summary).to.deep.include({ holder: holder.did, level: "verified", purpose: "evidence test", registeredAs: "Hand-made Shop" });
      expect((await notaryVerify(bundle)).code).to.equal(0);
    });
    for (const [bend, code] of [["terms", "ERR_EVIDENCE_TERMS"], ["presentation", "ERR_EVIDENCE_PRESENTATION"], ["holder", "ERR_EVIDENCE_CONSENT_SIGNER"]] as const) {
      it(`refused when the ${bend} is not what the person signed and the grant receipt names (${code})`, async () => {
        const report = await verify((await makePresentationEvidenceBundle({ anchorOn: trusted, registryIssuer: issuer, bend })).bundle);
        expect(report.verified).to.equal(false);
        expect(check(report, "consent-presentation")).to.deep.include({ status: "fail", code });
      });
    }
    it("refused without the presentation: nothing would show the person consented (ERR_EVIDENCE_NO_CONSENT)", async () => {
      const { bundle } = await makePresentationEvidenceBundle({ anchorOn: trusted, registryIssuer: issuer });
      const { presentation: _dropped, ...bare } = bundle;
      const report = await verify(bare);
      expect(report.verified).to.equal(false);
      expect(check(report, "consent-presentation")).to.deep.include({ status: "fail", code: "ERR_EVIDENCE_NO_CONSENT" });
    });
  });
});
