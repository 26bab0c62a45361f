import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { privateUmask } from "../stores/private-files.js";
import { homedir } from "node:os";
import { join } from "node:path";
import type { RoleAgent } from "../identity/agent.js";
import type { EvidenceBundle, EvidenceReport, InclusionProof } from "../notary/evidence.js";
import type { AnchorRegistryClient } from "../anchoring/registry-contract.js";
import type { TrustAnchors } from "../notary/trust.js";
import { AgentError } from "../errors.js";
import { DEFAULT_DEPLOYMENT_FILE, DEFAULT_RPC_URL } from "../anchoring/chain-defaults.js";
import type { LegalSubject } from "../notary/legal-request.js";
import type { NotaryReportFile } from "../notary/signed-report.js";
import { DEFAULT_REPORT_TIME_ZONE } from "../notary/report-words.js";
import { ask, c, commandLine, EXIT, fail, out, reaching, t, table } from "./common.js";

// What the commands do (keys, LevelDB, ethers, the verifier) loads when a command runs, never for --help.
let lib!: typeof import("./notary-library.js");

// Everything this command writes (LevelDB files, bundles, reports, backups) is private to its user.
privateUmask();
const program = commandLine(new Command("notary"))
  .description("The notary: turns receipts into evidence bundles and verifies them offline and against the chain.")
  .option("--rpc <url>", "chain endpoint (env CHAIN_RPC_URL)", process.env.CHAIN_RPC_URL ?? DEFAULT_RPC_URL)
  .option("--dir <path>", "the notary's key folder (env NOTARY_DIR)", process.env.NOTARY_DIR ?? join(homedir(), ".realname-notary"))
  .addOption(new Option("--passphrase <p>", "seals the notary's keys (env NOTARY_PASSPHRASE; asked for on a terminal)").env("NOTARY_PASSPHRASE"))
  .option("--json", "machine-readable output", false)
  .addHelpText("after", "\nExit codes: 0 all checks pass, 1 a check failed, 2 bad usage, 3 nothing failed but something could not be checked, 4 refused, 5 unreachable.");

const globals = () => program.opts<{ rpc: string; json: boolean; dir: string; passphrase?: string }>();

async function withNotary<T>(fn: (agent: RoleAgent) => Promise<T>): Promise<T> {
  const passphrase = globals().passphrase ?? (await ask("Notary passphrase: ", { secret: true, what: "notaryPassphrase", flag: "--passphrase / NOTARY_PASSPHRASE" }));
  const db = await lib.LevelDatabase.open(globals().dir);
  try {
    const { agent } = await lib.createRoleAgent(db, passphrase);
    return await fn(agent);
  } finally {
    await db.close();
  }
}
const run = (fn: (...args: any[]) => Promise<unknown>) => async (...args: any[]) => {
  try {
    lib = await import("./notary-library.js");
    await fn(...args);
  } catch (error) {
    fail(error, globals().json);
  }
};

/** The notary's trust anchors (never the bundle's): --trust FILE, else the deployment file; flags override. */
interface TrustFlags {
  trust?: string;
  deployment?: string;
  contract?: string[];
  issuer?: string[];
  chainId?: string;
}
const collect = (value: string, previous: string[] = []) => [...previous, value];
function withTrustOptions(cmd: Command): Command {
  return cmd
    .option("--trust <file>", "trust file: {chainId, contracts:[...], issuers:[...]} (default: the deployment file)")
    .option("--deployment <file>", "deployment file to trust when no --trust is given", process.env.DEPLOYMENT_FILE ?? DEFAULT_DEPLOYMENT_FILE)
    .option("--contract <address>", "a trusted AnchorRegistry address (repeatable; overrides the file)", collect)
    .option("--issuer <did>", "a trusted issuer DID whose merchant registry decides who is a merchant (repeatable; overrides the file)", collect)
    .option("--chain-id <id>", "the trusted chain id (overrides the file; default the file's, else the endpoint's)");
}
const trustFrom = (opts: TrustFlags): TrustAnchors =>
  lib.loadTrustAnchors({ trustFile: opts.trust, deploymentFile: opts.deployment, rpcUrl: globals().rpc, contracts: opts.contract, issuers: opts.issuer, chainId: opts.chainId });

/** Clients of every trusted registry, or why the chain could not be asked (its checks become cannot-check). */
async function trustedClients(trust: TrustAnchors): Promise<{ registries: AnchorRegistryClient[]; chainProblem?: string }> {
  try {
    return { registries: await lib.connectTrustedRegistries(trust) };
  } catch (error) {
    return { registries: [], chainProblem: `${(error as AgentError).code ?? "ERR_CHAIN_UNAVAILABLE"}: ${(error as Error).message}` };
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new AgentError("ERR_INVALID_INPUT", `${file} is not a readable JSON file`);
  }
}

withTrustOptions(program
  .command("evidence"))
  .description("build an evidence bundle from a grant's receipts (as written by `wallet evidence` or the demo)")
  .argument("<receipts-file>", "JSON with consentReceipt, grantReceipt and (optionally) their proofs")
  .option("--verifier <url>", "fetch the inclusion proofs from this merchant service instead")
  .requiredOption("--out <file>", "where to write the bundle")
  .action(run(async (file: string, opts: TrustFlags & { verifier?: string; out: string }) => {
    const parsed = lib.receiptsFileSchema.safeParse(readJson(file));
    if (!parsed.success) throw new AgentError("ERR_INVALID_INPUT", `${file} does not hold consentReceipt and grantReceipt`);
    const input = parsed.data;
    let proofs = input.proofs;
    if (!proofs) {
      if (!opts.verifier) throw new AgentError("ERR_INVALID_INPUT", "the file has no proofs: pass --verifier URL to fetch them");
      const get = (jwt: string) => lib.fetchJson<{ status: string; salt: string; proof: string[]; root: string }>(new URL(`/anchors/${lib.receiptHash(jwt)}`, opts.verifier).href);
      const [consent, grant] = await reaching("merchant", opts.verifier, () => Promise.all([get(input.consentReceipt), get(input.grantReceipt)]));
      if (consent.status !== "anchored" || grant.status !== "anchored") throw new AgentError("ERR_NOT_ANCHORED", "the receipts are not anchored yet");
      proofs = { consent, grant };
    }
    const registry = await lib.AnchorRegistryClient.connect({ rpcUrl: globals().rpc, address: trustFrom(opts).contracts[0]! });
    try {
      const bundle = await lib.buildEvidenceBundle({ consentReceipt: input.consentReceipt, grantReceipt: input.grantReceipt, proofs, registry });
      lib.writePrivateFile(opts.out, JSON.stringify(bundle, null, 2));
      out(globals().json ? JSON.stringify({ written: opts.out }) : `${c.green("evidence bundle")} written to ${opts.out}`);
    } finally {
      registry.close();
    }
  }));

/** The verdict line of a failed verification: the failed checks named as failures, then what could not be checked. */
function verdictWords(checks: Array<{ check: string; status: string }>): string {
  const failed = checks.filter((ch) => ch.status === "fail").map((ch) => ch.check);
  const unchecked = checks.filter((ch) => ch.status === "cannot-check").map((ch) => ch.check);
  return [
    t("notary.notVerified"),
    failed.length ? t("notary.failedChecks", { count: failed.length, list: failed.join(", ") }) : "",
    unchecked.length ? t("notary.uncheckedChecks", { count: unchecked.length, list: unchecked.join(", ") }) : "",
  ].filter(Boolean).join(" ");
}

/** Prints the anchors a verdict rests on (every report names them). */
function printTrust(report: EvidenceReport): void {
  const t = report.trustAnchors;
  out(c.dim(`\ntrust anchors (${t.source ?? "none"}): chain ${t.chainId ?? "?"} at ${t.rpcUrl ?? "-"}; registry ${t.contracts.join(", ") || "-"}; issuers ${t.issuers.join(", ") || "none"}${t.registrySnapshot ? `; merchant registry ${t.registrySnapshot.hash.slice(0, 16)}… issued ${t.registrySnapshot.issuedAt}` : ""}`));
}

withTrustOptions(program
  .command("verify")
  .description("verify an evidence bundle against this notary's trust anchors: signatures and Merkle paths offline, the roots on the trusted registry")
  .argument("<bundle>", "an evidence bundle JSON file")
  .option("--offline", "skip the chain (its checks are reported as cannot-check)", false))
  .action(run(async (file: string, opts: TrustFlags & { offline: boolean }) => {
    const bundle = readJson(file);
    const trust = trustFrom(opts);
    const { registries, chainProblem } = opts.offline ? { registries: [], chainProblem: undefined } : await trustedClients(trust);
    let report: EvidenceReport;
    try {
      report = await lib.verifyEvidenceBundle(bundle, { trust, registry: registries });
    } finally {
      for (const r of registries) r.close();
    }
    const notAsked = chainProblem ?? (opts.offline ? "offline (--offline): the chain was not asked" : undefined);
    if (notAsked) for (const check of report.checks) if (check.status === "cannot-check" && check.check.endsWith("on-chain")) check.detail = notAsked;
    if (globals().json) out(JSON.stringify(report, null, 2));
    else {
      const mark = { pass: c.green("pass"), fail: c.red("FAIL"), "cannot-check": c.yellow("cannot-check") } as const;
      out(table([["check", "result", "detail"], ...report.checks.map((ch) => [ch.check, mark[ch.status], ch.code ? `${ch.code}: ${ch.detail}` : ch.detail])]));
      if (report.summary) {
        const s = report.summary;
        out(`\n${s.holder.slice(0, 32)}… granted ${c.bold(s.level)} (${s.claimNames.join(", ")}) to ${s.merchant}`);
        out(`purpose: ${s.purpose}; consented ${s.consentedAt}, counter-signed ${s.grantedAt}`);
        if (s.withdrawal) out(c.yellow(`WITHDRAWN at ${s.withdrawal.withdrawnAt}${s.withdrawal.acknowledgedAt ? `, acknowledged by the merchant at ${s.withdrawal.acknowledgedAt}` : ""}`));
      }
      printTrust(report);
      out(report.verified ? c.green(`\nVERIFIED: every check passed${report.summary?.withdrawal ? " (the grant was withdrawn, as shown above)" : ""}`) : c.red("\n" + verdictWords(report.checks)));
    }
    const failed = report.checks.some((ch) => ch.status === "fail");
    process.exit(report.verified ? EXIT.ok : failed ? EXIT.failed : EXIT.cannotCheck);
  }));

withTrustOptions(program
  .command("report")
  .description("verify a bundle against this notary's trust anchors, then write the report: signed by the notary (VC-JWT, --signed), printable (PDF with CJK text, --pdf) and/or HTML (--out); the signed report's hash is anchored, which dates it")
  .argument("<bundle>", "an evidence bundle JSON file")
  .option("--out <file>", "where to write the HTML report")
  .option("--signed <file>", "where to write the signed report (JSON: the VC-JWT, the bundle, the report's anchor)")
  .option("--pdf <file>", "where to write the printable PDF (needs --signed: it prints what the notary signed)")
  .option("--tz <zone>", "the reader's time zone", DEFAULT_REPORT_TIME_ZONE)
  .option("--notary-name <name>", "the notary's name for the signature block")
  .option("--no-anchor", "do not anchor the report's hash (it is then not dated)"))
  .action(run(async (file: string, opts: TrustFlags & { out?: string; signed?: string; pdf?: string; tz: string; notaryName?: string; anchor: boolean }) => {
    if (!opts.out && !opts.signed) throw new AgentError("ERR_INVALID_INPUT", "name --signed FILE (and --pdf FILE) and/or --out FILE.html");
    if (opts.pdf && !opts.signed) throw new AgentError("ERR_INVALID_INPUT", "--pdf prints the signed report: name --signed FILE too");
    try {
      new Intl.DateTimeFormat("en", { timeZone: opts.tz });
    } catch {
      throw new AgentError("ERR_INVALID_INPUT", `--tz ${opts.tz} is not a time zone`);
    }
    const bundle = readJson(file) as EvidenceBundle;
    if (!lib.evidenceBundleSchema.safeParse(bundle).success) throw new AgentError("ERR_INVALID_INPUT", `${file} is not an evidence bundle`);
    const trust = trustFrom(opts);
    const { registries } = await trustedClients(trust);
    let written: Record<string, string> = {};
    let verified: boolean;
    try {
      const report = await lib.verifyEvidenceBundle(bundle, { trust, registry: registries });
      verified = report.verified;
      if (opts.out) {
        lib.writePrivateFile(opts.out, lib.renderEvidenceReport(bundle, report, { generatedAt: new Date(), rpcUrl: registries.length ? globals().rpc : undefined }));
        written.html = opts.out;
      }
      if (opts.signed) {
        const signedPath = opts.signed;
        written = { ...written, ...(await withNotary(async (agent) => {
          const id = await lib.ensureIdentifier(agent, "notary");
          const { jwt, subject } = await lib.signNotaryReport({ bundle, report, notary: { did: id.did, signer: lib.identifierSigner(agent, id) }, now: new Date(), timeZone: opts.tz });
          // The report's hash goes on the trusted registry with this notary's anchoring key (a dev account on a Hardhat chain).
          const anchor = opts.anchor ? await anchorWith(trust, (registry) => lib.anchorReport(jwt, registry)) : undefined;
          const reportFile: NotaryReportFile = { format: lib.NOTARY_REPORT_FORMAT, version: 1, report: jwt, bundle, ...(anchor ? { anchor } : {}) };
          lib.writePrivateFile(signedPath, JSON.stringify(reportFile, null, 2));
          const files: Record<string, string> = { signed: signedPath };
          if (opts.pdf) {
            lib.writePrivateFile(opts.pdf, await lib.renderReportPdf({ subject, reportJwt: jwt, notary: { did: id.did, name: opts.notaryName }, anchor }));
            files.pdf = opts.pdf;
          }
          return files;
        })) };
      }
    } finally {
      for (const r of registries) r.close();
    }
    out(globals().json ? JSON.stringify({ written, verified }) : `report written to ${Object.values(written).join(", ")} (${verified ? c.green("verified") : c.red("not verified")})`);
  }));

/** Runs `fn` with a registry client that may anchor: ANCHOR_PRIVATE_KEY, or a Hardhat dev account (ANCHOR_DEV_ACCOUNT, default 4). */
async function anchorWith<T>(trust: TrustAnchors, fn: (registry: AnchorRegistryClient) => Promise<T>): Promise<T> {
  const address = trust.contracts[0];
  if (!address) throw new AgentError("ERR_INVALID_INPUT", "no trusted registry contract to anchor the report on");
  let privateKey = process.env.ANCHOR_PRIVATE_KEY;
  if (!privateKey) {
    const probe = await lib.AnchorRegistryClient.connect({ rpcUrl: globals().rpc, address });
    probe.close();
    if (probe.chainId !== lib.HARDHAT_CHAIN_ID) throw new AgentError("ERR_NO_ANCHOR_KEY", "set ANCHOR_PRIVATE_KEY (a key with ANCHORER_ROLE) or pass --no-anchor");
    privateKey = lib.devAccountKey(Number(process.env.ANCHOR_DEV_ACCOUNT ?? 4));
  }
  const registry = await lib.AnchorRegistryClient.connect({ rpcUrl: globals().rpc, address, privateKey });
  try {
    return await fn(registry);
  } finally {
    registry.close();
  }
}

withTrustOptions(program
  .command("check-report")
  .description("verify a signed notary report as anyone can: the notary's signature, the bundle it covers (checked again with your trust anchors), and the report's anchor on chain")
  .argument("<file>", "a signed report (as written by `notary report --signed`)")
  .option("--offline", "skip the chain (its checks are reported as cannot-check)", false))
  .action(run(async (file: string, opts: TrustFlags & { offline: boolean }) => {
    const input = readJson(file);
    const trust = trustFrom(opts);
    const { registries } = opts.offline ? { registries: [] } : await trustedClients(trust);
    let result: Awaited<ReturnType<typeof lib.checkNotaryReport>>;
    try {
      result = await lib.checkNotaryReport(input, { trust, registry: registries });
    } finally {
      for (const r of registries) r.close();
    }
    if (globals().json) out(JSON.stringify({ verified: result.verified, notary: result.notary, reportNumber: result.subject?.reportNumber, checks: result.checks }, null, 2));
    else {
      const mark = { pass: c.green("pass"), fail: c.red("FAIL"), "cannot-check": c.yellow("cannot-check") } as const;
      out(table([["check", "result", "detail"], ...result.checks.map((ch) => [ch.check, mark[ch.status], ch.code ? `${ch.code}: ${ch.detail}` : ch.detail])]));
      out(result.verified ? c.green(`\nVERIFIED: report ${result.subject?.reportNumber} by ${result.notary}`) : c.red("\n" + verdictWords(result.checks)));
    }
    const failed = result.checks.some((ch) => ch.status === "fail");
    process.exit(result.verified ? EXIT.ok : failed ? EXIT.failed : EXIT.cannotCheck);
  }));

program
  .command("init")
  .description("create this notary's identity (a did:key; the issuer's admin registers it as a notary)")
  .action(run(async () => {
    const { did } = await withNotary(async (agent) => (await lib.ensureIdentifier(agent, "notary")));
    out(globals().json ? JSON.stringify({ did }) : `notary identity ${c.bold(did)}: ask the issuer's admin to register it (PUT /admin/notaries)`);
  }));

withTrustOptions(program
  .command("collect")
  .description("as a registered notary, fetch the receipts about a grant, a pseudonym or a time range from a merchant, and build bundles")
  .requiredOption("--verifier <url>", "the merchant's service")
  .option("--grant <id>", "one grant")
  .option("--pseudonym <did>", "one pseudonymous account")
  .option("--from <iso>", "time range start")
  .option("--to <iso>", "time range end")
  .requiredOption("--out-dir <dir>", "where to write one evidence bundle per grant"))
  .action(run(async (opts: TrustFlags & { verifier: string; grant?: string; pseudonym?: string; from?: string; to?: string; outDir: string }) => {
    const query = new URLSearchParams(Object.entries({ grantId: opts.grant, pseudonym: opts.pseudonym, from: opts.from, to: opts.to }).filter(([, v]) => v) as Array<[string, string]>);
    if (![...query.keys()].length) throw new AgentError("ERR_INVALID_INPUT", "name --grant, --pseudonym or --from/--to");
    const path = `/notary/receipts?${query}`;
    const written: string[] = [];
    await withNotary(async (agent) => {
      const id = await lib.ensureIdentifier(agent, "notary");
      const merchant = await reaching("merchant", opts.verifier, () => lib.fetchJson<{ did: string }>(new URL("/.well-known/merchant", opts.verifier).href));
      const authorization = await lib.notaryAuthorization({ did: id.did, signer: lib.identifierSigner(agent, id) }, merchant.did, "GET", path);
      type Anchored = (InclusionProof & { status: string }) | null;
      const answer = await lib.fetchJson<{ receipts: Array<{ grantId: string; consentReceipt: string; grantReceipt: string; anchors: { consent: Anchored; grant: Anchored }; withdrawal?: { receipt: string; acknowledgement: string; anchors: { receipt: Anchored; acknowledgement: Anchored } } }> }>(new URL(path, opts.verifier).href, { headers: { authorization } });
      lib.ensurePrivateDir(opts.outDir);
      // Roots are looked up on the registry this notary trusts, never the one the merchant names.
      const registry = await lib.AnchorRegistryClient.connect({ rpcUrl: globals().rpc, address: trustFrom(opts).contracts[0]! });
      try {
        for (const r of answer.receipts) {
          const { consent, grant } = r.anchors;
          const w = r.withdrawal;
          if (consent?.status !== "anchored" || grant?.status !== "anchored" || (w && (w.anchors.receipt?.status !== "anchored" || w.anchors.acknowledgement?.status !== "anchored"))) {
            out(c.yellow(`${r.grantId}: not anchored yet, skipped`));
            continue;
          }
          const withdrawal = w ? { receipt: w.receipt, acknowledgement: w.acknowledgement, proofs: { receipt: w.anchors.receipt!, acknowledgement: w.anchors.acknowledgement! } } : undefined;
          const bundle = await lib.buildEvidenceBundle({ consentReceipt: r.consentReceipt, grantReceipt: r.grantReceipt, proofs: { consent, grant }, registry, withdrawal });
          const file = join(opts.outDir, `${r.grantId}.json`);
          lib.writePrivateFile(file, JSON.stringify(bundle, null, 2));
          written.push(file);
        }
      } finally {
        registry.close();
      }
    });
    out(globals().json ? JSON.stringify({ written }) : `${written.length} evidence bundle(s) written to ${opts.outDir}`);
  }));

program
  .command("attest")
  .description("upload an identity you verified in person, with the portrait you took, to the issuer; prints the credential offer for the person")
  .requiredOption("--issuer <url>", "the identity issuer")
  .requiredOption("--id-number <n>", "the 18-character resident ID number")
  .requiredOption("--full-name <name>", "as on the ID document")
  .requiredOption("--family-name <name>", "as on the ID document")
  .requiredOption("--given-name <name>", "as on the ID document")
  .option("--birth-date <yyyy-mm-dd>", "as on the ID document (default: the one in the ID number)")
  .requiredOption("--portrait <file>", "the portrait you took (PNG or JPEG, at most 2 MiB)")
  .addHelpText("after", "\nRefusals: ERR_IDENTITY_CONFLICT (the person was verified by registry and face; sent to review), ERR_ATTESTATION_REGISTRY_MISMATCH (details or portrait disagree with the registry; sent to review), ERR_FORBIDDEN (not a registered notary).")
  .action(run(async (opts: { issuer: string; idNumber: string; fullName: string; familyName: string; givenName: string; birthDate?: string; portrait: string }) => {
    const parsed = lib.attestedPersonSchema.safeParse({ idNumber: opts.idNumber, fullName: opts.fullName, familyName: opts.familyName, givenName: opts.givenName, birthDate: opts.birthDate ?? lib.validateResidentIdNumber(opts.idNumber.trim().toUpperCase()).birthDate ?? "" });
    if (!parsed.success) throw new AgentError("ERR_INVALID_INPUT", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    let portrait: Buffer;
    try {
      portrait = readFileSync(opts.portrait);
    } catch {
      throw new AgentError("ERR_INVALID_INPUT", `${opts.portrait} cannot be read`);
    }
    const result = await withNotary(async (agent) => {
      const id = await lib.ensureIdentifier(agent, "notary");
      return reaching("issuer", opts.issuer, () => lib.uploadIdentityAttestation({ issuerUrl: opts.issuer, notaryDid: id.did, signer: lib.identifierSigner(agent, id), person: parsed.data, portrait }));
    });
    out(globals().json ? JSON.stringify(result) : `identity accepted; give the person this credential offer:\n${result.credentialOffer}\n${result.qrText}`);
  }));

program
  .command("trace")
  .description("as a registered notary, obtain from the platform the person behind one grant, or one person's trace, under a legal request (logged in their trace and anchored)")
  .requiredOption("--platform <url>", "the platform (issuer service)")
  .requiredOption("--legal-basis <text>", "the legal basis of the request (e.g. the article and order)")
  .requiredOption("--case <reference>", "the case reference")
  .option("--receipt <hash>", "one grant, by the sha-256 (hex) of its consent or grant receipt")
  .option("--merchant <did>", "one grant, by the merchant's DID (with --grant)")
  .option("--grant <id>", "the merchant's grant id (with --merchant)")
  .option("--id-number <number>", "one person, by ID number")
  .option("--out <file>", "also write the answer as JSON here")
  .action(run(async (opts: { platform: string; legalBasis: string; case: string; receipt?: string; merchant?: string; grant?: string; idNumber?: string; out?: string }) => {
    const subject: LegalSubject | undefined = opts.receipt ? { receipt_hash: opts.receipt } : opts.merchant && opts.grant ? { merchant: opts.merchant, grant_id: opts.grant } : opts.idNumber ? { id_number: opts.idNumber } : undefined;
    if (!subject) throw new AgentError("ERR_INVALID_INPUT", "name --receipt HASH, --merchant DID with --grant ID, or --id-number");
    const platform = await reaching("platform", opts.platform, () => lib.fetchJson<{ did: string }>(new URL("/.well-known/issuer", opts.platform).href));
    const answer = await withNotary(async (agent) => {
      const id = await lib.ensureIdentifier(agent, "notary");
      const request = await lib.signLegalRequest({ did: id.did, signer: lib.identifierSigner(agent, id) }, platform.did, { legalBasis: opts.legalBasis, caseReference: opts.case, subject });
      return reaching("platform", opts.platform, () => lib.requestFromPlatform(opts.platform, request));
    });
    if (opts.out) lib.writePrivateFile(opts.out, JSON.stringify(answer, null, 2));
    if (globals().json) return out(JSON.stringify(answer));
    out(`${c.bold(answer.identity.fullName)} (${answer.identity.idNumber}, born ${answer.identity.birthDate})`);
    out(table([["when", "what", "merchant / notary", "level", "claims"], ...answer.trace.map((e) => (e.kind === "grant" ? [e.grantedAt.slice(0, 19), "grant", e.merchant.name, e.level, e.claimNames.join(",")] : [e.accessedAt.slice(0, 19), "legal access", e.notary.name, e.caseReference, ""]))]));
    out(c.dim(`this access is logged in the person's trace and anchored (record ${answer.access.recordHash.slice(0, 16)}…)`));
  }));

withTrustOptions(program
  .command("console")
  .description("the notary console as a web page: upload a bundle, read every check, print the report")
  .option("--port <n>", "port (0: a free one)", "7200")
  .option("--host <address>", "address to bind", "127.0.0.1")
  .option("--attest-to <url>", "also offer in-person identity uploads (the /attest page) to this issuer, signed with this notary's key"))
  .action(run(async (opts: TrustFlags & { port: string; host: string; attestTo?: string }) => {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AgentError("ERR_INVALID_INPUT", "--port must be a port number");
    const hosts: string[] = [];
    const trust = trustFrom(opts);
    if (opts.attestTo) {
      // The notary's key stays open while the console runs (uploads are signed with it).
      return withNotary(async (agent) => {
        const id = await lib.ensureIdentifier(agent, "notary");
        const app = lib.createNotaryConsoleApp({ rpcUrl: globals().rpc, trust, allowedHosts: () => hosts, attest: { issuerUrl: opts.attestTo!, notaryDid: id.did, signer: lib.identifierSigner(agent, id) } });
        await serveConsole(app, opts.host, port, hosts);
      });
    }
    const app = lib.createNotaryConsoleApp({ rpcUrl: globals().rpc, trust, allowedHosts: () => hosts });
    await serveConsole(app, opts.host, port, hosts);
  }));

async function serveConsole(app: ReturnType<typeof lib.createNotaryConsoleApp>, host: string, port: number, hosts: string[]): Promise<void> {
  const server = await lib.listenOn(app, host, port, hosts);
  out(globals().json ? JSON.stringify({ event: "listening", url: server.url }) : `notary console at ${c.bold(server.url)}, checking against ${globals().rpc} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.close();
}

await program.parseAsync(process.argv);
