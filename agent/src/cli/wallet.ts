import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { privateUmask, writePrivateFile } from "../stores/private-files.js";
import { homedir } from "node:os";
import { join } from "node:path";
import { HolderWallet, LOW_BATCH_THRESHOLD, type GrantEntry } from "../holder/wallet.js";
import { checkMerchantRequest } from "../holder/request-check.js";
import { messageFor } from "../holder/messages.js";
import { serveWalletWeb } from "../holder/web/serve.js";
import { DEFAULT_RPC_URL } from "../anchoring/registry-contract.js";
import { AgentError } from "../errors.js";
import { ask, c, fail, out, table } from "./common.js";

// Everything this command writes (LevelDB files, bundles, reports, backups) is private to its user.
privateUmask();
const program = new Command("wallet")
  .description("The person's identity wallet: register once, then grant merchants exactly the level you choose.")
  .option("--dir <path>", "wallet folder (env WALLET_DIR)", process.env.WALLET_DIR ?? join(homedir(), ".realname-wallet"))
  .addOption(new Option("--pin <pin>", "the wallet PIN (env WALLET_PIN; asked for on a terminal if absent)").env("WALLET_PIN"))
  .option("--json", "machine-readable output", false)
  .showHelpAfterError()
  .addHelpText("after", "\nExit codes: 0 ok, 2 bad usage, 4 refused (see the error code), 5 a service or the chain is unreachable.");

type Globals = { dir: string; pin?: string; json: boolean };
const globals = () => program.opts<Globals>();

async function withWallet<T>(fn: (wallet: HolderWallet) => Promise<T>): Promise<T> {
  const g = globals();
  const pin = g.pin ?? (await ask("Wallet PIN: ", true));
  // A batch refresh an answer started runs while the command finishes; closing waits for it, and its outcome
  // goes to stderr (never into --json output, never an exit code: the answer itself already succeeded).
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
    const { did } = await withWallet((w) => w.init());
    if (globals().json) out(JSON.stringify({ did, dir: globals().dir }));
    else out(`wallet ready at ${globals().dir}\nidentity ${c.bold(did)} (never shown to merchants: every credential has its own key)`);
  }));

program
  .command("device-key")
  .description("print this wallet's capture-device public key, for the issuer's admin to register")
  .action(run(async () => {
    const key = await withWallet((w) => w.deviceKey());
    if (globals().json) out(JSON.stringify(key));
    else out(`capture-device key of this wallet (give it to the issuer's admin):\n${JSON.stringify(key.publicJwk)}`);
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
      w.register(opts.issuer, { fullName: opts.name, idNumber: opts.idNumber, portrait }, {
        deviceId: opts.deviceId,
        batchSize,
        confirm: async (masked) => {
          if (!globals().json) out(`the issuer found: ${c.bold(masked.name)}  ${masked.idNumber}`);
          if (opts.yes) return true;
          return /^y(es)?$/i.test((await ask("Is this you? [y/N] ")).trim());
        },
      }),
    );
    if (globals().json) out(JSON.stringify(result));
    else out(`${c.green("registered")}: ${result.received} credentials from ${result.issuer}`);
  }));

program
  .command("receive")
  .description("redeem a credential offer (the link from a QR code: after a reissue or a notary's attestation)")
  .argument("<offer>", "openid-credential-offer://… link")
  .option("--batch <n>", "credentials in the batch", "10")
  .action(run(async (offer: string, opts: { batch: string }) => {
    const batch = parseBatch(opts.batch);
    const result = await withWallet((w) => w.receive(offer, batch));
    out(globals().json ? JSON.stringify(result) : `${c.green("received")} ${result.received} credentials from ${result.issuer}`);
  }));

program
  .command("credentials")
  .description("list the credentials in the wallet")
  .action(run(async () => {
    const creds = await withWallet((w) => w.credentials());
    if (globals().json) return out(JSON.stringify(creds));
    if (creds.length === 0) return out("no credentials yet: run `wallet register`");
    out(table([["holder key", "issuer", "expires", "shown to"], ...creds.map((cr) => [cr.holderDid.slice(0, 24) + "…", String(cr.issuer).slice(0, 24) + "…", new Date(Number(cr.claims.exp) * 1000).toISOString().slice(0, 10), cr.usedWith.length ? `${cr.usedWith.length} merchant` : c.dim("unused")])]));
    const claims = creds[0]!.claims;
    out(`\nclaims each holds: ${["full_name", "id_number", "birth_date", "age_over_18", "real_name_verified"].map((k) => `${k}=${k === "id_number" ? String(claims[k]).replace(/^(\d{4})\d+(\d{4})$/, "$1**********$2") : claims[k]}`).join(", ")}`);
  }));

program
  .command("answer")
  .description("answer a merchant's request: checks the merchant, shows what would leave the wallet, then asks for the PIN")
  .argument("<request-uri>", "the link from the merchant's QR code")
  .option("--yes", "do not ask for confirmation (scripts; the PIN is still needed)", false)
  .option("--remember", "answer this merchant at this level automatically next time", false)
  .option("--decline", "decline without asking: the merchant is told access_denied, nothing about you is sent", false)
  .action(run(async (requestUri: string, opts: { yes: boolean; remember: boolean; decline: boolean }) => {
    const g = globals();
    const settings = await HolderWallet.readSettings(g.dir);
    if (!settings.issuerUrl || !settings.issuerDid) throw new AgentError("ERR_NO_CREDENTIAL", messageFor("ERR_NO_CREDENTIAL", "register first"));
    // Fetched once, checked and shown before the PIN is asked for: nothing secret is needed to say what would
    // be shared. The answer is built from this very request object; it is never fetched again.
    const checked = await checkMerchantRequest({ requestUri, issuerUrl: settings.issuerUrl, issuerDid: settings.issuerDid, now: new Date() });
    const r = checked.request;
    const m = checked.merchant;
    if (!g.json) {
      // The name and registration as the issuer's signed registry has them, never the request's own words.
      out(`${c.bold(m.name)} asks for a ${c.bold(r.level)} grant ${c.dim(`(registered for up to ${m.maxLevel}; ${r.iss.slice(0, 24)}…)`)}`);
      out(`  purpose:   ${r.purpose}`);
      out(`  retention: ${r.retention_days} days`);
      out(`  answer to: ${new URL(r.response_uri).origin}`);
      out(`  would leave your wallet: ${checked.claimNames.join(", ")}${r.level === "pseudonymous" ? " + your pseudonym for this merchant" : ""}`);
      out(c.dim(`  request sha-256: ${checked.requestHash}`));
    }
    await withWallet(async (w) => {
      const preview = await w.preview(checked);
      if (!g.json) out(`  values: ${Object.entries(preview.values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}`);
      // A decline is told to the merchant the standard way (OpenID4VP 1.0 §8.5: error=access_denied with the
      // request's state, by direct_post), as the web wallet does, so the merchant's page does not wait forever.
      const decline = async (): Promise<never> => {
        const { returnTo } = await w.decline(checked);
        throw new AgentError("ERR_DECLINED", "you declined; the merchant was told access_denied, nothing about you was sent", returnTo ? { returnTo } : undefined);
      };
      if (opts.decline) await decline();
      if (preview.automatic) {
        if (!g.json) out(c.cyan("  answered automatically: you chose to remember this merchant at this level (wallet forget to undo)"));
      } else if (!opts.yes) {
        const answer = await ask(`Share exactly this (request ${checked.requestHash.slice(0, 12)}…)? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) await decline();
      }
      const grant = await w.answer(preview, { remember: opts.remember, requestHash: checked.requestHash });
      const left = await w.credentialsLeft();
      if (g.json) out(JSON.stringify({ grantId: grant.grantId, level: grant.level, merchant: grant.merchant, claimNames: grant.claimNames, pseudonym: grant.pseudonym, automatic: preview.automatic, credentialsLeft: left, requestHash: checked.requestHash }));
      else {
        out(`${c.green("granted")} ${grant.grantId}; receipts signed and queued for anchoring`);
        if (left < LOW_BATCH_THRESHOLD) out(c.yellow(`only ${left} unused credentials left: fetching a fresh batch in the background`));
      }
    });
  }));

program
  .command("choices")
  .description("list the merchants you let the wallet answer automatically")
  .action(run(async () => {
    const list = await withWallet((w) => w.rememberedChoices());
    if (globals().json) return out(JSON.stringify(list));
    if (!list.length) return out("no remembered choices");
    out(table([["merchant", "level", "since", "merchant DID"], ...list.map((p) => [p.merchantName, p.level, p.createdAt.slice(0, 10), p.merchantDid])]));
  }));

program
  .command("forget")
  .description("stop answering a merchant automatically")
  .argument("<merchant-did>")
  .option("--level <level>", "only this level")
  .action(run(async (did: string, opts: { level?: "verified" | "pseudonymous" | "full" }) => {
    const n = await withWallet((w) => w.forget(did, opts.level));
    out(globals().json ? JSON.stringify({ forgotten: n }) : `${n} remembered choice(s) removed`);
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
    if (grants.length === 0) return out("no grants yet");
    const state = (g: GrantEntry) => (g.withdrawal ? c.yellow("withdrawn") : g.anchors?.grant?.status === "anchored" ? c.green("anchored") : g.anchors?.grant?.status ?? c.dim("unknown (--refresh)"));
    out(table([["grant", "merchant", "level", "claims", "when", "state", "root"], ...grants.map((g) => [g.grantId.slice(0, 8), g.merchant.name, g.level, g.claimNames.join(","), g.grantedAt.slice(0, 19), state(g), g.anchors?.grant?.root ? g.anchors.grant.root.slice(0, 12) + "…" : ""])]));
  }));

program
  .command("withdraw")
  .description("withdraw a grant: the merchant deletes its copy and acknowledges with a signed, anchored receipt")
  .argument("<grant-id>", "the grant (a prefix is enough)")
  .action(run(async (grantId: string) => {
    const g = await withWallet((w) => w.withdraw(grantId));
    out(globals().json ? JSON.stringify({ grantId: g.grantId, withdrawnAt: g.withdrawal!.withdrawnAt }) : `${c.green("withdrawn")}: ${g.merchant.name} acknowledged and deleted its copy`);
  }));

program
  .command("login")
  .description("log in to a merchant where you hold a pseudonymous account (no identity data is shown)")
  .argument("<challenge-uri>")
  .action(run(async (uri: string) => {
    const r = await withWallet((w) => w.login(uri));
    out(globals().json ? JSON.stringify(r) : `${c.green("logged in")} as ${r.pseudonym}`);
  }));

program
  .command("refresh")
  .description("get a fresh batch of credentials from the issuer without registering again")
  .option("--batch <n>", "credentials in the batch", "10")
  .action(run(async (opts: { batch: string }) => {
    const batch = parseBatch(opts.batch);
    const r = await withWallet((w) => w.refreshBatch(batch));
    out(globals().json ? JSON.stringify(r) : `${c.green("received")} ${r.received} fresh credentials`);
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
      out(globals().json ? JSON.stringify({ written: opts.out }) : `evidence bundle written to ${opts.out} (check it with: notary verify ${opts.out})`);
    });
  }));

program
  .command("pin")
  .description("change the PIN (everything sealed is re-encrypted, nothing is lost)")
  .addOption(new Option("--new-pin <pin>", "the new PIN (env WALLET_NEW_PIN; asked for on a terminal if absent)").env("WALLET_NEW_PIN"))
  .action(run(async (opts: { newPin?: string }) => {
    const next = opts.newPin ?? (await ask("New PIN: ", true));
    if (!opts.newPin && next !== (await ask("New PIN again: ", true))) throw new AgentError("ERR_INVALID_INPUT", "the two PINs differ");
    await withWallet((w) => w.changePin(next));
    out(globals().json ? JSON.stringify({ changed: true }) : c.green("PIN changed"));
  }));

program
  .command("backup")
  .description("write an encrypted backup of the whole wallet")
  .requiredOption("--out <file>", "backup file")
  .addOption(new Option("--passphrase <p>", "backup passphrase (env WALLET_BACKUP_PASSPHRASE)").env("WALLET_BACKUP_PASSPHRASE"))
  .action(run(async (opts: { out: string; passphrase?: string }) => {
    const passphrase = opts.passphrase ?? (await ask("Backup passphrase: ", true));
    const backup = await withWallet((w) => w.backup(passphrase));
    writePrivateFile(opts.out, JSON.stringify(backup));
    out(globals().json ? JSON.stringify({ written: opts.out }) : `encrypted backup written to ${opts.out}`);
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
    const passphrase = opts.passphrase ?? (await ask("Backup passphrase: ", true));
    const r = await HolderWallet.restore(globals().dir, backup, passphrase);
    out(globals().json ? JSON.stringify(r) : `restored ${r.entries} entries into ${globals().dir}`);
  }));

program
  .command("serve")
  .description("the wallet as web pages on this machine (loopback only): requests, PIN, grants, choices, withdrawal")
  .option("--port <n>", "port (0: a free one)", "7100")
  .option("--host <address>", "loopback address to bind (127.0.0.1 or ::1)", "127.0.0.1")
  .option("--rpc <url>", "chain endpoint for evidence bundles (env CHAIN_RPC_URL)", process.env.CHAIN_RPC_URL ?? DEFAULT_RPC_URL)
  .action(run(async (opts: { port: string; host: string; rpc: string }) => {
    // The pages hold the unlocked wallet: they are for this machine only.
    if (!["127.0.0.1", "::1", "localhost"].includes(opts.host)) throw new AgentError("ERR_INVALID_INPUT", "the wallet serves loopback only (127.0.0.1 or ::1)");
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AgentError("ERR_INVALID_INPUT", "--port must be a port number");
    const server = await serveWalletWeb({ dir: globals().dir, rpcUrl: opts.rpc, host: opts.host === "localhost" ? "127.0.0.1" : opts.host, port });
    out(globals().json ? JSON.stringify({ event: "listening", url: server.url }) : `wallet pages at ${c.bold(server.url)} (Ctrl-C to stop; the wallet locks itself after 5 minutes idle)`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await server.close();
  }));

await program.parseAsync(process.argv);
