import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { AgentError } from "../errors.js";
import type { P256PublicJwk } from "../identity/did-key.js";
import type { DocumentStore } from "../stores/document-store.js";

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

/**
 * A payment terminal. `first`: a person's wallet (bound to the identity whose registered face peers confirm);
 * `second`: a merchant's point of sale. Its device key signs every position and answer.
 */
export interface TerminalRecord {
  terminalId: string;
  kind: "first" | "second";
  label: string;
  publicJwk: P256PublicJwk;
  /** First terminals: the verified identity (the vault's ref) whose payment function this wallet holds. */
  identityRef?: string;
  /** Second terminals: the merchant (its DID in the trust registry) the POS belongs to. */
  merchantDid?: string;
  /** Takes part in the peer verification service (is asked to confirm nearby payers). */
  peerOptIn: boolean;
  /** First terminals: scrypt(PIN) to unlock the payment function after a refusal. */
  pin?: { salt: string; hash: string };
  /** The payment function is locked after a refused payment until PIN + fresh face check. */
  locked?: { since: string; verificationId: string };
  failedUnlocks?: number;
  registeredAt: string;
}

export const MAX_FAILED_UNLOCKS = 5;

async function pinHash(pin: string, salt: Buffer): Promise<Buffer> {
  return scrypt(pin.normalize("NFKC"), salt, 32);
}

/** Terminals, their opt-in and the payer's lock, behind the store interface (LevelDB by default). */
export class TerminalRegistry {
  constructor(private readonly store: DocumentStore<TerminalRecord>) {}

  async register(args: { terminalId: string; kind: "first" | "second"; label: string; publicJwk: P256PublicJwk; identityRef?: string; merchantDid?: string; peerOptIn: boolean; pin?: string }, now: Date): Promise<TerminalRecord> {
    if (args.kind === "first" && (!args.identityRef || !args.pin)) throw new AgentError("ERR_INVALID_INPUT", "a first terminal (wallet) names its identity and a PIN");
    if (args.kind === "second" && !args.merchantDid) throw new AgentError("ERR_INVALID_INPUT", "a second terminal (POS) names its merchant");
    const salt = randomBytes(16);
    const { pin, ...rest } = args;
    const record: TerminalRecord = {
      ...rest,
      ...(pin ? { pin: { salt: salt.toString("base64url"), hash: (await pinHash(pin, salt)).toString("base64url") } } : {}),
      registeredAt: now.toISOString(),
    };
    if (!(await this.store.putIfAbsent(args.terminalId, record))) throw new AgentError("ERR_CONFLICT", "a terminal with this id is already registered");
    return record;
  }

  async get(terminalId: string): Promise<TerminalRecord | undefined> {
    return this.store.get(terminalId);
  }

  async require(terminalId: string): Promise<TerminalRecord> {
    const t = await this.store.get(terminalId);
    if (!t) throw new AgentError("ERR_TERMINAL_UNKNOWN", "the terminal is not registered");
    return t;
  }

  async setOptIn(terminalId: string, optIn: boolean): Promise<TerminalRecord> {
    return (await this.change(terminalId, (t) => ({ ...t, peerOptIn: optIn })))!;
  }

  async lock(terminalId: string, verificationId: string, now: Date): Promise<void> {
    await this.change(terminalId, (t) => ({ ...t, locked: t.locked ?? { since: now.toISOString(), verificationId } }));
  }

  /** Checks the PIN (constant time); counts failures and refuses after MAX_FAILED_UNLOCKS until an admin resets. */
  async checkPin(terminalId: string, pin: string): Promise<void> {
    const t = await this.require(terminalId);
    if (!t.pin) throw new AgentError("ERR_FORBIDDEN", "this terminal has no PIN");
    if ((t.failedUnlocks ?? 0) >= MAX_FAILED_UNLOCKS) throw new AgentError("ERR_WALLET_LOCKED", "too many wrong PINs");
    const got = await pinHash(pin, Buffer.from(t.pin.salt, "base64url"));
    if (!timingSafeEqual(got, Buffer.from(t.pin.hash, "base64url"))) {
      await this.change(terminalId, (c) => ({ ...c, failedUnlocks: (c.failedUnlocks ?? 0) + 1 }));
      throw new AgentError("ERR_PIN_INVALID", "the PIN is wrong");
    }
  }

  async unlock(terminalId: string): Promise<void> {
    await this.change(terminalId, ({ locked: _l, failedUnlocks: _f, ...t }) => t);
  }

  async all(): Promise<TerminalRecord[]> {
    return (await this.store.list()).map(([, v]) => v);
  }

  private async change(terminalId: string, fn: (t: TerminalRecord) => TerminalRecord): Promise<TerminalRecord | undefined> {
    let missing = false;
    const next = await this.store.update(terminalId, (t) => {
      if (!t) {
        missing = true;
        return undefined;
      }
      return fn(t);
    });
    if (missing) throw new AgentError("ERR_TERMINAL_UNKNOWN", "the terminal is not registered");
    return next;
  }
}
