/**
 * SD-JWT (RFC 9901) and SD-JWT VC as a third party reads them: split, recompute digests, rebuild the
 * processed payload (RFC 9901 §7.1), check the key binding (§7.3), select disclosures for a presentation
 * (§4.2 / §7.2). Written from the RFC text with jose and node:crypto; @sd-jwt/decode is used only to cross-check
 * the splitting in tests. Errors are short stable strings, so tests can assert which rule refused.
 */
import { compactVerify, decodeProtectedHeader, importJWK, SignJWT, type JWK } from "jose";
import type { KeyObject } from "node:crypto";
import { algOfJwk, sha256b64url, type Alg } from "./keys.js";

export interface SplitSdJwt {
  issuerJwt: string;
  disclosures: string[];
  kbJwt?: string;
  /** The presentation up to and including the last "~" (what `sd_hash` covers). */
  sdJwtPart: string;
}

export class SdJwtError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export function splitSdJwt(text: string): SplitSdJwt {
  const parts = text.split("~");
  if (parts.length < 2) throw new SdJwtError("malformed", "an SD-JWT has at least one ~");
  const last = parts[parts.length - 1];
  const disclosures = parts.slice(1, -1);
  if (disclosures.some((d) => d === "")) throw new SdJwtError("malformed", "empty disclosure");
  return { issuerJwt: parts[0], disclosures, kbJwt: last === "" ? undefined : last, sdJwtPart: text.slice(0, text.length - last.length) };
}

export interface Disclosure {
  encoded: string;
  digest: string;
  salt: string;
  name?: string;
  value: unknown;
}

export function decodeDisclosure(encoded: string): Disclosure {
  let arr: unknown;
  try {
    arr = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    throw new SdJwtError("disclosure_malformed", "a disclosure is not base64url JSON");
  }
  if (!Array.isArray(arr) || (arr.length !== 2 && arr.length !== 3) || typeof arr[0] !== "string") throw new SdJwtError("disclosure_malformed", "a disclosure is not [salt, (name,) value]");
  if (arr.length === 3 && typeof arr[1] !== "string") throw new SdJwtError("disclosure_malformed", "a disclosure name is not a string");
  return arr.length === 3
    ? { encoded, digest: sha256b64url(encoded), salt: arr[0], name: arr[1], value: arr[2] }
    : { encoded, digest: sha256b64url(encoded), salt: arr[0], value: arr[1] };
}

const decodeJson = (segment: string) => JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
export const jwtPayload = (jwt: string) => decodeJson(jwt.split(".")[1]) as Record<string, any>;

/**
 * RFC 9901 §7.1 steps 3–5: replace every digest by its disclosure, recursively; refuse a digest that appears
 * twice, a disclosure that no digest references, a name that is `_sd`/`...` or collides with a plain claim,
 * and a disclosure of the wrong shape for where its digest sits.
 */
export function processPayload(payload: Record<string, any>, disclosures: string[]): { claims: Record<string, any>; used: Disclosure[] } {
  const byDigest = new Map<string, Disclosure>();
  for (const d of disclosures.map(decodeDisclosure)) {
    if (byDigest.has(d.digest)) throw new SdJwtError("disclosure_duplicate", "the same disclosure twice");
    byDigest.set(d.digest, d);
  }
  if (payload._sd_alg !== undefined && payload._sd_alg !== "sha-256") throw new SdJwtError("sd_alg_unsupported", `_sd_alg ${payload._sd_alg}`);
  const seen = new Set<string>();
  const used: Disclosure[] = [];
  const take = (digest: unknown): Disclosure | undefined => {
    if (typeof digest !== "string") throw new SdJwtError("digest_malformed", "a digest is not a string");
    if (seen.has(digest)) throw new SdJwtError("digest_duplicate", "a digest appears twice");
    seen.add(digest);
    const d = byDigest.get(digest);
    if (d) used.push(d);
    return d;
  };
  const walk = (node: any): any => {
    if (Array.isArray(node)) {
      const out: any[] = [];
      for (const el of node) {
        if (el && typeof el === "object" && !Array.isArray(el) && "..." in el) {
          if (Object.keys(el).length !== 1) throw new SdJwtError("digest_malformed", "an array digest object has other keys");
          const d = take(el["..."]);
          if (!d) continue;
          if (d.name !== undefined) throw new SdJwtError("disclosure_malformed", "an array element disclosure has a name");
          out.push(walk(d.value));
        } else out.push(walk(el));
      }
      return out;
    }
    if (node && typeof node === "object") {
      const out: Record<string, any> = {};
      for (const [k, v] of Object.entries(node)) if (k !== "_sd" && k !== "_sd_alg") out[k] = walk(v);
      if (node._sd !== undefined) {
        if (!Array.isArray(node._sd)) throw new SdJwtError("digest_malformed", "_sd is not an array");
        for (const digest of node._sd) {
          const d = take(digest);
          if (!d) continue;
          if (d.name === undefined) throw new SdJwtError("disclosure_malformed", "an object property disclosure has no name");
          if (d.name === "_sd" || d.name === "...") throw new SdJwtError("disclosure_name_forbidden", `disclosed name ${d.name}`);
          if (d.name in out) throw new SdJwtError("disclosure_name_collision", `${d.name} is already a claim`);
          out[d.name] = walk(d.value);
        }
      }
      return out;
    }
    return node;
  };
  const claims = walk(payload);
  for (const d of byDigest.values()) if (!used.includes(d)) throw new SdJwtError("disclosure_unreferenced", "a disclosure no digest references (tampered or foreign)");
  return { claims, used };
}

/** SD-JWT VC: claims that must never be selectively disclosed (draft §3.2.2.2). */
const NEVER_DISCLOSED = ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"];

export interface VerifiedSdJwt {
  header: Record<string, any>;
  claims: Record<string, any>;
  kb?: Record<string, any>;
}

export interface KeyBindingExpectation {
  aud: string;
  nonce: string;
  /** Seconds since the epoch. */
  now: number;
  /** How old a KB-JWT `iat` may be (and how far in the future), in seconds. */
  maxAgeSeconds: number;
  /** Each entry: the base64url-encoded transaction data string as sent in the request. */
  transactionData?: string[];
}

/**
 * RFC 9901 §7.1 + §7.3 with the SD-JWT VC rules: `typ` dc+sd-jwt, issuer signature under `issuerKey`, validity
 * times, digests, then the KB-JWT (`typ` kb+jwt, signed by `cnf.jwk`, `aud`, `nonce`, `iat`, `sd_hash`) and
 * OpenID4VP's `transaction_data_hashes`.
 */
export async function verifySdJwtVc(presentation: string, issuerKey: (header: Record<string, any>, payload: Record<string, any>) => Promise<JWK>, expect: KeyBindingExpectation): Promise<VerifiedSdJwt> {
  const split = splitSdJwt(presentation);
  let header: Record<string, any>;
  try {
    header = decodeProtectedHeader(split.issuerJwt) as Record<string, any>;
  } catch {
    throw new SdJwtError("malformed", "the issuer-signed JWT does not decode");
  }
  if (header.typ !== "dc+sd-jwt" && header.typ !== "vc+sd-jwt") throw new SdJwtError("typ", `issuer JWT typ ${header.typ}`);
  if (header.alg !== "EdDSA" && header.alg !== "ES256") throw new SdJwtError("alg", `issuer JWT alg ${header.alg}`);
  const unverified = jwtPayload(split.issuerJwt);
  const jwk = await issuerKey(header, unverified);
  if (algOfJwk(jwk) !== header.alg) throw new SdJwtError("alg", "the issuer key does not match alg");
  try {
    await compactVerify(split.issuerJwt, await importJWK(jwk, header.alg), { algorithms: [header.alg] });
  } catch {
    throw new SdJwtError("issuer_signature", "the issuer signature does not verify");
  }
  if (Array.isArray(header.crit) && header.crit.length) throw new SdJwtError("crit", "unknown critical header");
  const payload = unverified;
  const skew = 60;
  if (typeof payload.exp === "number" && payload.exp + skew < expect.now) throw new SdJwtError("expired", "the credential expired");
  if (typeof payload.nbf === "number" && payload.nbf - skew > expect.now) throw new SdJwtError("not_yet_valid", "the credential is not valid yet");
  if (typeof payload.vct !== "string") throw new SdJwtError("vct", "vct missing");
  const { claims, used } = processPayload(payload, split.disclosures);
  for (const d of used) if (d.name && NEVER_DISCLOSED.includes(d.name) && d.digest && payload._sd?.includes(d.digest)) throw new SdJwtError("disclosure_name_forbidden", `${d.name} must not be disclosable`);

  if (!split.kbJwt) throw new SdJwtError("kb_missing", "key binding required");
  const kbHeader = decodeProtectedHeader(split.kbJwt) as Record<string, any>;
  if (kbHeader.typ !== "kb+jwt") throw new SdJwtError("kb_typ", `KB-JWT typ ${kbHeader.typ}`);
  const holderJwk = payload.cnf?.jwk as JWK | undefined;
  if (!holderJwk) throw new SdJwtError("cnf", "no cnf.jwk");
  const holderAlg = algOfJwk(holderJwk);
  if (kbHeader.alg !== holderAlg) throw new SdJwtError("kb_alg", "KB-JWT alg does not match cnf");
  try {
    await compactVerify(split.kbJwt, await importJWK(holderJwk, holderAlg), { algorithms: [holderAlg] });
  } catch {
    throw new SdJwtError("kb_signature", "the key binding signature does not verify");
  }
  if (Array.isArray(kbHeader.crit) && kbHeader.crit.length) throw new SdJwtError("crit", "unknown critical header in KB-JWT");
  const kb = jwtPayload(split.kbJwt);
  if (kb.aud !== expect.aud) throw new SdJwtError("kb_aud", "the key binding is for another audience");
  if (kb.nonce !== expect.nonce) throw new SdJwtError("kb_nonce", "the key binding carries another nonce");
  if (typeof kb.iat !== "number" || kb.iat < expect.now - expect.maxAgeSeconds || kb.iat > expect.now + skew) throw new SdJwtError("kb_iat", "the key binding is not fresh");
  if (typeof kb.exp === "number" && kb.exp + skew < expect.now) throw new SdJwtError("kb_iat", "the key binding expired");
  if (kb.sd_hash !== sha256b64url(split.sdJwtPart)) throw new SdJwtError("kb_sd_hash", "sd_hash does not cover this presentation");
  if (expect.transactionData?.length) {
    if (kb.transaction_data_hashes_alg !== undefined && kb.transaction_data_hashes_alg !== "sha-256") throw new SdJwtError("transaction_data_hashes", "unsupported transaction_data_hashes_alg");
    const want = expect.transactionData.map(sha256b64url);
    const got = kb.transaction_data_hashes;
    if (!Array.isArray(got) || got.length !== want.length || !want.every((h) => got.includes(h))) throw new SdJwtError("transaction_data_hashes", "transaction_data_hashes do not match the request");
  }
  return { header, claims, kb };
}

/** The holder side (RFC 9901 §4.2): keep the disclosures whose claim names are asked for, add a KB-JWT. */
export function selectDisclosures(credential: string, wantedNames: string[]): string {
  const split = splitSdJwt(credential);
  const keep = split.disclosures.filter((encoded) => {
    const d = decodeDisclosure(encoded);
    return d.name !== undefined && wantedNames.includes(d.name);
  });
  return `${split.issuerJwt}~${keep.map((d) => `${d}~`).join("")}`;
}

export async function keyBindingJwt(sdJwtPart: string, holder: { alg: Alg; privateKey: KeyObject }, claims: { aud: string; nonce: string; iat: number; transaction_data_hashes?: string[] }): Promise<string> {
  const payload: Record<string, unknown> = { iat: claims.iat, aud: claims.aud, nonce: claims.nonce, sd_hash: sha256b64url(sdJwtPart) };
  if (claims.transaction_data_hashes) {
    payload.transaction_data_hashes = claims.transaction_data_hashes;
    payload.transaction_data_hashes_alg = "sha-256";
  }
  return new SignJWT(payload).setProtectedHeader({ alg: holder.alg, typ: "kb+jwt" }).sign(holder.privateKey);
}
