import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { privateUmask, writePrivateFile } from "../stores/private-files.js";
import { homedir } from "node:os";
import { join } from "node:path";
import type { GrantEntry, HolderWallet } from "../holder/wallet.js";
import type { GrantLevel } from "../sdjwt/identity-credential.js";
import { DEFAULT_RPC_URL } from "../anchoring/chain-defaults.js";
import { AgentError } from "../errors.js";
import { ask, c, CliError, claimLabel, commandLine, fail, levelLabel, out, reaching, requireExisting, t, table } from "./common.js";
import { formatDate, formatTime } from "../i18n/index.js";

// The wallet library (keys, SD-JWT, LevelDB, ethers) loads only when a command runs, never for --help.
const walletLibrary = () => import("../holder/wallet.js");

// Everything this command writes (LevelDB files, bundles, reports, backups) is private to its user.
privateUmask();
const program = commandLine(new Command("wallet"))
  .description("The person's identity wallet: register once, then grant merchants exactly the level you choose.")
  .option("--dir <path>", "wallet folder (env WALLET_DIR)", process.env.WALLET_DIR ?? join(homedir(), ".realname-wallet"))
  .addOption(new Option("--pin <pin>", "the wallet PIN (env WALLET_PIN; asked for on a terminal if absent)").env("WALLET_PIN"))
  .option("--json", "machine-readable output", false)
  .addHelpText("after", "\nExit codes: 0 ok, 2 bad usage (or no wallet at --dir), 4 refused (see the error code), 5 a service or the chain is unreachable.");

type Globals = { dir: string; pin?: string; json: boolean };
const globals = () => program.opts<Globals>();

async function withWallet<T>(fn: (wallet: HolderWallet) => Promise<T>, options: { create?: boolean } = {}): Promise<T> {
  const g = globals();
  // A mistyped --dir must not quietly become a new, empty wallet: only `init` creates one.
  if (!options.create) requireExisting(g.dir);
  const pin = g.pin ?? (await ask("Wallet PIN: ", { secret: true, what: "pin", flag: "--pin / WALLET_PIN" }));
  // A batch refresh an answer started runs while the command finishes; closing waits for it, and its outcome
  // goes to stderr (never into --json output, never an exit code: the answer itself already succeeded).
  const { HolderWallet } = await walletLibrary();
  const wallet = await HolderWallet.open({
    dir: g.dir,
    pin,
    onBackgroundRefresh: (o) => process.stderr.write("received" in o ? `fetched a fresh batch of ${o.received} credentials\n` : `could not fetch a fresh batch (${o.error.code}): run \`wallet refresh\` later\n`),
  });
  try {
    return await fn(wallet);
  } finally {
    await wallet.close();
  }
}

/** `--batch`: how many credentials (each with its own key) to ask for; the issuer allows 1 to 10. */
function parseBatch(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new AgentError("ERR_INVALID_INPUT", "--batch must be a whole number from 1 to 10");
  return n;
}

/** A claim value as people read it (yes/no for booleans, in the chosen language). */
const shownValue = (v: unknown): string => (v === true ? t("values.yes") : v === false ? t("values.no") : typeof v === "string" || typeof v === "number" ? String(v) : JSON.stringify(v));

/** The issuer a credential offer names (for saying which service is down), else the offer itself. */
function offerIssuer(offer: string): string {
  try {
    const params = new URL(offer).searchParams;
    const inline = params.get("credential_offer");
    return (inline ? (JSON.parse(inline) as { credential_issuer?: string }).credential_issuer : undefined) ?? params.get("credential_offer_uri") ?? offer;
  } catch {
    return offer;
  }
}

const run = (fn: (...args: any[]) => Promise<unknown>) => async (...args: any[]) => {
  try {
    await fn(...args);
  } catch (error) {
    fail(error, globals().json);
  }
};

program
  .command("init")
  .description("create the wallet and its identity (keys sealed under the PIN)")
  .action(run(async () => {
    const { did } = await withWallet((w) => w.init(), { create: true });
    if (globals().json) out(JSON.stringify({ did, dir: globals().dir }));
    else out(`${t("cli.walletReady", { dir: globals().dir })}\n${t("cli.identity", { did: c.bold(did) })}`);
  }));

program
  .command("device-key")
  .description("print this wallet's capture-device public key, for the issuer's admin to register")
  .action(run(async () => {
    const key = await withWallet((w) => w.deviceKey());
    if (globals().json) out(JSON.stringify(key));
    else out(`${t("cli.deviceKey")}\n${JSON.stringify(key.publicJwk)}`);
  }));

program
  .command("register")
  .description("prove your identity to the issuer once (signed by this wallet's registered device) and receive a batch")
  .requiredOption("--issuer <url>", "the identity issuer's URL")
  .requiredOption("--name <name>", "full legal name")
  .requiredOption("--id-number <number>", "18-digit resident ID number")
  .requiredOption("--portrait <file>", "a live portrait (PNG or JPEG)")
  .requiredOption("--device-id <id>", "the id under which this wallet's device key is registered (env WALLET_DEVICE_ID)", process.env.WALLET_DEVICE_ID)
  .option("--batch <n>", "credentials in the batch", "10")
  .option("--yes", "confirm the masked identity without asking (scripts)", false)
  .action(run(async (opts: { issuer: string; name: string; idNumber: string; portrait: string; deviceId: string; batch: string; yes: boolean }) => {
    let portrait: Buffer;
    try {
      portrait = readFileSync(opts.portrait);
    } catch {
      throw new AgentError("ERR_INVALID_INPUT", `cannot read the portrait file ${opts.portrait}`);
    }
    const batchSize = parseBatch(opts.batch);
    const result = await withWallet((w) =>
      reaching("issuer", opts.issuer, () => w.register(opts.issuer, { fullName: opts.name, idNumber: opts.idNumber, portrait }, {
        deviceId: opts.deviceId,
        batchSize,
        confirm: async (masked) => {
          if (!globals().json) out(t("cli.issuerFound", { name: c.bold(masked.name), idNumber: masked.idNumber }));
          if (opts.yes) return true;
          return /^(y(es)?|是)$/i.test((await ask(t("cli.isThisYou"), { what: "confirm", flag: "--yes" })).trim());
        },
      })),
    );
    if (globals().json) out(JSON.stringify(result));
    else out(c.green(t("cli.registered", { count: result.received, issuer: result.issuer })));
  }));

program
  .command("receive")
  .description("redeem a credential offer (the link from a QR code: after a reissue or a notary's attestation)")
  .argument("<offer>", "openid-credential-offer://… link")
  .option("--batch <n>", "credentials in the batch", "10")
  .action(run(async (offer: string, opts: { batch: string }) => {
    const batch = parseBatch(opts.batch);
    const result = await withWallet((w) => reaching("issuer", offerIssuer(offer), () => w.receive(offer, batch)));
    out(globals().json ? JSON.stringify(result) : c.green(t("cli.received", { count: result.received, issuer: result.issuer })));
  }));

program
  .command("credentials")
  .description("list the credentials in the wallet")
  .action(run(async () => {
    const creds = await withWallet((w) => w.credentials());
    if (globals().json) return out(JSON.stringify(creds));
    if (creds.length === 0) return out(t("cli.noCredentials"));
    const h = (k: string) => t(`cli.credentialsHeader.${k}`);
    out(table([[h("holderKey"), h("issuer"), h("expires"), h("shownTo")], ...creds.map((cr) => [cr.holderDid.slice(0, 24) + "…", String(cr.issuer).slice(0, 24) + "…", formatDate(Number(cr.claims.exp) * 1000), cr.usedWith.length ? t("cli.shownTo", { count: cr.usedWith.length }) : c.dim(t("cli.unused"))])]));
    const claims = creds[0]!.claims;
    out("\n" + t("cli.claimsEachHolds", { list: ["full_name", "id_number", "birth_date", "age_over_18", "real_name_verified"].map((k) => `${claimLabel(k)}: ${k === "id_number" ? String(claims[k]).replace(/^(\d{4})\d+(\d{4})$/, "$1**********$2") : shownValue(claims[k])}`).join(", ") }));
  }));

program
  .command("answer")
  .description("answer a merchant's request: checks the merchant, shows what would leave the wallet, then asks for the PIN")
  .argument("<request-uri>", "the link from the merchant's QR code")
  .option("--yes", "do not ask for confirmation (scripts; the PIN is still needed)", false)
  .option("--remember", "remember this choice for this merchant (pre-selected next time; the PIN is still asked)", false)
  .option("--one-tap", "with a verified answer: answer this merchant's verified requests without the PIN next time", false)
  .option("--decline", "decline without asking: the merchant is told access_denied, nothing about you is sent", false)
  .option("--level <level>", "answer at this level instead of the merchant's preferred one (only a level the merchant accepts)")
  .option("--without <claim...>", "switch off these optional claims of a full answer (only claims the merchant marked optional)")
  .action(run(async (requestUri: string, opts: { yes: boolean; remember: boolean; oneTap: boolean; decline: boolean; level?: string; without?: string[] }) => {
    const g = globals();
    const [{ HolderWallet, LOW_BATCH_THRESHOLD }, { checkMerchantRequest }, { messageFor }] = await Promise.all([walletLibrary(), import("../holder/request-check.js"), import("../holder/messages.js")]);
    requireExisting(g.dir);
    const settings = await HolderWallet.readSettings(g.dir);
    if (!settings.issuerUrl || !settings.issuerDid) throw new AgentError("ERR_NO_CREDENTIAL", messageFor("ERR_NO_CREDENTIAL", "register first"));
    // Fetched once, checked and shown before the PIN is asked for: nothing secret is needed to say what would
    // be shared. The answer is built from this very request object; it is never fetched again.
    const { issuerUrl, issuerDid } = settings;
    const checked = await reaching("merchant", requestUri, () => checkMerchantRequest({ requestUri, issuerUrl, issuerDid, now: new Date(), x509TrustAnchors: settings.platformCa ?? [] }));
    const r = checked.request;
    const m = checked.merchant;
    const { acceptableLevels, assertChoice, choiceClaimNames, choiceOf } = await import("../grants/choice.js");
    // The person's choice within what the merchant stated; refused (with its code) before the PIN is asked;
    // an unknown level is simply not one the merchant accepts (ERR_LEVEL_NOT_ACCEPTED).
    const level = (opts.level ?? r.level) as GrantLevel;
    const choice = choiceOf(r, level, opts.without ?? []);
    if ((opts.without ?? []).some((n) => !(r.optional_claims ?? []).includes(n))) throw new AgentError("ERR_CLAIMS_MISSING", "only claims the merchant marked optional can be switched off");
    assertChoice(r, choice);
    const leaving = choiceClaimNames(r, choice);
    if (!g.json) {
      // The name and registration as the issuer's signed registry has them, never the request's own words.
      out(`${t("cli.asks", { merchant: c.bold(m.name), level: c.bold(levelLabel(r.level)) })} ${c.dim(t("cli.registeredFor", { max: levelLabel(m.maxLevel), did: r.iss.slice(0, 24) + "…" }))}`);
      out(`  ${t("cli.purpose")}: ${r.purpose}`);
      out(`  ${t("cli.retention")}: ${t("cli.retentionDays", { count: r.retention_days })}`);
      out(`  ${t("cli.answerTo")}: ${new URL(r.response_uri).origin}`);
      if (acceptableLevels(r).length > 1 || r.optional_claims?.length) out(`  the merchant also accepts: ${acceptableLevels(r).map(levelLabel).join(", ")}${r.optional_claims?.length ? `; optional claims: ${r.optional_claims.map(claimLabel).join(", ")} (--level, --without)` : " (--level)"}`);
      out(`  you answer: ${c.bold(levelLabel(choice.level))}`);
      out(`  ${t("cli.wouldLeave")}: ${[...leaving.map(claimLabel), ...(choice.level === "pseudonymous" ? [claimLabel("pseudonym")] : [])].join(", ")}`);
      out(c.dim(`  ${t("cli.requestHash")}: ${checked.requestHash}`));
    }
    await withWallet(async (w) => {
      const preview = await w.preview(checked);
      // Without --level/--without the remembered choice at this merchant (if any) is what is answered: say so.
      if (!g.json && !opts.level && !opts.without && preview.remembered) out(c.cyan(`  your remembered choice here: ${levelLabel(preview.remembered.level)}${preview.remembered.without?.length ? ` without ${preview.remembered.without.map(claimLabel).join(", ")}` : ""}`));
      if (!g.json) out(`  ${t("cli.values")}: ${Object.entries(preview.values).filter(([k]) => leaving.includes(k)).map(([k, v]) => `${claimLabel(k)}: ${shownValue(v)}`).join(", ")}`);
      // A decline is told to the merchant the standard way (OpenID4VP 1.0 §8.5: error=access_denied with the
      // request's state, by direct_post), as the web wallet does, so the merchant's page does not wait forever.
      const decline = async (): Promise<never> => {
        const { returnTo } = await reaching("merchant", r.response_uri, () => w.decline(checked));
        throw new AgentError("ERR_DECLINED", t("cli.declined"), returnTo ? { returnTo } : undefined);
      };
      if (opts.decline) await decline();
      if (preview.automatic) {
        if (!g.json) out(c.cyan("  answered with one tap: you turned this on for verified answers at this merchant (wallet forget to undo)"));
      } else if (!opts.yes) {
        const answer = await ask(t("cli.shareExactly", { hash: checked.requestHash.slice(0, 12) }), { what: "confirm", flag: "--yes / --decline" });
        if (!/^(y(es)?|是)$/i.test(answer.trim())) await decline();
      }
      const grant = await reaching("merchant", r.response_uri, () => w.answer(preview, { remember: opts.remember, oneTap: opts.oneTap, requestHash: checked.requestHash, ...(opts.level || opts.without ? { choice: { level: choice.level, without: opts.without ?? [] } } : {}) }));
      const left = await w.credentialsLeft();
      if (g.json) out(JSON.stringify({ grantId: grant.grantId, level: grant.level, merchant: grant.merchant, claimNames: grant.claimNames, pseudonym: grant.pseudonym, automatic: preview.automatic, credentialsLeft: left, requestHash: checked.requestHash }));
      else {
        out(c.green(t("cli.granted", { grantId: grant.grantId })));
        if (left < LOW_BATCH_THRESHOLD) out(c.yellow(t("cli.lowBatch", { count: left })));
      }
    });
  }));

program
  .command("start")
  .description("start a grant yourself: ask a registered merchant for a fresh request at the level you pick (answer it with `wallet answer`)")
  .argument("<merchant-did>", "the merchant, as the issuer's registry names it")
  .addOption(new Option("--level <level>", "what to send").choices(["pseudonymous", "verified"]).default("pseudonymous"))
  .action(run(async (merchantDid: string, opts: { level: "pseudonymous" | "verified" }) => {
    const g = globals();
    const [{ HolderWallet }, { requestFromMerchant }, { messageFor }] = await Promise.all([walletLibrary(), import("../holder/request-check.js"), import("../holder/messages.js")]);
    const settings = await HolderWallet.readSettings(g.dir);
    if (!settings.issuerUrl || !settings.issuerDid) throw new AgentError("ERR_NO_CREDENTIAL", messageFor("ERR_NO_CREDENTIAL", "register first"));
    // Nothing about the person is sent: the merchant answers with a signed request, checked like any other.
    const { link, checked } = await requestFromMerchant({ merchantDid, level: opts.level, issuerUrl: settings.issuerUrl, issuerDid: settings.issuerDid, now: new Date(), x509TrustAnchors: settings.platformCa ?? [] });
    out(g.json ? JSON.stringify({ link, merchant: checked.merchant.name, level: checked.request.level, requestHash: checked.requestHash }) : `${checked.merchant.name} opened a ${checked.request.level} request; review and answer it with:\n  wallet answer '${link}'`);
  }));

program
  .command("choices")
  .description("list the merchants you let the wallet answer automatically")
  .action(run(async () => {
    const list = await withWallet((w) => w.rememberedChoices());
    if (globals().json) return out(JSON.stringify(list));
    if (!list.length) return out(t("cli.noChoices"));
    const h = (k: string) => t(`cli.choicesHeader.${k}`);
    out(table([[h("merchant"), h("level"), h("since"), h("did")], ...list.map((p) => [p.merchantName, levelLabel(p.level), formatDate(p.createdAt), p.merchantDid])]));
  }));

program
  .command("forget")
  .description("stop answering a merchant automatically")
  .argument("<merchant-did>")
  .option("--level <level>", "only this level")
  .action(run(async (did: string, opts: { level?: "verified" | "pseudonymous" | "full" }) => {
    const n = await withWallet((w) => w.forget(did, opts.level));
    out(globals().json ? JSON.stringify({ forgotten: n }) : t("cli.forgotten", { count: n }));
  }));

program
  .command("grants")
  .description("list your grants, their anchoring state and proof")
  .option("--refresh", "ask each merchant for the latest inclusion proofs", false)
  .option("--wait", "wait (with progress) until every receipt is anchored", false)
  .action(run(async (opts: { refresh: boolean; wait: boolean }) => {
    const grants = await withWallet(async (w) => {
      let all = await w.grants();
      const anchored = (g: GrantEntry) => g.anchors?.consent?.status === "anchored" && g.anchors?.grant?.status === "anchored";
      for (let round = 0; round < (opts.wait ? 120 : 1); round++) {
        if (opts.refresh || opts.wait) all = await Promise.all(all.map((g) => (anchored(g) ? g : w.refreshAnchors(g.grantId).catch(() => g))));
        const done = all.filter(anchored).length;
        if (!opts.wait || done === all.length) break;
        if (process.stderr.isTTY) process.stderr.write(`\r${"|/-\\"[round % 4]} anchoring: ${done}/${all.length} grants confirmed on chain`);
        await new Promise((r) => setTimeout(r, 500));
      }
      if (opts.wait && process.stderr.isTTY) process.stderr.write("\n");
      return all;
    });
    if (globals().json) return out(JSON.stringify(grants.map(({ sealedPresentation: _p, ...g }) => g)));
    if (grants.length === 0) return out(t("cli.noGrants"));
    const state = (g: GrantEntry) => (g.withdrawal ? c.yellow(t("cli.state.withdrawn")) : g.anchors?.grant?.status === "anchored" ? c.green(t("cli.state.anchored")) : g.anchors?.grant?.status ?? c.dim(t("cli.state.unknown")));
    const h = (k: string) => t(`cli.grantsHeader.${k}`);
    out(table([[h("grant"), h("merchant"), h("level"), h("claims"), h("when"), h("state"), h("root")], ...grants.map((g) => [g.grantId.slice(0, 8), g.merchant.name, levelLabel(g.level), g.claimNames.map(claimLabel).join(", "), formatTime(g.grantedAt), state(g), g.anchors?.grant?.root ? g.anchors.grant.root.slice(0, 12) + "…" : ""])]));
  }));

program
  .command("trace")
  .description("your trace at the platform (认证留痕): every grant it recorded, and every notary who obtained it, when and why")
  .action(run(async () => {
    const trace = await withWallet(async (w) => {
      await w.reportPendingToPlatform();
      return w.platformTrace();
    });
    if (globals().json) return out(JSON.stringify(trace));
    const grants = trace.filter((e) => e.kind === "grant");
    const accesses = trace.filter((e) => e.kind === "access");
    if (grants.length === 0) out("the platform has recorded no grant of yours");
    else out(table([["when", "merchant", "level", "claims", "consent receipt", "anchored"], ...grants.map((g) => [g.grantedAt.slice(0, 19), g.merchant.name, g.level + (g.withdrawnAt ? c.yellow(" (withdrawn)") : ""), g.claimNames.join(",") || "-", g.consentReceiptHash.slice(0, 12) + "…", g.anchors?.consent ? c.green(`block ${g.anchors.consent.blockNumber ?? "?"}`) : c.dim("not yet")])]));
    if (accesses.length === 0) return out(c.dim("\nno notary has obtained your trace"));
    out(c.bold("\nobtained by notaries under a legal request:"));
    out(table([["when", "notary", "legal basis", "case", "what", "anchored"], ...accesses.map((a) => [a.accessedAt.slice(0, 19), a.notary.name, a.legalBasis, a.caseReference, a.scope === "grant" ? "the person behind one grant, and the trace" : "the trace", "anchor" in a && a.anchor?.status === "anchored" ? c.green(`block ${a.anchor.blockNumber}`) : c.dim(("anchor" in a && a.anchor?.status) || "queued")])]));
  }));

program
  .command("withdraw")
  .description("withdraw a grant: the merchant deletes its copy and acknowledges with a signed, anchored receipt")
  .argument("<grant-id>", "the grant (a prefix is enough)")
  .option("--forget", "also forget the choice remembered for that merchant", false)
  .option("--keep-choice", "keep the remembered choice (without either flag you are asked)", false)
  .action(run(async (grantId: string, opts: { forget: boolean; keepChoice: boolean }) => {
    const g = await withWallet(async (w) => {
      const withdrawn = await w.withdraw(grantId);
      const remembered = (await w.rememberedChoices()).some((p) => p.merchantDid === withdrawn.merchant.did);
      // Asked on a terminal only: the default (keep) needs no answer, so a script is never stopped here.
      const forget = remembered && !opts.keepChoice && (opts.forget || (!globals().json && process.stdin.isTTY === true && /^y(es)?$/i.test((await ask(`Also forget the choice you remembered for ${withdrawn.merchant.name}? [y/N] `, { what: "forgetChoice", flag: "--forget / --keep-choice" })).trim())));
      if (forget) await w.forget(withdrawn.merchant.did);
      return withdrawn;
    });
    out(globals().json ? JSON.stringify({ grantId: g.grantId, withdrawnAt: g.withdrawal!.withdrawnAt }) : c.green(t("cli.withdrawn", { merchant: g.merchant.name })));
  }));

program
  .command("login")
  .description("log in to a merchant where you hold a pseudonymous account (no identity data is shown)")
  .argument("<challenge-uri>")
  .action(run(async (uri: string) => {
    const r = await withWallet((w) => w.login(uri));
    out(globals().json ? JSON.stringify(r) : c.green(t("cli.loggedIn", { pseudonym: r.pseudonym })));
  }));

program
  .command("refresh")
  .description("get a fresh batch of credentials from the issuer without registering again")
  .option("--batch <n>", "credentials in the batch", "10")
  .action(run(async (opts: { batch: string }) => {
    const batch = parseBatch(opts.batch);
    const r = await withWallet(async (w) => reaching("issuer", (await w.getSettings()).issuerUrl ?? "", () => w.refreshBatch(batch)));
    out(globals().json ? JSON.stringify(r) : c.green(t("cli.receivedFresh", { count: r.received })));
  }));

program
  .command("evidence")
  .description("export an evidence bundle of a grant for a notary (receipts, proofs, the anchoring read from the chain)")
  .argument("<grant-id>", "the grant (a prefix is enough)")
  .requiredOption("--out <file>", "where to write the bundle")
  .option("--rpc <url>", "chain endpoint (env CHAIN_RPC_URL)", process.env.CHAIN_RPC_URL ?? DEFAULT_RPC_URL)
  .option("--include-presentation", "also include the exact presentation you sent (it shows the disclosed values)", false)
  .action(run(async (grantId: string, opts: { out: string; rpc: string; includePresentation: boolean }) => {
    await withWallet(async (w) => {
      const bundle = await w.evidence(grantId, { rpcUrl: opts.rpc, includePresentation: opts.includePresentation });
      writePrivateFile(opts.out, JSON.stringify(bundle, null, 2));
      out(globals().json ? JSON.stringify({ written: opts.out }) : t("cli.evidenceWritten", { file: opts.out }));
    });
  }));

program
  .command("pin")
  .description("change the PIN (everything sealed is re-encrypted, nothing is lost)")
  .addOption(new Option("--new-pin <pin>", "the new PIN (env WALLET_NEW_PIN; asked for on a terminal if absent)").env("WALLET_NEW_PIN"))
  .action(run(async (opts: { newPin?: string }) => {
    const next = opts.newPin ?? (await ask("New PIN: ", { secret: true, what: "newPin", flag: "--new-pin / WALLET_NEW_PIN" }));
    if (!opts.newPin && next !== (await ask("New PIN again: ", { secret: true, what: "newPin", flag: "--new-pin / WALLET_NEW_PIN" }))) throw new CliError("ERR_INVALID_INPUT", "cli.pinsDiffer");
    await withWallet((w) => w.changePin(next));
    out(globals().json ? JSON.stringify({ changed: true }) : c.green(t("cli.pinChanged")));
  }));

program
  .command("backup")
  .description("write an encrypted backup of the whole wallet")
  .requiredOption("--out <file>", "backup file")
  .addOption(new Option("--passphrase <p>", "backup passphrase (env WALLET_BACKUP_PASSPHRASE)").env("WALLET_BACKUP_PASSPHRASE"))
  .action(run(async (opts: { out: string; passphrase?: string }) => {
    const passphrase = opts.passphrase ?? (await ask("Backup passphrase: ", { secret: true, what: "backupPassphrase", flag: "--passphrase / WALLET_BACKUP_PASSPHRASE" }));
    const backup = await withWallet((w) => w.backup(passphrase));
    writePrivateFile(opts.out, JSON.stringify(backup));
    out(globals().json ? JSON.stringify({ written: opts.out }) : t("cli.backupWritten", { file: opts.out }));
  }));

program
  .command("restore")
  .description("restore a backup into an empty wallet folder (then use your usual PIN)")
  .argument("<file>")
  .addOption(new Option("--passphrase <p>", "backup passphrase (env WALLET_BACKUP_PASSPHRASE)").env("WALLET_BACKUP_PASSPHRASE"))
  .action(run(async (file: string, opts: { passphrase?: string }) => {
    let backup: unknown;
    try {
      backup = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      throw new AgentError("ERR_INVALID_INPUT", `${file} is not a readable backup`);
    }
    const passphrase = opts.passphrase ?? (await ask("Backup passphrase: ", { secret: true, what: "backupPassphrase", flag: "--passphrase / WALLET_BACKUP_PASSPHRASE" }));
    const { HolderWallet } = await walletLibrary();
    const r = await HolderWallet.restore(globals().dir, backup, passphrase);
    out(globals().json ? JSON.stringify(r) : t("cli.restored", { count: r.entries, dir: globals().dir }));
  }));

program
  .command("serve")
  .description("the wallet as web pages on this machine (loopback only): requests, PIN, grants, choices, withdrawal")
  .option("--port <n>", "port (0: a free one)", "7100")
  .option("--host <address>", "loopback address to bind (127.0.0.1 or ::1)", "127.0.0.1")
  .option("--rpc <url>", "chain endpoint for evidence bundles (env CHAIN_RPC_URL)", process.env.CHAIN_RPC_URL ?? DEFAULT_RPC_URL)
  .option("--payment-platform <url>", "the payment platform (the issuer) for in-person payments at /nearby (env PAYMENT_PLATFORM_URL)", process.env.PAYMENT_PLATFORM_URL)
  .option("--issuer <url>", "registration on the page (/register) with this identity issuer (env ISSUER_URL)", process.env.ISSUER_URL)
  .option("--device-id <id>", "the id under which this wallet's device key is enrolled with the issuer (env WALLET_DEVICE_ID)", process.env.WALLET_DEVICE_ID)
  .option("--send-liveness-frames", "send the filmed frames for the issuer's liveness challenge (issuers with REQUIRE_LIVENESS=1)", process.env.WALLET_SEND_LIVENESS_FRAMES === "1")
  .action(run(async (opts: { port: string; host: string; rpc: string; paymentPlatform?: string; issuer?: string; deviceId?: string; sendLivenessFrames?: boolean }) => {
    // The pages hold the unlocked wallet: they are for this machine only.
    if (!["127.0.0.1", "::1", "localhost"].includes(opts.host)) throw new AgentError("ERR_INVALID_INPUT", "the wallet serves loopback only (127.0.0.1 or ::1)");
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AgentError("ERR_INVALID_INPUT", "--port must be a port number");
    const { serveWalletWeb } = await import("../holder/web/serve.js");
    const server = await serveWalletWeb({ dir: globals().dir, rpcUrl: opts.rpc, host: opts.host === "localhost" ? "127.0.0.1" : opts.host, port, paymentPlatformUrl: opts.paymentPlatform, ...(opts.issuer && opts.deviceId ? { registration: { issuerUrl: () => opts.issuer!, deviceId: opts.deviceId, sendFrames: !!opts.sendLivenessFrames } } : {}) });
    out(globals().json ? JSON.stringify({ event: "listening", url: server.url }) : t("cli.serving", { url: c.bold(server.url) }));
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await server.close();
  }));

await program.parseAsync(process.argv);
