import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { AgentError } from "../errors.js";

/**
 * The issuer's data key: AES-256-GCM for identities at rest, and (derived by HKDF) an HMAC key for
 * pseudonymous lookup keys and risk-log subjects, so no ID number is ever a key or a log field in clear.
 */
export class DataKey {
  private readonly encKey: Buffer;
  private readonly macKey: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new AgentError("ERR_DATA_KEY", "the data key must be 32 bytes");
    this.encKey = Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), "realname-issuer-encrypt-v1", 32));
    this.macKey = Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), "realname-issuer-index-v1", 32));
  }

  /** From ISSUER_DATA_KEY (base64 or hex of 32 bytes) or ISSUER_DATA_KEY_FILE; undefined if neither is set. */
  static fromEnvironment(env: NodeJS.ProcessEnv): DataKey | undefined {
    const raw = env.ISSUER_DATA_KEY ?? (env.ISSUER_DATA_KEY_FILE ? readFileSync(env.ISSUER_DATA_KEY_FILE, "utf8").trim() : undefined);
    if (!raw) return undefined;
    const bytes = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, "hex") : Buffer.from(raw, "base64");
    if (bytes.length !== 32) throw new AgentError("ERR_DATA_KEY", "ISSUER_DATA_KEY must encode exactly 32 bytes (hex or base64)");
    return new DataKey(bytes);
  }

  static ephemeral(): DataKey {
    return new DataKey(randomBytes(32));
  }

  /** A keyed, one-way index of a personal value (e.g. an ID number): stable, unguessable without the key. */
  index(kind: string, value: string): string {
    return createHmac("sha256", this.macKey).update(`${kind}\u0000${value}`).digest("base64url").slice(0, 32);
  }

  seal(plaintext: string, associated = ""): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.encKey, iv);
    cipher.setAAD(Buffer.from(associated));
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `v1.${iv.toString("base64url")}.${ct.toString("base64url")}.${cipher.getAuthTag().toString("base64url")}`;
  }

  open(sealed: string, associated = ""): string {
    const [v, iv, ct, tag] = sealed.split(".");
    if (v !== "v1" || !iv || ct === undefined || !tag) throw new AgentError("ERR_SEALED_DATA_CORRUPT", "sealed record malformed");
    const d = createDecipheriv("aes-256-gcm", this.encKey, Buffer.from(iv, "base64url"));
    d.setAAD(Buffer.from(associated));
    d.setAuthTag(Buffer.from(tag, "base64url"));
    try {
      return Buffer.concat([d.update(Buffer.from(ct, "base64url")), d.final()]).toString("utf8");
    } catch (cause) {
      throw new AgentError("ERR_SEALED_DATA_CORRUPT", "sealed record failed authentication (wrong key or tampered)", undefined, { cause });
    }
  }
}
