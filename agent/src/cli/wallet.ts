import { Command, Option } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { HolderWallet, type GrantEntry } from "../holder/wallet.js";
import { AgentError } from "../errors.js";
import { ask, c, fail, out, table } from "./common.js";

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
  const wallet = await HolderWallet.open({ dir: g.dir, pin });
  try {
    return await fn(wallet);
  } finally {
    await wallet.close();
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
    const batchSize = Number(opts.batch);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) throw new AgentError("ERR_INVALID_INPUT", "--batch must be 1 to 10");
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
    const result = await withWallet((w) => w.receive(offer, Number(opts.batch)));
    out(globals().json ? JSON.stringify(result) : `${c.green("received")} ${result.received} credentials from ${result.issuer}`);
  }));

program
  .command("credentials")
  .description("list the credentials in the wallet")
  .action(run(async () => {
    const creds = await withWallet((w) => w.credentials());
    if (globals().json) return out(JSON.stringify(creds.map(({ credential: _c, ...rest }) => rest)));
    if (creds.length === 0) return out("no credentials yet: run `wallet register`");
    out(table([["holder key", "issuer", "expires", "shown to"], ...creds.map((cr) => [cr.holderDid.slice(0, 24) + "…", String(cr.issuer).slice(0, 24) + "…", new Date(Number(cr.claims.exp) * 1000).toISOString().slice(0, 10), cr.usedWith.length ? `${cr.usedWith.length} merchant` : c.dim("unused")])]));
    const claims = creds[0]!.claims;
    out(`\nclaims each holds: ${["full_name", "id_number", "birth_date", "age_over_18", "real_name_verified"].map((k) => `${k}=${k === "id_number" ? String(claims[k]).replace(/^(\d{4})\d+(\d{4})$/, "$1**********$2") : claims[k]}`).join(", ")}`);
  }));

program
  .command("answer")
  .description("answer a merchant's request: shows what would be disclosed, then asks you to confirm")
  .argument("<request-uri>", "the link from the merchant's QR code")
  .option("--yes", "consent without asking (scripts)", false)
  .action(run(async (requestUri: string, opts: { yes: boolean }) => {
    await withWallet(async (w) => {
      const preview = await w.preview(requestUri);
      const r = preview.request;
      if (!globals().json) {
        out(`${c.bold(r.merchant_name)} (${r.iss}) asks for a ${c.bold(r.level)} grant`);
        out(`  purpose:   ${r.purpose}`);
        out(`  retention: ${r.retention_days} days`);
        out(`  will leave your wallet: ${Object.entries(preview.values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}${preview.pseudonym ? `, pseudonym ${preview.pseudonym}` : ""}`);
      }
      if (!opts.yes) {
        const answer = await ask("Share this? [y/N] ");
        if (!/^y(es)?$/i.test(answer.trim())) throw new AgentError("ERR_DECLINED", "you declined; nothing was sent");
      }
      const grant = await w.answer(preview);
      if (globals().json) out(JSON.stringify({ grantId: grant.grantId, level: grant.level, merchant: grant.merchant, claimNames: grant.claimNames, pseudonym: grant.pseudonym }));
      else out(`${c.green("granted")} ${grant.grantId}; receipts signed and queued for anchoring`);
    });
  }));

program
  .command("grants")
  .description("list your grants and their anchoring state")
  .option("--refresh", "ask each merchant for the latest inclusion proofs", false)
  .action(run(async (opts: { refresh: boolean }) => {
    const grants = await withWallet(async (w) => {
      let all = await w.grants();
      if (opts.refresh) all = await Promise.all(all.map((g) => w.refreshAnchors(g.grantId).catch(() => g)));
      return all;
    });
    if (globals().json) return out(JSON.stringify(grants.map(({ presentation: _p, ...g }) => g)));
    if (grants.length === 0) return out("no grants yet");
    const state = (g: GrantEntry) => g.anchors?.grant?.status ?? c.dim("unknown (--refresh)");
    out(table([["grant", "merchant", "level", "claims", "when", "anchoring"], ...grants.map((g) => [g.grantId.slice(0, 8), g.merchant.name, g.level, g.claimNames.join(","), g.grantedAt.slice(0, 19), state(g)])]));
  }));

program
  .command("evidence")
  .description("export a grant's receipts and inclusion proofs for a notary (`notary evidence FILE`)")
  .argument("<grant-id>", "the grant (a prefix is enough)")
  .requiredOption("--out <file>", "where to write")
  .action(run(async (grantId: string, opts: { out: string }) => {
    await withWallet(async (w) => {
      const found = (await w.grants()).filter((g) => g.grantId.startsWith(grantId));
      if (found.length !== 1) throw new AgentError("ERR_GRANT_NOT_FOUND", found.length ? "the prefix matches several grants" : "no such grant");
      const g = await w.refreshAnchors(found[0]!.grantId);
      if (g.anchors?.consent?.status !== "anchored" || g.anchors?.grant?.status !== "anchored") throw new AgentError("ERR_NOT_ANCHORED", "the receipts are not anchored yet; try again in a few seconds");
      writeFileSync(opts.out, JSON.stringify({ consentReceipt: g.consentReceipt, grantReceipt: g.grantReceipt, proofs: { consent: g.anchors.consent, grant: g.anchors.grant } }, null, 2));
      out(globals().json ? JSON.stringify({ written: opts.out }) : `written ${opts.out}`);
    });
  }));

await program.parseAsync(process.argv);
