import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PDFParse } from "pdf-parse";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AnchorRegistryClient,
  checkNotaryReport,
  createConsentReceipt,
  createGrantReceipt,
  DataKey,
  fetchJson,
  HolderWallet,
  identifierSigner,
  LEGAL_REQUEST_TYP,
  loadTrustAnchors,
  receiptHash,
  reportHash,
  REPO_ROOT,
  serveWalletWeb,
  timeInWords,
  signJws,
  signLegalRequest,
  signRequest,
  TRACE_REQUEST_TYP,
  traceReportFor,
  type GrantEntry,
  type GrantLevel,
  type LegalAnswer,
  type TraceView,
} from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { newTestKey, type TestKey } from "../helpers/keys.js";
import { auditPage, launchChromium, screenshot, visibleText } from "../helpers/browser.js";
import { call } from "../helpers/http.js";
import { startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";

const exec = promisify(execFile);
const PERSON = { fullName: "张三", idNumber: "110105199003071239", birthDate: "1990-03-07", portrait: readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-live.jpg")) };
const ADMIN_TOKEN = "trace-admin-token-0123456789";
const DATA_KEY_HEX = "33".repeat(32);

/** Every byte a service wrote to its data folder (LevelDB tables and logs), recursively. */
function bytesUnder(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) parts.push(bytesUnder(p));
    else parts.push(readFileSync(p));
  }
  return Buffer.concat(parts);
}
/** A value in the forms it could be stored in: text, hex, base64, base64url. */
const forms = (x: string) => [x, Buffer.from(x).toString("hex"), Buffer.from(x).toString("base64").replace(/=+$/, ""), Buffer.from(x).toString("base64url")];

describe("The platform's trace (认证留痕), its escrow, and notaries' legal requests", function () {
  this.timeout(180_000);
  let chain: EmbeddedChain;
  let deploymentAddress: string;
  let issuer: ServiceProcess;
  let shopA: ServiceProcess;
  let shopB: ServiceProcess;
  let wallet: HolderWallet;
  let work: string;
  let notary: TestKey;
  const grants: Partial<Record<"verified" | "pseudonymous" | "full", GrantEntry>> = {};

  const admin = (path: string, body: unknown, method = "POST") => fetchJson(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "trace-"));
    const c = await chainWithRegistry();
    chain = c.chain;
    deploymentAddress = c.deployment.address;
    issuer = await startService("issuer-service", {
      DATA_DIR: join(work, "issuer"),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ISSUER_PASSPHRASE: "test-issuer",
      ISSUER_DATA_KEY: DATA_KEY_HEX,
      ADMIN_TOKEN,
      ANCHOR_DEV_ACCOUNT: "2",
      ANCHOR_BATCH_AGE_MS: "200",
      STATUS_PUBLISH_INTERVAL_SECONDS: "0.2",
      RISK_MAX_PER_ADDRESS: "1000",
      RISK_MAX_PER_ID_NUMBER: "1000",
    });
    const shopEnv = (key: string, account: string) => ({
      DATA_DIR: join(work, key),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ANCHOR_DEV_ACCOUNT: account,
      MERCHANT_NAME: `Shop ${key}`,
      MERCHANT_PASSPHRASE: `test-${key}`,
      TRUSTED_ISSUERS: issuer.did,
      ANCHOR_BATCH_AGE_MS: "300",
      ISSUER_URL: issuer.url,
      STATUS_CACHE_SECONDS: "0",
    });
    [shopA, shopB] = await Promise.all([startService("verifier-service", shopEnv("a", "1")), startService("verifier-service", shopEnv("b", "3"))]);
    for (const [shop, name] of [[shopA, "Shop a"], [shopB, "Shop b"]] as const) {
      await admin("/admin/merchants", { did: shop.did, name, maxLevel: "full", purposes: ["test verified", "test pseudonymous", "test full"], fullClaims: ["full_name", "id_number"], origins: [new URL(shop.url).origin] }, "PUT");
    }
    notary = newTestKey();
    await admin("/admin/notaries", { did: notary.did, name: "北京市长安公证处" }, "PUT");
    wallet = await HolderWallet.open({ dir: join(work, "wallet"), pin: "135790" });
    await wallet.init();
    await admin("/admin/devices", { deviceId: "trace-phone", label: "test phone", publicJwk: (await wallet.deviceKey()).publicJwk });
    await wallet.register(issuer.url, PERSON, { deviceId: "trace-phone", batchSize: 8, confirm: async () => true });
  });

  let walletClosed = false;
  after(async () => {
    if (!walletClosed) await wallet?.close();
    await Promise.allSettled([issuer, shopA, shopB].filter(Boolean).map((s) => s.stop()));
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function grant(shop: ServiceProcess, level: GrantLevel): Promise<GrantEntry> {
    const created = await fetchJson<{ requestUri: string }>(`${shop.url}/requests`, { body: { level, purpose: `test ${level}`, claims: level === "full" ? ["full_name", "id_number"] : [] } });
    return wallet.answer(await wallet.preview(created.requestUri));
  }
  /** Asks the merchant until both receipts are anchored (its batches close on age), then the wallet reports the anchors. */
  async function anchored(g: GrantEntry): Promise<GrantEntry> {
    // Bounded: a loop that outlived its test (mocha's timeout does not stop it) would keep calling services
    // the next tests use.
    for (const giveUp = Date.now() + 100_000; Date.now() < giveUp; ) {
      const e = await wallet.refreshAnchors(g.grantId);
      if (e.anchors?.consent?.status === "anchored" && e.anchors?.grant?.status === "anchored" && e.platformTrace && "anchored" in e.platformTrace && e.platformTrace.anchored) return e;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`grant ${g.grantId}: its receipts were not anchored and reported within 100 s`);
  }
  const legal = (request: string) => call(`${issuer.url}/trace/legal-requests`, { body: { request } });
  const terms = (subject: Parameters<typeof signLegalRequest>[2]["subject"]) => ({ legalBasis: "《民事诉讼法》第六十七条；法院调查令", caseReference: "(2026)京0105民初1234号", subject });
  const accesses = async () => (await wallet.platformTrace()).filter((e) => e.kind === "access");

  describe("the trace", () => {
    it("every grant reaches the platform's trace: merchant, level, claim names, time and receipt hashes, never a value", async () => {
      grants.verified = await grant(shopA, "verified");
      grants.pseudonymous = await grant(shopA, "pseudonymous");
      grants.full = await grant(shopB, "full");
      for (const g of Object.values(grants)) expect(g!.platformTrace).to.have.property("reportedAt");
      const trace = await wallet.platformTrace();
      const recorded = trace.filter((e) => e.kind === "grant");
      expect(recorded.map((e) => [e.merchant.name, e.level, e.claimNames])).to.deep.equal([
        ["Shop a", "verified", grants.verified!.claimNames],
        ["Shop a", "pseudonymous", grants.pseudonymous!.claimNames],
        ["Shop b", "full", grants.full!.claimNames],
      ]);
      for (const [e, g] of recorded.map((e, i) => [e, Object.values(grants)[i]!] as const)) {
        expect(e.consentReceiptHash).to.equal(receiptHash(g.consentReceipt));
        expect(e.grantReceiptHash).to.equal(receiptHash(g.grantReceipt));
        expect(e.merchantGrantId).to.equal(g.grantId);
        expect(e.grantedAt).to.equal(g.grantedAt);
      }
      const text = JSON.stringify(trace);
      for (const value of [PERSON.fullName, PERSON.idNumber, PERSON.birthDate]) expect(text).to.not.include(value);
    });

    it("anchors reach the trace once the merchant's batch is on chain (the proof is checked against the root)", async () => {
      grants.verified = await anchored(grants.verified!);
      const e = (await wallet.platformTrace()).find((x) => x.kind === "grant" && x.consentReceiptHash === receiptHash(grants.verified!.consentReceipt));
      expect(e).to.have.nested.property("anchors.consent.root", grants.verified.anchors!.consent!.root);
      expect(e).to.have.nested.property("anchors.grant.blockNumber").that.is.a("number");
      const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deploymentAddress });
      try {
        expect(await registry.findAnchor(grants.verified.anchors!.consent!.root)).to.not.equal(undefined);
      } finally {
        registry.close();
      }
    });

    it("is sealed per person at rest: no receipt hash, merchant grant id or claim name in the platform's files", async () => {
      const bytes = bytesUnder(join(work, "issuer")).toString("latin1");
      for (const g of Object.values(grants)) {
        expect(bytes).to.not.include(receiptHash(g!.consentReceipt));
        expect(bytes).to.not.include(g!.grantId);
      }
      expect(bytes).to.not.include("real_name_verified");
    });

    it("reports are refused with codes and store nothing: bad shape, unknown key, a foreign grant receipt, a forged proof, a stranger's withdrawal", async () => {
      const before = JSON.stringify(await wallet.platformTrace());
      const post = (body: unknown) => call(`${issuer.url}/trace/grants`, { body });
      expect((await post({ consentReceipt: 5 })).body.error.code).to.equal("ERR_INVALID_INPUT");
      expect((await post({ consentReceipt: "x", extra: 1 })).status).to.equal(400);
      expect((await post("not json")).status).to.equal(400);
      expect((await call(`${issuer.url}/trace/grants`, { body: "a=b", contentType: "application/x-www-form-urlencoded" })).status).to.equal(415);
      expect((await post({ consentReceipt: "not.a.jwt" })).body.error.code).to.equal("ERR_RECEIPT_MALFORMED");
      // A consent signed by a key this platform never bound to anyone.
      const stranger = newTestKey();
      const foreign = await createConsentReceipt({ consentTimestamp: new Date().toISOString(), jurisdiction: "CN", controller: { id: shopA.did, name: "Shop a" }, purpose: "test verified", level: "verified", claimNames: ["real_name_verified"], retentionDays: 1, presentationHash: "x", requestHash: "y", expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, { did: stranger.did, signer: stranger.signer }, new Date());
      const unknown = await post({ consentReceipt: foreign.jwt });
      expect([unknown.status, unknown.body.error.code]).to.deep.equal([404, "ERR_HOLDER_KEY_NOT_FOUND"]);
      // The person's real consent with a grant receipt that counter-signs something else (signed by a stranger).
      const fake = await createGrantReceipt({ grantTimestamp: new Date().toISOString(), consentReceiptHash: receiptHash(grants.pseudonymous!.consentReceipt), level: "verified", claimNames: [], retentionUntil: new Date().toISOString() }, "did:key:x", { did: stranger.did, signer: stranger.signer }, new Date());
      const wrongGrant = await post({ consentReceipt: grants.pseudonymous!.consentReceipt, grantReceipt: fake.jwt });
      expect([wrongGrant.status, wrongGrant.body.error.code]).to.deep.equal([400, "ERR_GRANT_RECEIPT_INVALID"]);
      // A proof that does not lead from the receipt's leaf to its root.
      const report = traceReportFor(grants.verified!);
      const forged = { ...report, anchors: { consent: { ...report.anchors!.consent!, root: `0x${"ab".repeat(32)}` } } };
      const badProof = await post(forged);
      expect([badProof.status, badProof.body.error.code]).to.deep.equal([400, "ERR_MERKLE_PROOF_INVALID"]);
      // A withdrawal of another consent (the full grant's consent key did not sign one for this).
      const stolen = await post({ consentReceipt: grants.full!.consentReceipt, withdrawalReceipt: grants.verified!.consentReceipt });
      expect(stolen.body.error.code).to.equal("ERR_WITHDRAWAL_INVALID");
      expect(JSON.stringify(await wallet.platformTrace())).to.equal(before);
    });

    it("a person reads only their own trace: a request signed by an unknown key, or for another platform, is 403", async () => {
      const stranger = newTestKey();
      const mine = (request: string) => call(`${issuer.url}/trace/mine`, { body: { request } });
      const unknownKey = await mine(await signRequest(TRACE_REQUEST_TYP, stranger, issuer.did, {}));
      expect([unknownKey.status, unknownKey.body.error.code]).to.deep.equal([403, "ERR_TRACE_REQUEST_UNKNOWN_KEY"]);
      const otherAudience = await mine(await signRequest(TRACE_REQUEST_TYP, stranger, "did:key:z6MkOther", {}));
      expect([otherAudience.status, otherAudience.body.error.code]).to.deep.equal([403, "ERR_TRACE_REQUEST_AUDIENCE"]);
      expect((await mine("plain")).body.error.code).to.equal("ERR_TRACE_REQUEST_UNSIGNED");
      expect((await call(`${issuer.url}/trace/mine`, { body: { request: 5 } })).body.error.code).to.equal("ERR_INVALID_INPUT");
      // The person's own key: answered once; the same signed request again, or a stale one, is refused.
      const holder = await wallet.agent.didManagerGet({ did: (await wallet.credentials())[0]!.holderDid });
      const own = { did: holder.did, signer: identifierSigner(wallet.agent, holder) };
      const request = await signRequest(TRACE_REQUEST_TYP, own, issuer.did, {});
      expect((await mine(request)).status).to.equal(200);
      expect((await mine(request)).body.error.code).to.equal("ERR_TRACE_REQUEST_REPLAYED");
      const stale = await mine(await signRequest(TRACE_REQUEST_TYP, own, issuer.did, {}, new Date(Date.now() - 10 * 60_000)));
      expect([stale.status, stale.body.error.code]).to.deep.equal([403, "ERR_TRACE_REQUEST_EXPIRED"]);
    });
  });

  describe("legal requests", () => {
    it("everyone but a registered notary with a fresh, signed request naming its legal basis gets 403 with its code, and nothing is logged", async () => {
      const subject = { receipt_hash: receiptHash(grants.verified!.consentReceipt) };
      const stranger = newTestKey();
      const cases: Array<[string, string]> = [
        ["ERR_LEGAL_REQUEST_UNSIGNED", "no-signature-at-all"],
        ["ERR_LEGAL_REQUEST_UNSIGNED", (await signLegalRequest(notary, issuer.did, terms(subject))).replace(/\.[^.]+$/, ".AAAA")],
        ["ERR_LEGAL_REQUEST_UNSIGNED", await signJws({ typ: "JWT", alg: "EdDSA" }, { iss: notary.did, aud: issuer.did }, notary.signer)],
        ["ERR_NOTARY_NOT_REGISTERED", await signLegalRequest(stranger, issuer.did, terms(subject))],
        ["ERR_LEGAL_REQUEST_AUDIENCE", await signLegalRequest(notary, shopA.did, terms(subject))],
        ["ERR_LEGAL_REQUEST_EXPIRED", await signLegalRequest(notary, issuer.did, terms(subject), new Date(Date.now() - 10 * 60_000))],
        ["ERR_LEGAL_REQUEST_EXPIRED", await signRequest(LEGAL_REQUEST_TYP, notary, issuer.did, { legal_basis: "court order", case_reference: "A-1", subject }, new Date(), 3600)],
        ["ERR_LEGAL_BASIS_MISSING", await signRequest(LEGAL_REQUEST_TYP, notary, issuer.did, { case_reference: "A-1", subject })],
        ["ERR_LEGAL_BASIS_MISSING", await signRequest(LEGAL_REQUEST_TYP, notary, issuer.did, { legal_basis: "court order", case_reference: " ", subject })],
      ];
      for (const [code, request] of cases) {
        const r = await legal(request);
        expect([r.status, r.body.error?.code], code).to.deep.equal([403, code]);
      }
      const badSubject = await legal(await signLegalRequest(notary, issuer.did, terms({ receipt_hash: "nope" } as never)));
      expect([badSubject.status, badSubject.body.error.code]).to.deep.equal([400, "ERR_INVALID_INPUT"]);
      const unknown = await legal(await signLegalRequest(notary, issuer.did, terms({ receipt_hash: "0".repeat(64) })));
      expect([unknown.status, unknown.body.error.code]).to.deep.equal([404, "ERR_TRACE_SUBJECT_NOT_FOUND"]);
      expect((await call(`${issuer.url}/trace/legal-requests`, { body: { request: 1 } })).status).to.equal(400);
      expect(await accesses()).to.deep.equal([]);
    });

    it("the identity behind one verified grant, and the trace: exactly that, once per signed request; the person sees who, when and why", async () => {
      const request = await signLegalRequest(notary, issuer.did, terms({ receipt_hash: receiptHash(grants.verified!.grantReceipt) }));
      const r = await legal(request);
      expect(r.status).to.equal(200);
      const answer = r.body as LegalAnswer;
      expect(answer.identity).to.deep.equal({ fullName: PERSON.fullName, idNumber: PERSON.idNumber, birthDate: PERSON.birthDate });
      expect(answer.trace.filter((e) => e.kind === "grant")).to.have.length(3);
      const replay = await legal(request);
      expect([replay.status, replay.body.error.code]).to.deep.equal([403, "ERR_LEGAL_REQUEST_REPLAYED"]);
      // The pseudonymous grant by the merchant's own grant id: the same person.
      const byGrantId = await legal(await signLegalRequest(notary, issuer.did, terms({ merchant: shopA.did, grant_id: grants.pseudonymous!.grantId })));
      expect(byGrantId.body.identity.idNumber).to.equal(PERSON.idNumber);
      const seen = await accesses();
      expect(seen).to.have.length(2);
      expect(seen[0]).to.include({ legalBasis: terms({ id_number: "" }).legalBasis, caseReference: "(2026)京0105民初1234号", scope: "grant", accessedAt: answer.access.accessedAt });
      expect(seen[0]!.notary).to.deep.equal({ did: notary.did, name: "北京市长安公证处" });
    });

    it("the access record is anchored on chain (its hash only): the person's trace shows where", async () => {
      let view: TraceView = [];
      for (const giveUp = Date.now() + 100_000; ; ) {
        if (Date.now() > giveUp) throw new Error("the access record was not anchored within 100 s");
        view = (await wallet.platformTrace()).filter((e) => e.kind === "access");
        if (view.every((a) => "anchor" in a && a.anchor?.status === "anchored")) break;
        await new Promise((r) => setTimeout(r, 150));
      }
      const a = view[0] as Extract<TraceView[number], { kind: "access" }> & { anchor: { root: string; blockNumber: number } };
      const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deploymentAddress });
      try {
        expect((await registry.findAnchor(a.anchor.root))?.blockNumber).to.equal(a.anchor.blockNumber);
      } finally {
        registry.close();
      }
    });

    it("one person's whole trace by ID number", async () => {
      const r = await legal(await signLegalRequest(notary, issuer.did, terms({ id_number: PERSON.idNumber })));
      expect(r.status).to.equal(200);
      expect(r.body.trace.filter((e: { kind: string }) => e.kind === "access")).to.have.length(3);
      expect((await accesses()).at(-1)).to.include({ scope: "person" });
    });
  });

  describe("the escrow", () => {
    it("the merchant that got only verified and pseudonymous grants holds nothing that links them to the person; neither does the chain", async () => {
      const key = new DataKey(Buffer.from(DATA_KEY_HEX, "hex"));
      const vaultRef = key.index("id-number", PERSON.idNumber);
      const personals = [PERSON.fullName, PERSON.idNumber, PERSON.birthDate, PERSON.idNumber.slice(6, 14), vaultRef, key.index("trace-person", vaultRef)];
      const merchantBytes = bytesUnder(join(work, "a")).toString("latin1");
      for (const p of personals) for (const f of forms(p)) expect(merchantBytes, `merchant store holds ${p}`).to.not.include(f);
      const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deploymentAddress });
      let txs = 0;
      try {
        const onChain = [...personals, ...Object.values(grants).flatMap((g) => [receiptHash(g!.consentReceipt), receiptHash(g!.grantReceipt)])];
        const latest = await registry.provider.getBlockNumber();
        for (let b = 0; b <= latest; b++) {
          const block = await registry.provider.getBlock(b, true);
          for (const tx of block?.prefetchedTransactions ?? []) {
            txs++;
            const receipt = await registry.provider.getTransactionReceipt(tx.hash);
            const blob = [tx.data, ...(receipt?.logs ?? []).flatMap((l) => [l.data, ...l.topics])].join("").toLowerCase();
            for (const p of onChain) for (const f of forms(p)) if (f.length >= 6) expect(blob, `chain holds ${p}`).to.not.include(f.toLowerCase());
          }
        }
      } finally {
        registry.close();
      }
      expect(txs).to.be.greaterThan(2);
      const logs = [...issuer.output, ...shopA.output, ...shopB.output].join("\n");
      for (const p of [PERSON.fullName, PERSON.idNumber, "民初1234"]) expect(logs).to.not.include(p);
    });

    it("a withdrawal reaches the trace", async () => {
      await wallet.withdraw(grants.pseudonymous!.grantId);
      const e = (await wallet.platformTrace()).find((x) => x.kind === "grant" && x.level === "pseudonymous");
      expect(e).to.have.property("withdrawnAt").that.is.a("string");
    });
  });
  describe("evidence a court clerk can use", () => {
    let trustFile: string;
    let bundleFile: string;
    let notaryEnv: NodeJS.ProcessEnv;
    let cliNotary: string;
    const bin = join(REPO_ROOT, "node_modules", ".bin", "notary");
    /** Runs the notary CLI; its exit code and JSON output (also when it exits non-zero). */
    const notaryCli = async (...args: string[]) => {
      // Commands that check against the chain take this notary's trust anchors; the others only the endpoint.
      const trustArgs = ["report", "check-report"].includes(args[0]!) ? ["--trust", trustFile] : [];
      try {
        const r = await exec(bin, [...args, "--rpc", chain.url, ...trustArgs, "--json"], { cwd: REPO_ROOT, env: notaryEnv });
        return { code: 0, out: JSON.parse(r.stdout) };
      } catch (error) {
        const e = error as { code: number; stdout: string; stderr: string };
        let out: any;
        try {
          out = JSON.parse(e.stdout);
        } catch {
          out = JSON.parse(e.stderr || "{}");
        }
        return { code: e.code, out };
      }
    };

    before(async () => {
      trustFile = join(work, "trust.json");
      writeFileSync(trustFile, JSON.stringify({ chainId: "31337", contracts: [deploymentAddress], issuers: [issuer.did] }));
      grants.full = await anchored(grants.full!);
      bundleFile = join(work, "bundle.json");
      writeFileSync(bundleFile, JSON.stringify(await wallet.evidence(grants.full.grantId, { rpcUrl: chain.url })));
      notaryEnv = { ...process.env, NOTARY_DIR: join(work, "notary"), NOTARY_PASSPHRASE: "notary pass", ANCHOR_DEV_ACCOUNT: "4" };
      cliNotary = (await notaryCli("init")).out.did;
      await admin("/admin/notaries", { did: cliNotary, name: "上海市东方公证处" }, "PUT");
    });

    it("times are said in the reader's zone (Asia/Shanghai by default) and in words, with UTC beside", () => {
      const t = timeInWords("2026-11-22T04:36:05Z");
      expect(t).to.include("2026年11月22日").and.include("12:36:05").and.include("Asia/Shanghai").and.include("UTC 2026-11-22T04:36:05Z");
      expect(timeInWords("2026-11-22T20:00:00Z")).to.include("11月23日");
    });

    it("`notary report` signs the verdict (VC-JWT), anchors its hash, and prints a PDF with the CJK text embedded", async () => {
      const signed = join(work, "report.json");
      const pdf = join(work, "report.pdf");
      const r = await notaryCli("report", bundleFile, "--signed", signed, "--pdf", pdf, "--notary-name", "上海市东方公证处");
      expect(r.code, JSON.stringify(r.out)).to.equal(0);
      expect(r.out.verified).to.equal(true);
      const file = JSON.parse(readFileSync(signed, "utf8"));
      expect(file.anchor.blockNumber).to.be.a("number");
      const payload = JSON.parse(Buffer.from(file.report.split(".")[1], "base64url").toString());
      expect(payload.iss).to.equal(cliNotary);
      expect(payload.vc.type).to.include("NotaryEvidenceReport");
      const subject = payload.vc.credentialSubject;
      const bytes = readFileSync(pdf);
      expect(bytes.subarray(0, 5).toString()).to.equal("%PDF-");
      // The font is embedded (a TrueType subset), so the Chinese text prints on any machine.
      expect(bytes.toString("latin1")).to.match(/\/FontFile2/).and.match(/WenQuanYi/);
      const text = (await new PDFParse({ data: bytes }).getText()).text.replace(/\s+/g, "");
      for (const expected of ["公证证据报告", subject.reportNumber, subject.bundleHash, "Shop b", "完整身份信息", "姓名", "公民身份号码", "Asia/Shanghai", "全部核验通过", "同意回执的签名有效", "通过", file.bundle.anchors.grant.txHash, reportHash(file.report), "上海市东方公证处", cliNotary, issuer.did]) {
        expect(text, expected).to.include(expected.replace(/\s+/g, ""));
      }
      expect(text).to.include(timeInWords(subject.grant.consentedAt).replace(/\s+/g, ""));
      expect(text).to.not.include(PERSON.fullName);
      expect(text).to.not.match(/ERR_[A-Z_]+/);
    });

    it("`notary check-report` verifies the signature, the bundle it covers and its anchor; each tampering fails its check", async () => {
      const signed = join(work, "report.json");
      const ok = await notaryCli("check-report", signed);
      expect(ok.code).to.equal(0);
      expect(ok.out.checks.map((c: any) => [c.check, c.status])).to.deep.equal([["report-signature", "pass"], ["report-covers-bundle", "pass"], ["bundle-verifies", "pass"], ["report-anchored", "pass"]]);
      const original = JSON.parse(readFileSync(signed, "utf8"));
      const tampered: Array<[string, (f: any) => void, string]> = [
        ["report-signature", (f) => void (f.report = f.report.replace(/\.[^.]+$/, ".AAAA")), "ERR_REPORT_SIGNATURE"],
        ["report-covers-bundle", (f) => void (f.bundle.anchors.grant.blockNumber += 1), "ERR_REPORT_BUNDLE_MISMATCH"],
        ["report-anchored", (f) => void (f.anchor.salt = `0x${"00".repeat(32)}`), "ERR_REPORT_ANCHOR_MISMATCH"],
      ];
      // Each tampering through the same check the command runs (in process: the command's startup is the slow part).
      const trust = loadTrustAnchors({ trustFile, rpcUrl: chain.url });
      const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deploymentAddress });
      try {
        for (const [check, bend, code] of tampered) {
          const copy = structuredClone(original);
          bend(copy);
          const r = await checkNotaryReport(copy, { trust, registry });
          expect(r.verified, check).to.equal(false);
          expect(r.checks.find((c) => c.check === check), check).to.include({ status: "fail", code });
        }
        expect((await checkNotaryReport(original, { trust, registry })).verified).to.equal(true);
      } finally {
        registry.close();
      }
      const garbage = join(work, "garbage.json");
      writeFileSync(garbage, JSON.stringify({ format: "something else" }));
      const g = await notaryCli("check-report", garbage);
      expect([g.code, g.out.checks[0].code]).to.deep.equal([1, "ERR_REPORT_MALFORMED"]);
    });

    it("`notary report` refuses bad usage with codes", async () => {
      const noOut = await notaryCli("report", bundleFile);
      expect([noOut.code, noOut.out.error?.code]).to.deep.equal([2, "ERR_INVALID_INPUT"]);
      const badZone = await notaryCli("report", bundleFile, "--signed", join(work, "x.json"), "--tz", "Mars/Olympus");
      expect(badZone.out.error?.code).to.equal("ERR_INVALID_INPUT");
    });

    it("`notary trace`: the CLI's legal request returns the person behind a grant, and the person sees it", async () => {
      const r = await notaryCli("trace", "--platform", issuer.url, "--legal-basis", "公证法第二十五条", "--case", "(2026)沪东证字第88号", "--receipt", receiptHash(grants.full!.consentReceipt));
      expect(r.code, JSON.stringify(r.out)).to.equal(0);
      expect(r.out.identity.idNumber).to.equal(PERSON.idNumber);
      expect((await accesses()).at(-1)).to.deep.include({ caseReference: "(2026)沪东证字第88号", notary: { did: cliNotary, name: "上海市东方公证处" } });
    });
  });
  describe("the web wallet's trace page (Chromium)", () => {
    it("shows the person every grant the platform recorded and who obtained their trace, when and why", async () => {
      // The web wallet opens the same folder: the test's own handle on it is closed first.
      await wallet.close();
      walletClosed = true;
      const web = await serveWalletWeb({ dir: join(work, "wallet"), rpcUrl: chain.url });
      const browser = await launchChromium();
      try {
        const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
        await page.goto(`${web.url}/trace`);
        await page.getByLabel("Wallet PIN").fill("135790");
        await page.getByRole("button", { name: "Unlock" }).click();
        await page.getByRole("heading", { name: "Who obtained your trace" }).waitFor();
        const text = await visibleText(page);
        expect(text).to.include("北京市长安公证处").and.include("(2026)京0105民初1234号").and.include("《民事诉讼法》第六十七条").and.include("上海市东方公证处");
        expect(await page.locator("[data-accesses]").getAttribute("data-accesses")).to.equal("4");
        expect(await page.locator("[data-grants]").getAttribute("data-grants")).to.equal("3");
        expect(text).to.match(/Shop a/).and.match(/withdrawn/).and.match(/anchored in block \d+/);
        expect(text).to.not.include(PERSON.idNumber);
        expect((await auditPage(page)).overflowX).to.be.at.most(0);
        await screenshot(page, "wallet-trace");
        // Sent here by another site, the wallet contacts nobody: it only offers to fetch.
        const cross = await fetch(`${web.url}/trace`, { headers: { "sec-fetch-site": "cross-site", "accept-language": "en", cookie: (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ") } });
        expect(await cross.text()).to.include("Fetch my trace").and.not.include("北京市长安公证处");
      } finally {
        await browser.close();
        await web.close();
      }
    });
  });
});
