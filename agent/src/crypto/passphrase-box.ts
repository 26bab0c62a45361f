import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { AgentError } from "../errors.js";
import type { DocumentStore } from "../stores/document-store.js";

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: object) => Promise<Buffer>;

/** scrypt cost: ~100 ms and 32 MiB per derivation, so guessing a PIN offline is slow. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const CHECK_PLAINTEXT = "realname-agent-key-check-v1";

interface BoxHeader {
  version: 1;
  kdf: "scrypt";
  salt: string;
  N: number;
  r: number;
  p: number;
  check: string;
}

/**
 * AES-256-GCM under a key derived (scrypt) from a passphrase or PIN. Everything secret an agent stores
 * (private keys, the wallet's pairwise seed) goes through one of these, so no key is ever stored in clear.
 * The header (salt and a check value) lives in the role's database; a wrong passphrase is detected by the
 * check value's authentication tag and reveals nothing.
 */
export class PassphraseBox {
  private constructor(private readonly key: Buffer) {}

  static async open(meta: DocumentStore<BoxHeader>, passphrase: string): Promise<PassphraseBox> {
    if (typeof passphrase !== "string" || passphrase.length < 4) {
      throw new AgentError("ERR_WEAK_PASSPHRASE", "the PIN or passphrase must have at least 4 characters");
    }
    const existing = await meta.get("box");
    if (!existing) {
      const salt = randomBytes(16);
      const key = await scrypt(passphrase.normalize("NFKC"), salt, 32, SCRYPT);
      const box = new PassphraseBox(key);
      const header: BoxHeader = { version: 1, kdf: "scrypt", salt: salt.toString("base64url"), N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, check: box.encrypt(CHECK_PLAINTEXT) };
      if (await meta.putIfAbsent("box", header)) return box;
      return PassphraseBox.open(meta, passphrase);
    }
    const key = await scrypt(passphrase.normalize("NFKC"), Buffer.from(existing.salt, "base64url"), 32, {
      N: existing.N, r: existing.r, p: existing.p, maxmem: SCRYPT.maxmem,
    });
    const box = new PassphraseBox(key);
    let check: string | undefined;
    try {
      check = box.decrypt(existing.check);
    } catch {
      check = undefined;
    }
    if (check === undefined || !timingSafeEqual(Buffer.from(check), Buffer.from(CHECK_PLAINTEXT))) {
      throw new AgentError("ERR_WRONG_PASSPHRASE", "the PIN or passphrase is wrong");
    }
    return box;
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
