import { z } from "zod";
import { verifyJwt } from "../crypto/algorithms.js";
import { AgentError } from "../errors.js";
import type { P256PublicJwk } from "../identity/did-key.js";

/**
 * Messages a payment terminal signs with its device key (P-256, ES256, as a WebCrypto key in a browser or
 * a secure element would make): compact JWS, `kid` = the terminal id, `aud` = the platform, `iat` and a
 * single-use `nonce`. One checker for every kind (position, payment start, peer answer, opt-in, unlock).
 */
export const TERMINAL_TYP = {
  position: "terminal-position+jwt",
  start: "payment-start+jwt",
  answer: "peer-answer+jwt",
  opt: "terminal-opt+jwt",
  unlock: "payment-unlock+jwt",
  /** The POS asks for its payment's state: only the terminal that started a payment reads its decision. */
  status: "payment-status+jwt",
} as const;
export type TerminalMessageKind = keyof typeof TERMINAL_TYP;

export const terminalIdSchema = z.string().regex(/^[A-Za-z0-9._-]{3,64}$/, "3-64 letters, digits, '.', '_' or '-'");
export const p256JwkSchema = z
  .object({ kty: z.literal("EC"), crv: z.literal("P-256"), x: z.string().regex(/^[A-Za-z0-9_-]{43}$/), y: z.string().regex(/^[A-Za-z0-9_-]{43}$/) })
  .strip();

/** How far a message's `iat` may lie in the future (clock skew) or the past (transit). */
export const MESSAGE_MAX_AGE_SECONDS = 30;
export const MESSAGE_MAX_SKEW_SECONDS = 5;

/** The `kid` of a terminal message, read before its signature is checked (to find the key). */
export function terminalIdOf(jws: unknown): string {
  if (typeof jws !== "string" || jws.length > 8192) throw new AgentError("ERR_TERMINAL_SIGNATURE", "a terminal message is a compact JWS");
  try {
    const header = JSON.parse(Buffer.from(jws.split(".")[0] ?? "", "base64url").toString("utf8")) as { kid?: unknown };
    const kid = terminalIdSchema.safeParse(header.kid);
    if (kid.success) return kid.data;
  } catch {
    /* fall through */
  }
  throw new AgentError("ERR_TERMINAL_SIGNATURE", "the message names no terminal");
}

/**
 * Verifies a terminal message: ES256 by the terminal's registered key, the expected `typ`, for this platform,
 * fresh (`iat` within MESSAGE_MAX_AGE_SECONDS), with a nonce. Single use is the caller's (`NonceLedger`).
 * Throws ERR_TERMINAL_SIGNATURE or ERR_TERMINAL_MESSAGE_STALE.
 */
export function verifyTerminalMessage(jws: string, key: P256PublicJwk, expected: { kind: TerminalMessageKind; audience: string; now: Date }): Record<string, unknown> & { iat: number; nonce: string } {
  const r = verifyJwt(jws, key, { typ: TERMINAL_TYP[expected.kind], algs: ["ES256"] });
  if (!r.verified) throw new AgentError("ERR_TERMINAL_SIGNATURE", `the message is not signed by the terminal's device key (${r.errors[0]?.code})`);
  const p = r.payload!;
  if (p.aud !== expected.audience) throw new AgentError("ERR_TERMINAL_SIGNATURE", "the message is not for this platform");
  if (typeof p.nonce !== "string" || p.nonce.length < 16 || p.nonce.length > 128) throw new AgentError("ERR_TERMINAL_SIGNATURE", "the message carries no nonce");
  const t = expected.now.getTime() / 1000;
  if (typeof p.iat !== "number" || !Number.isFinite(p.iat)) throw new AgentError("ERR_TERMINAL_SIGNATURE", "the message has no time");
  if (p.iat > t + MESSAGE_MAX_SKEW_SECONDS || p.iat < t - MESSAGE_MAX_AGE_SECONDS) throw new AgentError("ERR_TERMINAL_MESSAGE_STALE", "the message is not fresh");
  return p as Record<string, unknown> & { iat: number; nonce: string };
}

/**
 * Nonces seen per terminal, kept as long as a message carrying them could still be fresh. In memory: a
 * message outlives its freshness window by seconds, so a restart forgets nothing that could be replayed
 * after it (the window has passed) unless it restarts within the window; several replicas would share a
 * store with `putIfAbsent` (SpentTokens) instead.
 */
export class NonceLedger {
  private readonly seen = new Map<string, number>();

  spend(terminalId: string, nonce: string, now: Date): void {
    const t = now.getTime();
    if (this.seen.size > 50_000) for (const [k, exp] of this.seen) if (exp <= t) this.seen.delete(k);
    const key = `${terminalId}|${nonce}`;
    const exp = this.seen.get(key);
    if (exp !== undefined && exp > t) throw new AgentError("ERR_REPLAYED", "this message was used before; sign a new one");
    this.seen.set(key, t + (MESSAGE_MAX_AGE_SECONDS + MESSAGE_MAX_SKEW_SECONDS + 1) * 1000);
  }
}
