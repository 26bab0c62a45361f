import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { AgentError } from "../errors.js";

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

/** Asks a question on the terminal; with `secret`, echoes nothing (PIN entry). */
export async function ask(question: string, secret = false): Promise<string> {
  if (!process.stdin.isTTY) throw new AgentError("ERR_NEEDS_INPUT", `${question.trim()} (not a terminal: pass it as an option or environment variable)`);
  let muted = false;
  const output = new Writable({ write: (chunk, _enc, cb) => { if (!muted) process.stdout.write(chunk); cb(); } });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const answer = new Promise<string>((resolve) => rl.question(question, resolve));
  muted = secret;
  const value = await answer;
  rl.close();
  if (secret) process.stdout.write("\n");
  return value;
}

/** Prints an error as "code: message" (or JSON) and exits with a code that says what kind of failure it was. */
export function fail(error: unknown, json: boolean): never {
  const code = error instanceof AgentError ? error.code : "ERR_UNEXPECTED";
  const message = error instanceof Error ? error.message : String(error);
  if (json) process.stdout.write(JSON.stringify({ error: { code, message, details: (error as AgentError)?.details } }) + "\n");
  else process.stderr.write(`${c.red("error")} ${code}: ${message}\n`);
  const exit = code === "ERR_UPSTREAM" || code === "ERR_CHAIN_UNAVAILABLE" ? EXIT.unavailable : code === "ERR_INVALID_INPUT" || code === "ERR_NEEDS_INPUT" ? EXIT.usage : code === "ERR_UNEXPECTED" ? EXIT.failed : EXIT.refused;
  process.exit(exit);
}
