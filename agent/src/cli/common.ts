import type { Command } from "commander";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { AgentError } from "../errors.js";
import { DEFAULT_LANG, hasMessage, parseLang, translator, type Lang } from "../i18n/index.js";
import { REPO_ROOT } from "../repo-root.js";

/** Exit codes that mean something to scripts. */
export const EXIT = { ok: 0, failed: 1, usage: 2, cannotCheck: 3, refused: 4, unavailable: 5 } as const;

const colour = process.stdout.isTTY && !process.env.NO_COLOR;
const wrap = (open: number, close: number) => (s: string) => (colour ? `\u001b[${open}m${s}\u001b[${close}m` : s);
export const c = { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };

export const out = (s = "") => process.stdout.write(s + "\n");

/** A plain text table: columns padded to their widest cell (wide CJK characters count double). */
export function table(rows: string[][]): string {
  const width = (s: string) => [...s.replace(/\u001b\[[0-9;]*m/g, "")].reduce((w, ch) => w + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1), 0);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => width(r[i] ?? ""))));
  return rows.map((r) => r.map((cell, i) => cell + " ".repeat(widths[i]! - width(cell))).join("  ").trimEnd()).join("\n");
}

/**
 * The language of the human output: `--lang`, else the POSIX locale (LC_ALL, LC_MESSAGES, LANG), else Chinese.
 * Read from argv before commander parses, so that even a parsing error is said in the chosen language.
 */
export function cliLang(argv = process.argv, env = process.env): Lang {
  const i = argv.findIndex((a) => a === "--lang" || a.startsWith("--lang="));
  const flag = i < 0 ? undefined : argv[i]!.includes("=") ? argv[i]!.slice("--lang=".length) : argv[i + 1];
  return parseLang(flag) ?? parseLang(env.LC_ALL) ?? parseLang(env.LC_MESSAGES) ?? parseLang(env.LANG) ?? DEFAULT_LANG;
}
export const lang = cliLang();
export const t = translator(lang);

/** A claim's name as people read it, in the chosen language (the key stays in --json output). */
export const claimLabel = (name: string): string => (hasMessage(lang, `claims.${name}`) ? t(`claims.${name}`) : name);
export const levelLabel = (level: string): string => (hasMessage(lang, `levels.${level}`) ? t(`levels.${level}`) : level);

/** An error whose sentence for people is a catalogue message (the code stays stable for scripts). */
export class CliError extends AgentError {
  constructor(code: string, readonly key: string, readonly vars: Record<string, unknown> = {}) {
    super(code, String(translator("en")(key, vars)));
  }
}

/** Asks a question on the terminal; with `secret`, echoes nothing (PIN entry). `flag` answers it in scripts. */
export async function ask(question: string, options: { secret?: boolean; what: string; flag: string }): Promise<string> {
  if (!process.stdin.isTTY) throw new CliError("ERR_NEEDS_INPUT", "cli.needsInput", { what: t(`cli.what.${options.what}`), flag: options.flag });
  let muted = false;
  const output = new Writable({ write: (chunk, _enc, cb) => { if (!muted) process.stdout.write(chunk); cb(); } });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const answer = new Promise<string>((resolve) => rl.question(question, resolve));
  muted = options.secret === true;
  const value = await answer;
  rl.close();
  if (options.secret) process.stdout.write("\n");
  return value;
}

/** The web address a link leads to: its origin, or for an openid4vp:// link the origin of its request_uri. */
function addressOf(link: string): string {
  try {
    const url = new URL(link);
    if (url.protocol === "http:" || url.protocol === "https:") return url.origin;
    const inner = url.searchParams.get("request_uri") ?? url.searchParams.get("credential_offer_uri");
    return inner ? addressOf(inner) : link;
  } catch {
    return link; // not a URL: named as given
  }
}

/** Runs a call to another service; if it cannot be reached, says which service and where (exit 5). */
export async function reaching<T>(service: "merchant" | "issuer" | "platform" | "chain", url: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const code = (error as AgentError).code;
    if (code !== "ERR_UPSTREAM" && code !== "ERR_FETCH_TIMEOUT") throw error;
    const origin = addressOf(url);
    throw Object.assign(new CliError(code, "cli.unreachable", { service: t(`cli.service.${service}`), origin }), { cause: error });
  }
}

/** Only `init` (and `restore`) create a wallet: any other command on a folder with no wallet is refused. */
export function requireExisting(dir: string): void {
  if (!existsSync(dir) || readdirSync(dir).length === 0) throw new CliError("ERR_NO_WALLET", "cli.noWallet", { dir });
}

/** The sentence a person reads for an error, in the chosen language. */
function sentenceOf(error: unknown, code: string): string {
  if (error instanceof CliError) return String(t(error.key, error.vars));
  if (hasMessage(lang, `errors.${code}`)) return String(t(`errors.${code}`));
  const message = error instanceof Error ? error.message : String(error);
  return message.charAt(0).toUpperCase() + message.slice(1) + (/[.。!?]$/.test(message) ? "" : ".");
}

/** What kind of failure a code is, as an exit code. */
export function exitFor(code: string): number {
  if (code === "ERR_UPSTREAM" || code === "ERR_FETCH_TIMEOUT" || code === "ERR_CHAIN_UNAVAILABLE") return EXIT.unavailable;
  if (code === "ERR_INVALID_INPUT" || code === "ERR_NEEDS_INPUT" || code === "ERR_UNKNOWN_COMMAND" || code === "ERR_USAGE" || code === "ERR_NO_WALLET") return EXIT.usage;
  if (code === "ERR_UNEXPECTED") return EXIT.failed;
  return EXIT.refused;
}

/** Prints an error as a sentence followed by its code (or as JSON) and exits with a code for its kind. */
export function fail(error: unknown, json: boolean): never {
  const code = error instanceof AgentError ? error.code : "ERR_UNEXPECTED";
  const sentence = sentenceOf(error, code);
  if (json) process.stdout.write(JSON.stringify({ error: { code, message: sentence, details: (error as AgentError)?.details } }) + "\n");
  else process.stderr.write(c.red(String(t("cli.errorLine", { sentence, code }))) + "\n");
  process.exit(exitFor(code));
}

/** This project's version (the root package.json), for `--version`. */
export function projectVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

/** The command a mistyped one most likely meant (at most two edits away), if any. */
function closest(word: string, names: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  const best = names.map((name) => ({ name, d: distance(word, name) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? best.name : undefined;
}

/**
 * Shared start of every command line: `--version`, `--lang`, and usage errors as one short sentence plus a
 * hint (exit 2), never the whole help. Call before adding sub-commands: commander copies these to them.
 */
export function commandLine(program: Command): Command {
  const json = process.argv.includes("--json");
  return program
    .version(projectVersion(), "-v, --version", "print the version")
    .option("--lang <lang>", "language of the output: zh-CN (default) or en (env LANG)")
    .configureOutput({ outputError: () => undefined }) // said below, in the chosen language
    .exitOverride((err) => {
      if (err.exitCode === 0) process.exit(0); // --help, --version
      const unknown = err.code === "commander.unknownCommand";
      const token = /'([^']+)'/.exec(err.message)?.[1] ?? "";
      const suggestion = unknown ? closest(token, program.commands.map((cmd) => cmd.name())) : undefined;
      const words = err.message.replace(/^error: /, "").replace(/\n?\(Did you mean .+\?\)/, "");
      const sentence = unknown ? String(t("cli.unknownCommand", { token })) : words.charAt(0).toUpperCase() + words.slice(1) + ".";
      const code = unknown ? "ERR_UNKNOWN_COMMAND" : "ERR_USAGE";
      const hint = String(t("cli.unknownCommandHint", { name: program.name() })) + (suggestion ? " " + String(t("cli.didYouMean", { suggestion })) : "");
      if (json) process.stdout.write(JSON.stringify({ error: { code, message: `${sentence} ${hint}` } }) + "\n");
      else process.stderr.write(`${c.red(String(t("cli.errorLine", { sentence, code })))}\n${hint}\n`);
      process.exit(EXIT.usage);
    });
}
