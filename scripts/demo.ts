/**
 * `npm run demo`: the whole product on one machine. An embedded Hardhat chain (or CHAIN_RPC_URL), the
 * registry deployed, the issuer and two merchants' verifiers as real processes on free loopback ports;
 * one person registers once and grants each merchant each of the three levels; a notary turns every
 * grant's receipts into an evidence bundle and verifies it against the chain. `--web` then keeps it all up
 * and serves the web pages: the wallet, each merchant's checkout, the notary console.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { tmpdir } from "node:os";
import {
  AnchorRegistryClient,
  fetchJson,
  HolderWallet,
  REPO_ROOT,
  createNotaryConsoleApp,
  listenOn,
  serveWalletWeb,
  resolveChain,
  loadTrustAnchors,
  verifyEvidenceBundle,
  writeDeployment,
  type GrantEntry,
  type GrantLevel,
} from "@realname/agent";
import { freePort, startEmbeddedChain, startService, type EmbeddedChain, type ServiceProcess } from "./lib/devnet.js";
import { style } from "./lib/style.js";
import { makeRegistryFixture } from "./lib/registry-fixture.js";

const args = process.argv.slice(2);
const web = args.includes("--web");
const keep = args.includes("--keep") || web;
const outDir = join(REPO_ROOT, "demo-output");
const say = (s = "") => process.stdout.write(s + "\n");
const section = (title: string) => say(`\n${style.bold(style.cyan(`== ${title}`))}`);

/** The person who registers: the first of a generated registry (scripts/make-registry.ts), set in main(). */
let PERSON = { fullName: "", idNumber: "", portrait: "" };
const REGISTRY_SIZE = Number(process.env.DEMO_REGISTRY_SIZE ?? 2000);
const ADMIN_TOKEN = randomBytes(24).toString("base64url");
const PIN = "246810";
const MERCHANTS = [
  { key: "bookshop", name: "星河书店 Galaxy Books", devAccount: "1" },
  { key: "travel", name: "云游旅行 Cloudtrip Travel", devAccount: "3" },
];
type Ask = { id: string; title: string; level: GrantLevel; purpose: string; claims?: string[]; ageOver18?: boolean; retentionDays: number };
const ASKS: Record<string, Ask[]> = {
  bookshop: [
    { id: "adult-book", title: "Buy an age-restricted book", level: "verified", purpose: "Sell an age-restricted book to a real-name-verified adult", ageOver18: true, retentionDays: 0 },
    { id: "membership", title: "Join the readers' club (or come back)", level: "pseudonymous", purpose: "Open a member account without sharing identity", retentionDays: 365 },
    { id: "invoice", title: "Get an invoice in your legal name", level: "full", purpose: "Issue an invoice in the buyer's legal name", claims: ["full_name"], retentionDays: 180 },
  ],
  travel: [
    { id: "quote", title: "Get a quote", level: "verified", purpose: "Confirm a real-name-verified customer before a quote", retentionDays: 0 },
    { id: "profile", title: "Keep a traveller profile", level: "pseudonymous", purpose: "Keep a traveller profile without identity data", retentionDays: 365 },
    { id: "train-ticket", title: "Book a train ticket (real-name ticketing)", level: "full", purpose: "Book a train ticket in the traveller's legal name (real-name ticketing)", claims: ["full_name", "id_number"], retentionDays: 90 },
  ],
};
/** The checkout page asks for exactly what the platform registered for the merchant. */
const checkoutOffers = (key: string) => JSON.stringify(ASKS[key]!.map((a) => ({ id: a.id, title: a.title, level: a.level, purpose: a.purpose, retentionDays: a.retentionDays, claims: a.claims ?? [], ageOver18: a.ageOver18 ?? false })));

const started: Array<{ stop(): Promise<void> }> = [];
let chain: EmbeddedChain | undefined;

async function shutdown(): Promise<void> {
  await Promise.allSettled(started.map((s) => s.stop()));
  await chain?.close().catch(() => undefined);
}

async function main(): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  for (const d of ["credentials", "presentations", "receipts", "evidence"]) mkdirSync(join(outDir, d), { recursive: true });
  const work = join(tmpdir(), `realname-demo-${process.pid}-${Date.now()}`);

  section("Chain");
  let rpcUrl = process.env.CHAIN_RPC_URL;
  if (!rpcUrl) {
    chain = await startEmbeddedChain(0);
    rpcUrl = chain.url;
    say(`embedded Hardhat chain at ${rpcUrl}`);
  } else say(`using the chain at ${rpcUrl}`);
  const deploymentFile = join(outDir, "deployment.json");
  const { deployment, deployed } = await resolveChain({ rpcUrl, deploymentFile, deployIfMissing: true });
  say(`AnchorRegistry ${deployed ? "deployed" : "found"} at ${deployment.address} (chain ${deployment.chainId}); written to demo-output/deployment.json`);

  section("Identity registry");
  // The issuer's registry is a file the generator writes: thousands of invented people with valid GB 11643
  // numbers over a shared pool of drawn portraits; the demo's person is its first, captured "live".
  const people = await makeRegistryFixture({ count: REGISTRY_SIZE, outDir: join(outDir, "registry"), seed: 2026 });
  const livePortrait = join(outDir, "registry", "live-capture.jpg");
  writeFileSync(livePortrait, await people.livePortrait(0));
  PERSON = { fullName: people.people[0]!.fullName, idNumber: people.people[0]!.idNumber, portrait: livePortrait };
  say(`${people.people.length} people written to demo-output/registry/registry.ndjson (IDENTITY_REGISTRY_FILE)`);

  section("Services");
  const issuer = await startService("issuer-service", {
    IDENTITY_REGISTRY_FILE: people.file,
    DATA_DIR: join(work, "issuer"),
    CHAIN_RPC_URL: rpcUrl,
    DEPLOYMENT_FILE: deploymentFile,
    ISSUER_PASSPHRASE: randomBytes(16).toString("hex"),
    ISSUER_DATA_KEY: randomBytes(32).toString("hex"),
    ADMIN_TOKEN,
    ANCHOR_DEV_ACCOUNT: "2",
    ANCHOR_BATCH_AGE_MS: "1000",
  });
  const admin = (path: string, body: unknown, method = "POST") => fetchJson(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  started.push(issuer);
  say(`issuer    ${issuer.url}  ${issuer.did}`);
  // The notary's trust anchors: this deployment's chain and contract, and the issuer whose merchant registry counts.
  writeDeployment({ ...deployment, trustedIssuers: [issuer.did] }, deploymentFile);
  say(`the notary trusts this issuer: recorded in demo-output/deployment.json (its trust file)`);
  const verifiers: Record<string, ServiceProcess> = {};
  const walletPort = web ? await freePort() : 0;
  for (const m of MERCHANTS) {
    const v = await startService("verifier-service", {
      DATA_DIR: join(work, m.key),
      CHAIN_RPC_URL: rpcUrl,
      DEPLOYMENT_FILE: deploymentFile,
      ANCHOR_DEV_ACCOUNT: m.devAccount,
      MERCHANT_NAME: m.name,
      MERCHANT_PASSPHRASE: `demo-${m.key}-passphrase`,
      TRUSTED_ISSUERS: issuer.did,
      ISSUER_URL: issuer.url,
      ANCHOR_BATCH_AGE_MS: "1000",
      CHECKOUT_OFFERS: checkoutOffers(m.key),
      ...(web ? { WALLET_WEB_URL: `http://127.0.0.1:${walletPort}` } : {}),
      REQUEST_VALIDITY_SECONDS: web ? "900" : "300",
    });
    started.push(v);
    verifiers[m.key] = v;
    say(`merchant  ${v.url}  ${m.name}  ${v.did}`);
    // The platform registers the merchant: what it may ask for, and why.
    await admin("/admin/merchants", { did: v.did, name: m.name, maxLevel: "full", purposes: ASKS[m.key]!.map((a) => a.purpose), fullClaims: ["full_name", "id_number"], origins: [new URL(v.url).origin] }, "PUT");
  }

  section(`Registration: ${PERSON.fullName} proves who they are, once`);
  const walletDir = join(work, "wallet");
  const wallet = await HolderWallet.open({ dir: walletDir, pin: PIN });
  let walletOpen = true;
  const closeWallet = async () => {
    if (walletOpen) await wallet.close();
    walletOpen = false;
  };
  started.push({ stop: closeWallet });
  const me = await wallet.init();
  say(`wallet identity ${me.did} (keys sealed under the PIN)`);
  // The wallet app's installation is a capture device: the platform's admin registers its key once.
  const deviceKey = await wallet.deviceKey();
  await admin("/admin/devices", { deviceId: "demo-phone-1", label: `${PERSON.fullName}'s phone (demo)`, publicJwk: deviceKey.publicJwk });
  say(`capture device demo-phone-1 registered by the issuer's admin`);
  say(`${style.dim("the issuer sees:")} name ${PERSON.fullName}, ID number ${PERSON.idNumber}, a live portrait (${readFileSync(PERSON.portrait).length} bytes), signed by the device: once, at registration`);
  const reg = await wallet.register(issuer.url, { fullName: PERSON.fullName, idNumber: PERSON.idNumber, portrait: readFileSync(PERSON.portrait) }, {
    deviceId: "demo-phone-1",
    batchSize: 10,
    confirm: async (masked) => {
      say(`risk control passed; the registry confirmed the identity; the portrait matched the registry photo`);
      say(`${style.dim("the person is shown:")} ${masked.name}  ${masked.idNumber}  ${style.dim("and confirms")}`);
      return true;
    },
  });
  say(`the wallet redeemed the OpenID4VCI offer: ${reg.received} SD-JWT VCs, each bound to its own holder key, each with its own status-list index`);
  const creds = await wallet.credentials();
  writeFileSync(join(outDir, "credentials", "batch.json"), JSON.stringify(await wallet.exportCredentials(), null, 2));
  say(`claims in each credential (all selectively disclosable): ${Object.keys(creds[0]!.claims).filter((k) => !["iss", "iat", "exp", "vct", "cnf"].includes(k)).join(", ")}`);

  const grants: Array<{ merchant: string; entry: GrantEntry; learned: unknown }> = [];
  for (const m of MERCHANTS) {
    const v = verifiers[m.key]!;
    // The bookshop's member comes back: same pseudonym, recognised, no re-verification.
    const visits = [...ASKS[m.key]!, ...(m.key === "bookshop" ? [ASKS.bookshop![1]!] : [])];
    for (const ask of visits) {
      const returning = grants.some((g) => g.merchant === m.key && g.entry.level === ask.level);
      section(`${m.name} asks for "${ask.level}"${returning ? " again (a returning member)" : ""}`);
      const created = await fetchJson<{ requestId: string; authorizationRequest: string; transactionSecret: string }>(`${v.url}/requests`, {
        body: { level: ask.level, purpose: ask.purpose, retentionDays: ask.retentionDays, claims: ask.claims ?? [], ageOver18: ask.ageOver18 ?? false },
      });
      const preview = await wallet.preview(created.authorizationRequest);
      say(`${style.dim("the wallet shows the person:")} ${preview.merchant.name} wants ${style.bold(preview.claimNames.join(", "))}${preview.pseudonym ? " + a pseudonym for this merchant" : ""}`);
      say(`${style.dim("  purpose:")} ${preview.request.purpose}  ${style.dim("retention:")} ${preview.request.retention_days} days`);
      const entry = await wallet.answer(preview);
      // The merchant's front end (transaction secret) sees the level only; the browser the wallet sends back
      // (its redirect with the one-time response code) sees what was shared.
      const learned = await fetchJson<Record<string, unknown>>(entry.returnTo ?? `${v.url}/requests/${created.requestId}/result`, { headers: { "x-transaction-secret": created.transactionSecret } });
      say(`${style.green("the merchant learned:")} ${JSON.stringify({ level: learned.level, claims: learned.claims, ...(learned.account ? { account: learned.account } : {}) })}`);
      grants.push({ merchant: m.key, entry, learned });
      const base = `${m.key}-${ask.level}${returning ? "-return" : ""}`;
      writeFileSync(join(outDir, "presentations", `${base}.txt`), wallet.presentationOf(entry) + "\n");
      writeFileSync(join(outDir, "receipts", `${base}.json`), JSON.stringify({ consentReceipt: entry.consentReceipt, grantReceipt: entry.grantReceipt }, null, 2));
    }
  }

  section("Afterwards: a member logs in, a grant is withdrawn");
  const bookshop = verifiers.bookshop!;
  const challenge = await fetchJson<{ challengeUri: string }>(`${bookshop.url}/login/challenges`, { method: "POST", body: {} });
  const login = await wallet.login(challenge.challengeUri);
  say(`the bookshop's member logs in by proving the pseudonym, no identity data: ${JSON.stringify(login.account)}`);
  const travelFull = grants.find((g) => g.merchant === "travel" && g.entry.level === "full")!;
  const withdrawn = await wallet.withdraw(travelFull.entry.grantId);
  const afterwards = await fetchJson<Record<string, unknown>>(`${verifiers.travel!.url}/grants/${travelFull.entry.grantId}`);
  say(`the person withdraws the travel agency's full grant; the agency acknowledges (signed, anchored) and now holds: ${JSON.stringify(afterwards)}`);
  writeFileSync(join(outDir, "receipts", "travel-full-withdrawal.json"), JSON.stringify(withdrawn.withdrawal, null, 2));

  section("Unlinkability across merchants");
  const pseudonyms = grants.filter((g) => g.entry.pseudonym).map((g) => `${g.merchant}: ${g.entry.pseudonym}`);
  say(pseudonyms.join("\n"));
  const byMerchant = (k: string) => new Set(grants.filter((g) => g.merchant === k).map((g) => JSON.parse(Buffer.from(g.entry.consentReceipt.split(".")[1]!, "base64url").toString()).iss));
  const shared = [...byMerchant("bookshop")].filter((d) => byMerchant("travel").has(d));
  say(`holder keys seen by both merchants: ${shared.length === 0 ? style.green("none") : style.red(shared.join(", "))}`);

  section("Anchoring: receipts batched into Merkle trees, roots on chain");
  for (const g of grants) {
    let entry = g.entry;
    for (let i = 0; i < 60; i++) {
      entry = await wallet.refreshAnchors(entry.grantId);
      if (entry.anchors?.consent?.status === "anchored" && entry.anchors?.grant?.status === "anchored") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    g.entry = entry;
    const file = join(outDir, "receipts", `${g.merchant}-${entry.level}${grants.indexOf(g) !== grants.findIndex((x) => x.merchant === g.merchant && x.entry.level === entry.level) ? "-return" : ""}.json`);
    writeFileSync(file, JSON.stringify({ consentReceipt: entry.consentReceipt, grantReceipt: entry.grantReceipt, proofs: { consent: entry.anchors?.consent, grant: entry.anchors?.grant } }, null, 2));
    say(`${g.merchant}/${g.entry.level}: consent ${entry.anchors?.consent?.status} under root ${entry.anchors?.consent?.root.slice(0, 18)}…, grant ${entry.anchors?.grant?.status}`);
  }

  section("Notary: evidence bundles, verified offline and against the chain");
  const registry = await AnchorRegistryClient.connect({ rpcUrl, address: deployment.address });
  started.push({ stop: async () => registry.close() });
  const trust = loadTrustAnchors({ trustFile: deploymentFile, rpcUrl });
  let allVerified = true;
  const seen = new Set<string>();
  for (const g of grants) {
    // The wallet's own export: receipts, proofs, snapshots and (for the withdrawn grant) the withdrawal, all anchored.
    let bundle;
    for (let i = 0; ; i++) {
      try {
        bundle = await wallet.evidence(g.entry.grantId, { rpcUrl });
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== "ERR_NOT_ANCHORED" || i >= 60) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    let name = `${g.merchant}-${g.entry.level}`;
    if (seen.has(name)) name += "-return";
    seen.add(name);
    const file = join(outDir, "evidence", `${name}.json`);
    writeFileSync(file, JSON.stringify(bundle, null, 2));
    const report = await verifyEvidenceBundle(JSON.parse(readFileSync(file, "utf8")), { trust, registry });
    allVerified &&= report.verified;
    const passed = report.checks.filter((c) => c.status === "pass").length;
    say(`${report.verified ? style.green("VERIFIED") : style.red("FAILED")}  demo-output/evidence/${name}.json  ${passed}/${report.checks.length} checks, block ${bundle.anchors.grant.blockNumber}${report.summary?.withdrawal ? style.bold(`  (WITHDRAWN ${report.summary.withdrawal.withdrawnAt})`) : ""}`);
    if (!report.verified) for (const c of report.checks.filter((c) => c.status !== "pass")) say(`   ${c.check}: ${c.status} ${c.detail}`);
  }
  writeFileSync(join(outDir, "summary.json"), JSON.stringify({ rpcUrl, deployment, issuer: issuer.did, merchants: Object.fromEntries(MERCHANTS.map((m) => [m.key, verifiers[m.key]!.did])), grants: grants.map((g) => ({ merchant: g.merchant, level: g.entry.level, learned: g.learned })) }, null, 2));

  say(`\nCheck a bundle yourself: npx notary verify demo-output/evidence/travel-full.json --rpc ${rpcUrl} --trust demo-output/deployment.json${keep ? "" : "   (needs --keep: the embedded chain stops with the demo)"}`);
  if (!allVerified) throw new Error("an evidence bundle did not verify");
  if (web) {
    // The same wallet, now behind its web pages (the demo's own handle lets go of it first).
    await closeWallet();
    const walletWeb = await serveWalletWeb({ dir: walletDir, rpcUrl, port: walletPort });
    started.push({ stop: () => walletWeb.close() });
    const consoleHosts: string[] = [];
    const notaryConsole = await listenOn(createNotaryConsoleApp({ rpcUrl, trust, allowedHosts: () => consoleHosts }), "127.0.0.1", 0, consoleHosts);
    started.push({ stop: () => notaryConsole.close() });
    section("Web pages");
    say(`${style.bold("wallet")}          ${walletWeb.url}   (PIN ${PIN}; ${PERSON.fullName}'s wallet with the grants above)`);
    for (const m of MERCHANTS) say(`${style.bold("checkout")}        ${verifiers[m.key]!.url}/checkout   ${m.name}`);
    say(`${style.bold("notary console")}  ${notaryConsole.url}   (upload a bundle from demo-output/evidence/, or one the wallet page downloads)`);
    say(style.dim("Try: open a checkout, pick what to ask, click \"Open in your web wallet\", read what would leave the wallet, enter the PIN."));
  }
  if (keep) {
    say(style.bold(`\n${web ? "--web" : "--keep"}: chain and services stay up until Ctrl-C`));
    await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  }
}

main()
  .then(async () => {
    await shutdown();
    process.exit(0);
  })
  .catch(async (error) => {
    process.stderr.write(`${style.red("demo failed:")} ${error?.code ? `${error.code}: ` : ""}${error?.message ?? error}\n`);
    // What the services logged as errors, so a failed demo explains itself.
    for (const s of started as Array<{ output?: string[] }>) if (s.output) process.stderr.write(s.output.filter((l) => /"level":"error"|cannot start/.test(l)).join("\n"));
    await shutdown();
    process.exit(1);
  });
