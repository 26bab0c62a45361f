import { createHash, randomBytes } from "node:crypto";

export const utf8 = (s: string): Buffer => Buffer.from(s, "utf8");
export const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url");
export const fromB64url = (s: string): Buffer => Buffer.from(s, "base64url");
export const sha256 = (data: Uint8Array | string): Buffer =>
  createHash("sha256").update(typeof data === "string" ? utf8(data) : data).digest();
export const sha256B64url = (data: Uint8Array | string): string => b64url(sha256(data));
export const sha256Hex = (data: Uint8Array | string): string => sha256(data).toString("hex");
/** 128-bit random value, base64url: salts, nonces, identifiers that must not be guessable. */
export const random128 = (): string => b64url(randomBytes(16));

const B64URL = /^[A-Za-z0-9_-]*$/;
export const isB64url = (s: string): boolean => B64URL.test(s);

/** Parses a base64url JSON segment; returns undefined instead of throwing on garbage. */
export function parseB64urlJson(segment: string): unknown {
  if (!isB64url(segment)) return undefined;
  try {
    return JSON.parse(fromB64url(segment).toString("utf8"));
  } catch {
    return undefined;
  }
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export const nowSeconds = (clock: () => Date = () => new Date()): number => Math.floor(clock().getTime() / 1000);
