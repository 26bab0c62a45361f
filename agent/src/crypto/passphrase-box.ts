import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { AgentError } from "../errors.js";
import type { DocumentStore } from "../stores/document-store.js";

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: object) => Promise<Buffer>;

/** scrypt cost: ~100 ms and 32 MiB per derivation, so guessing a PIN offline is slow. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const CHECK_PLAINTEXT = "realname-agent-key-check-v1";

export interface BoxHeader {
  version: 1;
  kdf: "scrypt";
  salt: string;
  N: number;
  r: number;
  p: number;
  check: string;
}

/** Wrong-PIN bookkeeping. Free attempts first, then a lock that doubles with every further failure. */
export interface LockState {
  failures: number;
  lockedUntil: number;
}
export const LOCK_POLICY = { freeAttempts: 3, firstLockMs: 30_000, maxLockMs: 24 * 3600_000 };

export function lockDuration(failures: number): number {
  if (failures < LOCK_POLICY.freeAttempts) return 0;
  return Math.min(LOCK_POLICY.maxLockMs, LOCK_POLICY.firstLockMs * 2 ** (failures - LOCK_POLICY.freeAttempts));
}

async function derive(passphrase: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return scrypt(passphrase.normalize("NFKC"), salt, 32, { ...params, maxmem: SCRYPT.maxmem });
}

function checkPassphrase(passphrase: unknown): asserts passphrase is string {
  if (typeof passphrase !== "string" || passphrase.length < 4) throw new AgentError("ERR_WEAK_PASSPHRASE", "the PIN or passphrase must have at least 4 characters");
}

/**
 * AES-256-GCM under a key derived (scrypt) from a passphrase or PIN. Everything secret an agent stores
 * (private keys, the wallet's pairwise seed, credentials) goes through one of these, so no key is ever
 * stored in clear. A wrong passphrase is detected by the check value's authentication tag and reveals
 * nothing; repeated wrong passphrases lock the box for a growing time (the lock protects the live wallet;
 * offline guessing is what scrypt's cost is for).
 */
export class PassphraseBox {
  private constructor(private key: Buffer) {}

  /**
   * Takes over another box's key (after a PIN change), so every store holding this box (Veramo's private
   * key store among them) uses the new key from now on.
   */
  replaceWith(other: PassphraseBox): void {
    this.key = other.key;
  }

  static async open(meta: DocumentStore<BoxHeader | LockState>, passphrase: string, clock: () => Date = () => new Date()): Promise<PassphraseBox> {
    checkPassphrase(passphrase);
    const existing = (await meta.get("box")) as BoxHeader | undefined;
    if (!existing) {
      const { box, header } = await PassphraseBox.create(passphrase);
      if (await meta.putIfAbsent("box", header)) return box;
      return PassphraseBox.open(meta, passphrase, clock);
    }
    const now = clock().getTime();
    const lock = ((await meta.get("lock")) as LockState | undefined) ?? { failures: 0, lockedUntil: 0 };
    if (lock.lockedUntil > now) {
      const seconds = Math.ceil((lock.lockedUntil - now) / 1000);
      throw new AgentError("ERR_WALLET_LOCKED", `too many wrong PINs: locked for another ${seconds} s`, { retryAfterSeconds: seconds });
    }
    const box = new PassphraseBox(await derive(passphrase, Buffer.from(existing.salt, "base64url"), existing));
    if (!box.matches(existing.check)) {
      const failures = lock.failures + 1;
      await meta.put("lock", { failures, lockedUntil: now + lockDuration(failures) });
      const wait = lockDuration(failures);
      throw new AgentError("ERR_WRONG_PASSPHRASE", wait ? `the PIN is wrong; the wallet is locked for ${Math.ceil(wait / 1000)} s` : "the PIN is wrong", { failures, triesLeft: Math.max(0, LOCK_POLICY.freeAttempts - failures) });
    }
    if (lock.failures) await meta.del("lock");
    return box;
  }

  private static async create(passphrase: string): Promise<{ box: PassphraseBox; header: BoxHeader }> {
    const salt = randomBytes(16);
    const box = new PassphraseBox(await derive(passphrase, salt, SCRYPT));
    return { box, header: { version: 1, kdf: "scrypt", salt: salt.toString("base64url"), N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, check: box.encrypt(CHECK_PLAINTEXT) } };
  }

  /** A new box under a new passphrase, and its header; the caller re-seals everything and swaps atomically. */
  static async rekey(newPassphrase: string): Promise<{ box: PassphraseBox; header: BoxHeader }> {
    checkPassphrase(newPassphrase);
    return PassphraseBox.create(newPassphrase);
  }

  /** A standalone box for exports (backups): header and key derived from a separate passphrase. */
  static async forHeader(header: BoxHeader, passphrase: string): Promise<PassphraseBox> {
    checkPassphrase(passphrase);
    const box = new PassphraseBox(await derive(passphrase, Buffer.from(header.salt, "base64url"), header));
    if (!box.matches(header.check)) throw new AgentError("ERR_WRONG_PASSPHRASE", "the backup passphrase is wrong");
    return box;
  }

  private matches(check: string): boolean {
    try {
      const plain = this.decrypt(check);
      return plain.length === CHECK_PLAINTEXT.length && timingSafeEqual(Buffer.from(plain), Buffer.from(CHECK_PLAINTEXT));
    } catch {
      return false;
    }
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return ["v1", iv.toString("base64url"), ct.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(".");
  }

  decrypt(sealed: string): string {
    const [version, iv, ct, tag] = sealed.split(".");
    if (version !== "v1" || !iv || ct === undefined || !tag) {
      throw new AgentError("ERR_SEALED_DATA_CORRUPT", "encrypted data is not in the expected format");
    }
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
    } catch (cause) {
      throw new AgentError("ERR_SEALED_DATA_CORRUPT", "encrypted data failed authentication", undefined, { cause });
    }
  }
}
