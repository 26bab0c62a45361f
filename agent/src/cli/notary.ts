import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { ensurePrivateDir, privateUmask, writePrivateFile } from "../stores/private-files.js";
import { homedir } from "node:os";
import { join } from "node:path";
import { createRoleAgent, ensureIdentifier, identifierSigner, type RoleAgent } from "../identity/agent.js";
import { LevelDatabase } from "../stores/level-store.js";
import { notaryAuthorization } from "../notary/access.js";
import { renderEvidenceReport } from "../notary/report.js";
import { createNotaryConsoleApp } from "../notary/console.js";
import { listenOn } from "../web/listen.js";
import { evidenceBundleSchema, type EvidenceBundle, type InclusionProof } from "../notary/evidence.js";
import { z } from "zod";
import { AgentError } from "../errors.js";
import { AnchorRegistryClient, DEFAULT_DEPLOYMENT_FILE, DEFAULT_RPC_URL } from "../anchoring/registry-contract.js";
import { buildEvidenceBundle, verifyEvidenceBundle, type EvidenceReport } from "../notary/evidence.js";
import { connectTrustedRegistries, loadTrustAnchors, type TrustAnchors } from "../notary/trust.js";
import { receiptHash } from "../receipts/receipts.js";
import { fetchJson } from "../http/json-client.js";
import { ask, c, EXIT, fail, out, table } from "./common.js";

// Everything this command writes (LevelDB files, bundles, reports, backups) is private to its user.
privateUmask();
const program = new Command("notary")
  .description("The notary: turns receipts into evidence bundles and verifies them offline and against the chain.")
  .option("--rpc <url>", "chain endpoint (env CHAIN_RPC_URL)", process.env.CHAIN_RPC_URL ?? DEFAULT_RPC_URL)
  .option("--dir <path>", "the notary's key folder (env NOTARY_DIR)", process.env.NOTARY_DIR ?? join(homedir(), ".realname-notary"))
  .addOption(new Option("--passphrase <p>", "seals the notary's keys (env NOTARY_PASSPHRASE; asked for on a terminal)").env("NOTARY_PASSPHRASE"))
  .option("--json", "machine-readable output", false)
  .showHelpAfterError()
  .addHelpText("after", "\nExit codes: 0 all checks pass, 1 a check failed, 2 bad usage, 3 nothing failed but something could not be checked, 4 refused, 5 unreachable.");

const globals = () => program.opts<{ rpc: string; json: boolean; dir: string; passphrase?: string }>();

async function withNotary<T>(fn: (agent: RoleAgent) => Promise<T>): Promise<T> {
  const passphrase = globals().passphrase ?? (await ask("Notary passphrase: ", true));
  const db = await LevelDatabase.open(globals().dir);
  try {
    const { agent } = await createRoleAgent(db, passphrase);
    return await fn(agent);
  } finally {
    await db.close();
  }
}
const run = (fn: (...args: any[]) => Promise<unknown>) => async (...args: any[]) => {
  try {
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
  loadTrustAnchors({ trustFile: opts.trust, deploymentFile: opts.deployment, rpcUrl: globals().rpc, contracts: opts.contract, issuers: opts.issuer, chainId: opts.chainId });

/** Clients of every trusted registry, or why the chain could not be asked (its checks become cannot-check). */
async function trustedClients(trust: TrustAnchors): Promise<{ registries: AnchorRegistryClient[]; chainProblem?: string }> {
  try {
    return { registries: await connectTrustedRegistries(trust) };
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

const proofSchema = z.object({ salt: z.string(), proof: z.array(z.string()), root: z.string() });
const receiptsFileSchema = z.object({
  consentReceipt: z.string(),
  grantReceipt: z.string(),
  proofs: z.object({ consent: proofSchema, grant: proofSchema }).optional(),
});

withTrustOptions(program
  .command("evidence"))
  .description("build an evidence bundle from a grant's receipts (as written by `wallet evidence` or the demo)")
  .argument("<receipts-file>", "JSON with consentReceipt, grantReceipt and (optionally) their proofs")
  .option("--verifier <url>", "fetch the inclusion proofs from this merchant service instead")
  .requiredOption("--out <file>", "where to write the bundle")
  .action(run(async (file: string, opts: TrustFlags & { verifier?: string; out: string }) => {
    const parsed = receiptsFileSchema.safeParse(readJson(file));
    if (!parsed.success) throw new AgentError("ERR_INVALID_INPUT", `${file} does not hold consentReceipt and grantReceipt`);
    const input = parsed.data;
    let proofs = input.proofs;
    if (!proofs) {
      if (!opts.verifier) throw new AgentError("ERR_INVALID_INPUT", "the file has no proofs: pass --verifier URL to fetch them");
      const get = (jwt: string) => fetchJson<{ status: string; salt: string; proof: string[]; root: string }>(new URL(`/anchors/${receiptHash(jwt)}`, opts.verifier).href);
      const [consent, grant] = await Promise.all([get(input.consentReceipt), get(input.grantReceipt)]);
      if (consent.status !== "anchored" || grant.status !== "anchored") throw new AgentError("ERR_NOT_ANCHORED", "the receipts are not anchored yet");
      proofs = { consent, grant };
    }
    const registry = await AnchorRegistryClient.connect({ rpcUrl: globals().rpc, address: trustFrom(opts).contracts[0]! });
    try {
      const bundle = await buildEvidenceBundle({ consentReceipt: input.consentReceipt, grantReceipt: input.grantReceipt, proofs, registry });
      writePrivateFile(opts.out, JSON.stringify(bundle, null, 2));
      out(globals().json ? JSON.stringify({ written: opts.out }) : `${c.green("evidence bundle")} written to ${opts.out}`);
    } finally {
      registry.close();
    }
  }));

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
      report = await verifyEvidenceBundle(bundle, { trust, registry: registries });
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
      out(report.verified ? c.green(`\nVERIFIED: every check passed${report.summary?.withdrawal ? " (the grant was withdrawn, as shown above)" : ""}`) : c.red("\nNOT VERIFIED"));
    }
    const failed = report.checks.some((ch) => ch.status === "fail");
    process.exit(report.verified ? EXIT.ok : failed ? EXIT.failed : EXIT.cannotCheck);
  }));

withTrustOptions(program
  .command("report")
  .description("write a human-readable evidence report (HTML, printable to PDF) after verifying the bundle against this notary's trust anchors")
  .argument("<bundle>", "an evidence bundle JSON file")
  .requiredOption("--out <file>", "where to write the HTML"))
  .action(run(async (file: string, opts: TrustFlags & { out: string }) => {
    const bundle = readJson(file) as EvidenceBundle;
    if (!evidenceBundleSchema.safeParse(bundle).success) throw new AgentError("ERR_INVALID_INPUT", `${file} is not an evidence bundle`);
    const trust = trustFrom(opts);
    const { registries } = await trustedClients(trust);
    try {
      const report = await verifyEvidenceBundle(bundle, { trust, registry: registries });
      writePrivateFile(opts.out, renderEvidenceReport(bundle, report, { generatedAt: new Date(), rpcUrl: registries.length ? globals().rpc : undefined }));
      out(globals().json ? JSON.stringify({ written: opts.out, verified: report.verified }) : `report written to ${opts.out} (${report.verified ? c.green("verified") : c.red("not verified")})`);
    } finally {
      for (const r of registries) r.close();
    }
  }));

program
  .command("init")
  .description("create this notary's identity (a did:key; the issuer's admin registers it as a notary)")
  .action(run(async () => {
    const { did } = await withNotary(async (agent) => (await ensureIdentifier(agent, "notary")));
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
      const id = await ensureIdentifier(agent, "notary");
      const merchant = await fetchJson<{ did: string }>(new URL("/.well-known/merchant", opts.verifier).href);
      const authorization = await notaryAuthorization({ did: id.did, signer: identifierSigner(agent, id) }, merchant.did, "GET", path);
      type Anchored = (InclusionProof & { status: string }) | null;
      const answer = await fetchJson<{ receipts: Array<{ grantId: string; consentReceipt: string; grantReceipt: string; anchors: { consent: Anchored; grant: Anchored }; withdrawal?: { receipt: string; acknowledgement: string; anchors: { receipt: Anchored; acknowledgement: Anchored } } }> }>(new URL(path, opts.verifier).href, { headers: { authorization } });
      ensurePrivateDir(opts.outDir);
      // Roots are looked up on the registry this notary trusts, never the one the merchant names.
      const registry = await AnchorRegistryClient.connect({ rpcUrl: globals().rpc, address: trustFrom(opts).contracts[0]! });
      try {
        for (const r of answer.receipts) {
          const { consent, grant } = r.anchors;
          const w = r.withdrawal;
          if (consent?.status !== "anchored" || grant?.status !== "anchored" || (w && (w.anchors.receipt?.status !== "anchored" || w.anchors.acknowledgement?.status !== "anchored"))) {
            out(c.yellow(`${r.grantId}: not anchored yet, skipped`));
            continue;
          }
          const withdrawal = w ? { receipt: w.receipt, acknowledgement: w.acknowledgement, proofs: { receipt: w.anchors.receipt!, acknowledgement: w.anchors.acknowledgement! } } : undefined;
          const bundle = await buildEvidenceBundle({ consentReceipt: r.consentReceipt, grantReceipt: r.grantReceipt, proofs: { consent, grant }, registry, withdrawal });
          const file = join(opts.outDir, `${r.grantId}.json`);
          writePrivateFile(file, JSON.stringify(bundle, null, 2));
          written.push(file);
        }
      } finally {
        registry.close();
      }
    });
    out(globals().json ? JSON.stringify({ written }) : `${written.length} evidence bundle(s) written to ${opts.outDir}`);
  }));

withTrustOptions(program
  .command("console")
  .description("the notary console as a web page: upload a bundle, read every check, print the report")
  .option("--port <n>", "port (0: a free one)", "7200")
  .option("--host <address>", "address to bind", "127.0.0.1"))
  .action(run(async (opts: TrustFlags & { port: string; host: string }) => {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AgentError("ERR_INVALID_INPUT", "--port must be a port number");
    const hosts: string[] = [];
    const trust = trustFrom(opts);
    const app = createNotaryConsoleApp({ rpcUrl: globals().rpc, trust, allowedHosts: () => hosts });
    const server = await listenOn(app, opts.host, port, hosts);
    out(globals().json ? JSON.stringify({ event: "listening", url: server.url }) : `notary console at ${c.bold(server.url)}, checking against ${globals().rpc} (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await server.close();
  }));

await program.parseAsync(process.argv);
