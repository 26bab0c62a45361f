import { keyObjectFromJwk, verifyWithAlg, type PublicJwk } from "../crypto/jws.js";
import { critProblem, decodeJwsStrict } from "../crypto/strict-jws.js";
import { isPlainObject, sha256B64url } from "../encoding.js";
import { decodeJsonSegmentStrict, type StrictProblem } from "../encoding-strict.js";
import type { VerificationIssue } from "../errors.js";
import { jwkFromDidKey, type Ed25519PublicJwk } from "../identity/did-key.js";
import { KB_JWT_TYP, NEVER_DISCLOSABLE, PLAIN_SUBTREES, SD_JWT_TYP } from "./identity-credential.js";

/**
 * Strict verification of an SD-JWT VC presentation with key binding, after RFC 9901 §7.1 (issuer-signed
 * JWT and disclosures) and §7.3 (key binding). Written here rather than delegated to @sd-jwt 0.19, which
 * accepts several of the attacks these rules refuse (see DEVELOPERS.md); @sd-jwt is used to build
 * presentations, this module decides whether to believe one. Clock and trust list are injected; the
 * result reports every refusal with a stable code instead of throwing.
 *
 * Every JSON text in the presentation (both JWTs' headers and payloads, every disclosure) is read strictly:
 * canonical base64url, valid UTF-8, no duplicate member names (see encoding-strict.ts); the key-binding JWT
 * is held to the same JWT rules as the issuer's (alg, typ, crit, exp, nbf, iat). The README's conformance
 * table maps each clause of RFC 9901 §7 and of the SD-JWT VC draft to the test that covers it.
 */
export interface VerifyPresentationOptions {
  presentation: unknown;
  /**
   * Issuers whose credentials are believed: Ed25519 did:key DIDs, or `{ iss, jwk }` pairs (EdDSA or ES256
   * keys). The key always comes from here, never from the token's header.
   */
  trustedIssuers: ReadonlyArray<string | TrustedIssuerKey>;
  /** This verifier's identifier: the KB-JWT `aud` must equal it exactly. */
  audience: string;
  /** The nonce this verifier issued for this request. */
  nonce: string;
  now?: () => Date;
  /** Tolerated clock difference for `iat`/`nbf`/`exp`, seconds. */
  clockSkewSeconds?: number;
  /** How old a key-binding JWT may be, seconds. */
  keyBindingMaxAgeSeconds?: number;
  /** Policy, not presence: a presentation without key binding fails when this is true (the default). */
  requireKeyBinding?: boolean;
  expectedVct?: string;
  /** When given, any disclosed top-level claim outside this list is refused. */
  allowedClaims?: readonly string[];
  /** When given, each of these must be disclosed. */
  requiredClaims?: readonly string[];
}

/**
 * An issuer identified by any `iss` value with its public key given as a JWK (e.g. read from its JWT VC Issuer
 * Metadata, see issuer-metadata.ts). With `kid`, the entry applies only to a JWT whose header names that kid
 * or names none (an issuer publishing several keys; the first matching entry is the one tried).
 */
export interface TrustedIssuerKey {
  iss: string;
  jwk: PublicJwk;
  kid?: string;
}

/**
 * The issuer's key for this token: among the trust list's keys for `iss` (a did:key of either curve, or
 * `{ iss, jwk, kid? }` entries: an issuer may have an EdDSA and an ES256 key, e.g. both published in its JWT VC
 * Issuer Metadata), those whose `kid` agrees with the header's, and of them the one of the header's algorithm;
 * otherwise the first, so that a header naming another algorithm is refused as such (ERR_SDJWT_ALG).
 */
function issuerKey(trusted: ReadonlyArray<string | TrustedIssuerKey>, iss: string, alg: unknown, kid: unknown): { key: NonNullable<ReturnType<typeof keyObjectFromJwk>>; jwk: PublicJwk } | undefined {
  const keys: Array<{ key: NonNullable<ReturnType<typeof keyObjectFromJwk>>; jwk: PublicJwk }> = [];
  for (const entry of trusted) {
    if (typeof entry === "string") {
      if (entry !== iss) continue;
      try {
        const jwk = jwkFromDidKey(entry);
        const key = keyObjectFromJwk(jwk);
        if (key) keys.push({ key, jwk });
      } catch {
        // not a did:key we can read: no key from this entry
      }
    } else if (entry.iss === iss && (entry.kid === undefined || kid === undefined || entry.kid === kid)) {
      const key = keyObjectFromJwk(entry.jwk);
      if (key) keys.push({ key, jwk: entry.jwk });
    }
  }
  return keys.find((k) => k.key.alg === alg) ?? keys[0];
}

/**
 * Every key the trust list names for `iss` (whatever kid or algorithm): an issuer's status list is its own
 * however it is signed (e.g. EdDSA by an issuer whose credential was ES256), so it is checked against these.
 */
function issuerJwksOf(trusted: ReadonlyArray<string | TrustedIssuerKey>, iss: string): PublicJwk[] {
  const jwks: PublicJwk[] = [];
  for (const entry of trusted) {
    if (typeof entry === "string") {
      if (entry !== iss) continue;
      try {
        jwks.push(jwkFromDidKey(entry));
      } catch {
        // not a did:key: no key from this entry
      }
    } else if (entry.iss === iss) jwks.push(entry.jwk);
  }
  return jwks;
}

export interface PresentationVerification {
  verified: boolean;
  errors: VerificationIssue[];
  /** The processed payload: plain claims plus the disclosed ones (only when verified). */
  claims?: Record<string, unknown>;
  /** Top-level claim names that were selectively disclosed. */
  disclosed?: string[];
  issuer?: string;
  /** The issuer key the signature verified with (from the trust list): status lists are checked against it. */
  issuerJwk?: PublicJwk;
  /** Every key the trust list names for this issuer (its status list may be signed by another of them). */
  issuerJwks?: PublicJwk[];
  holderJwk?: Ed25519PublicJwk | PublicJwk;
  keyBinding?: Record<string, unknown>;
  sdHash?: string;
}

export const SUPPORTED_ALGS = new Set(["EdDSA", "ES256"]);
const MAX_PRESENTATION_LENGTH = 64 * 1024;
const MAX_DISCLOSURES = 256;
const MAX_DEPTH = 16;

interface ParsedDisclosure {
  encoded: string;
  digest: string;
  salt: string;
  name?: string;
  value: unknown;
  used: boolean;
}

const issue = (code: string, message: string): VerificationIssue => ({ code, message });

/** The code for a strict-decoding refusal: `<prefix>_MALFORMED` as before, new codes for the stricter rules. */
const decodeCode = (prefix: string, problem: StrictProblem): string =>
  problem === "encoding" ? `${prefix}_ENCODING` : problem === "duplicate" ? `${prefix}_DUPLICATE_KEY` : `${prefix}_MALFORMED`;

/** The key-binding JWT's optional `nbf`/`exp` (RFC 7519 §4.1.4-5, NumericDate), checked as the issuer's are. */
function kbValidityIssues(claims: Record<string, unknown>, now: number, skew: number): VerificationIssue[] {
  const out: VerificationIssue[] = [];
  for (const claim of ["nbf", "exp"] as const) {
    if (claims[claim] !== undefined && (typeof claims[claim] !== "number" || !Number.isFinite(claims[claim]))) out.push(issue("ERR_KB_MALFORMED", `key-binding ${claim} must be a number`));
  }
  if (typeof claims.exp === "number" && claims.exp + skew <= now) out.push(issue("ERR_KB_EXPIRED", "the key-binding JWT has expired (exp)"));
  if (typeof claims.nbf === "number" && claims.nbf - skew > now) out.push(issue("ERR_KB_NOT_YET_VALID", "the key-binding JWT is not valid yet (nbf)"));
  return out;
}

/** Whether a value holds, at any depth, an `_sd` member or an array digest element (`{"...": digest}`). */
function containsSdMarkers(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length) {
    const v = pending.pop();
    if (Array.isArray(v)) {
      for (const element of v) {
        if (isPlainObject(element) && "..." in element) return true;
        pending.push(element);
      }
    } else if (isPlainObject(v)) {
      if ("_sd" in v) return true;
      pending.push(...Object.values(v));
    }
  }
  return false;
}

export function verifySdJwtPresentation(options: VerifyPresentationOptions): PresentationVerification {
  const errors: VerificationIssue[] = [];
  const fail = (code: string, message: string): PresentationVerification => ({ verified: false, errors: [...errors, issue(code, message)] });
  const now = Math.floor((options.now ?? (() => new Date()))().getTime() / 1000);
  const skew = options.clockSkewSeconds ?? 60;
  const kbMaxAge = options.keyBindingMaxAgeSeconds ?? 300;
  const requireKb = options.requireKeyBinding ?? true;

  // --- shape -------------------------------------------------------------------------------------------
  const presentation = options.presentation;
  if (typeof presentation !== "string" || presentation.length === 0) return fail("ERR_SDJWT_MALFORMED", "the presentation is not a string");
  if (presentation.length > MAX_PRESENTATION_LENGTH) return fail("ERR_SDJWT_TOO_LARGE", "the presentation is too large");
  const parts = presentation.split("~");
  if (parts.length < 2) return fail("ERR_SDJWT_MALFORMED", "an SD-JWT has a '~' after the issuer-signed JWT");
  const issuerJwt = parts[0]!;
  const kbJwt = parts[parts.length - 1]!;
  const encodedDisclosures = parts.slice(1, -1);
  if (encodedDisclosures.length > MAX_DISCLOSURES) return fail("ERR_SDJWT_TOO_LARGE", "too many disclosures");
  if (encodedDisclosures.some((d) => d.length === 0)) return fail("ERR_SDJWT_MALFORMED", "empty disclosure between '~'");

  // --- issuer-signed JWT (§7.1 steps 1-2) ------------------------------------------------------------------
  const decodedJws = decodeJwsStrict(issuerJwt);
  if (!decodedJws.ok) return fail(decodeCode("ERR_SDJWT", decodedJws.problem), `the issuer-signed JWT: ${decodedJws.message}`);
  const jws = decodedJws.value;
  const { header, payload } = jws;
  if (typeof header.alg !== "string" || !SUPPORTED_ALGS.has(header.alg)) return fail("ERR_SDJWT_ALG", `algorithm ${String(header.alg)} is not accepted`);
  if (header.typ !== SD_JWT_TYP) return fail("ERR_SDJWT_TYP", `typ must be ${SD_JWT_TYP}`);
  // We understand no JWS extension, so any `crit` is refused; critProblem says why (RFC 7515 §4.1.11).
  const issuerCrit = critProblem(header);
  if (issuerCrit) return fail("ERR_SDJWT_CRIT", issuerCrit);
  const iss = payload.iss;
  if (typeof iss !== "string") return fail("ERR_ISSUER_UNTRUSTED", "the issuer is not on the trust list");
  const found = issuerKey(options.trustedIssuers, iss, header.alg, header.kid);
  if (!found) return fail("ERR_ISSUER_UNTRUSTED", "the issuer is not on the trust list");
  const key = found.key;
  if (header.kid !== undefined && (typeof header.kid !== "string" || (iss.startsWith("did:") && header.kid.split("#")[0] !== iss))) {
    return fail("ERR_ISSUER_UNTRUSTED", "the signing key does not belong to the issuer");
  }
  if (header.alg !== key.alg) return fail("ERR_SDJWT_ALG", `the issuer's key does not sign with ${String(header.alg)}`);
  if (!verifyWithAlg(header.alg, jws.signingInput, jws.signature, key)) return fail("ERR_SDJWT_SIGNATURE", "the issuer's signature is invalid");
  if (payload._sd_alg !== undefined && payload._sd_alg !== "sha-256") return fail("ERR_SD_ALG", "unsupported _sd_alg");
  if (options.expectedVct !== undefined && payload.vct !== options.expectedVct) errors.push(issue("ERR_VCT", "unexpected credential type"));
  // SD-JWT VC §3.2.2.2: `vct` is REQUIRED, a case-sensitive string, plain in the issuer-signed JWT.
  if (typeof payload.vct !== "string" || payload.vct.length === 0) errors.push(issue("ERR_VCT_INVALID", "vct is required and must be a non-empty string"));

  // --- validity claims -------------------------------------------------------------------------------------
  for (const claim of ["iat", "nbf", "exp"] as const) {
    if (payload[claim] !== undefined && (typeof payload[claim] !== "number" || !Number.isFinite(payload[claim]))) {
      errors.push(issue("ERR_SDJWT_MALFORMED", `${claim} must be a number`));
    }
  }
  if (typeof payload.exp !== "number") errors.push(issue("ERR_SDJWT_MALFORMED", "the credential has no exp"));
  else if (payload.exp + skew <= now) errors.push(issue("ERR_CREDENTIAL_EXPIRED", "the credential has expired"));
  if (typeof payload.nbf === "number" && payload.nbf - skew > now) errors.push(issue("ERR_CREDENTIAL_NOT_YET_VALID", "the credential is not valid yet"));
  if (typeof payload.iat === "number" && payload.iat - skew > now) errors.push(issue("ERR_CREDENTIAL_NOT_YET_VALID", "the credential was issued in the future"));

  // --- disclosures (§7.1 steps 3-5) ------------------------------------------------------------------------
  const byDigest = new Map<string, ParsedDisclosure>();
  for (const encoded of encodedDisclosures) {
    const digest = sha256B64url(encoded);
    if (byDigest.has(digest)) return fail("ERR_DISCLOSURE_DUPLICATE", "a disclosure is presented twice");
    const strict = decodeJsonSegmentStrict(encoded);
    if (!strict.ok) return fail(decodeCode("ERR_DISCLOSURE", strict.problem), `a disclosure: ${strict.message}`);
    const decoded = strict.value;
    if (!Array.isArray(decoded) || (decoded.length !== 2 && decoded.length !== 3) || typeof decoded[0] !== "string") {
      return fail("ERR_DISCLOSURE_MALFORMED", "a disclosure is not [salt, name, value] or [salt, value]");
    }
    if (decoded.length === 3 && typeof decoded[1] !== "string") return fail("ERR_DISCLOSURE_MALFORMED", "a disclosure's claim name is not a string");
    byDigest.set(digest, {
      encoded,
      digest,
      salt: decoded[0],
      name: decoded.length === 3 ? (decoded[1] as string) : undefined,
      value: decoded.length === 3 ? decoded[2] : decoded[1],
      used: false,
    });
  }

  const seenDigests = new Set<string>();
  const structural: VerificationIssue[] = [];
  const disclosedTopLevel: string[] = [];

  // SD-JWT VC §3.2.2.2: `cnf` and `status` "MUST NOT be included in the Disclosures" — not as a whole (a
  // forbidden name, below) and not in part: any `_sd` or array digest anywhere inside them is refused, even a
  // decoy, so a verifier never reads a holder key or a status reference assembled from disclosures.
  for (const name of PLAIN_SUBTREES) {
    if (payload[name] !== undefined && containsSdMarkers(payload[name])) {
      structural.push(issue("ERR_DISCLOSURE_INSIDE_FORBIDDEN", `${name} must be plain at every depth: no _sd, no array digests`));
    }
  }

  const processValue = (value: unknown, depth: number, topLevel: boolean): unknown => {
    if (depth > MAX_DEPTH) {
      structural.push(issue("ERR_SDJWT_TOO_DEEP", "the payload is nested too deeply"));
      return undefined;
    }
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (const element of value) {
        if (isPlainObject(element) && "..." in element) {
          if (Object.keys(element).length !== 1 || typeof element["..."] !== "string") {
            structural.push(issue("ERR_SDJWT_MALFORMED", "an array digest element must be {\"...\": digest} only"));
            continue;
          }
          const d = element["..."];
          if (seenDigests.has(d)) structural.push(issue("ERR_DIGEST_DUPLICATE", "a digest appears more than once"));
          seenDigests.add(d);
          const disclosure = byDigest.get(d);
          if (!disclosure) continue; // a decoy or an undisclosed element
          if (disclosure.name !== undefined) {
            structural.push(issue("ERR_DISCLOSURE_MALFORMED", "an object-property disclosure is referenced from an array"));
            continue;
          }
          disclosure.used = true;
          out.push(processValue(disclosure.value, depth + 1, false));
        } else {
          out.push(processValue(element, depth + 1, false));
        }
      }
      return out;
    }
    if (!isPlainObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      if (key === "_sd" || (topLevel && key === "_sd_alg")) continue;
      out[key] = processValue(v, depth + 1, false);
    }
    if (value._sd !== undefined) {
      if (!Array.isArray(value._sd) || value._sd.some((d) => typeof d !== "string")) {
        structural.push(issue("ERR_SDJWT_MALFORMED", "_sd must be an array of digests"));
        return out;
      }
      for (const d of value._sd as string[]) {
        if (seenDigests.has(d)) {
          structural.push(issue("ERR_DIGEST_DUPLICATE", "a digest appears more than once"));
          continue;
        }
        seenDigests.add(d);
        const disclosure = byDigest.get(d);
        if (!disclosure) continue; // a decoy or an undisclosed claim
        disclosure.used = true;
        if (disclosure.name === undefined) {
          structural.push(issue("ERR_DISCLOSURE_MALFORMED", "an array-element disclosure is referenced from _sd"));
          continue;
        }
        if (disclosure.name === "_sd" || disclosure.name === "..." || (topLevel && NEVER_DISCLOSABLE.has(disclosure.name))) {
          structural.push(issue("ERR_DISCLOSURE_NAME_FORBIDDEN", `claim ${JSON.stringify(disclosure.name)} may not be disclosed selectively`));
          continue;
        }
        if (Object.prototype.hasOwnProperty.call(out, disclosure.name) || Object.prototype.hasOwnProperty.call(value, disclosure.name)) {
          structural.push(issue("ERR_CLAIM_COLLISION", `claim ${JSON.stringify(disclosure.name)} is both plain and disclosed, or disclosed twice`));
          continue;
        }
        out[disclosure.name] = processValue(disclosure.value, depth + 1, false);
        if (topLevel) disclosedTopLevel.push(disclosure.name);
      }
    }
    return out;
  };

  const claims = processValue(payload, 0, true) as Record<string, unknown>;
  errors.push(...structural);
  // `iat` may be disclosed (SD-JWT VC §3.2.2.2); RFC 9901 §7.1 step 6 checks it in the processed payload.
  if (payload.iat === undefined && claims.iat !== undefined) {
    if (typeof claims.iat !== "number" || !Number.isFinite(claims.iat)) errors.push(issue("ERR_SDJWT_MALFORMED", "iat must be a number"));
    else if (claims.iat - skew > now) errors.push(issue("ERR_CREDENTIAL_NOT_YET_VALID", "the credential was issued in the future"));
  }
  for (const d of byDigest.values()) {
    if (!d.used) {
      errors.push(issue("ERR_DISCLOSURE_UNREFERENCED", "a disclosure matches no digest in the credential (tampered or foreign)"));
      break;
    }
  }

  // --- disclosure policy ---------------------------------------------------------------------------------
  if (options.allowedClaims) {
    const extra = disclosedTopLevel.filter((n) => !options.allowedClaims!.includes(n));
    if (extra.length) errors.push(issue("ERR_CLAIMS_NOT_ALLOWED", `more claims disclosed than the request allows: ${extra.join(", ")}`));
  }
  if (options.requiredClaims) {
    const missing = options.requiredClaims.filter((n) => !disclosedTopLevel.includes(n));
    if (missing.length) errors.push(issue("ERR_CLAIMS_MISSING", `required claims not disclosed: ${missing.join(", ")}`));
  }

  // --- key binding (§7.3) --------------------------------------------------------------------------------
  const sdHash = sha256B64url(presentation.slice(0, presentation.length - kbJwt.length));
  let holderJwk: Ed25519PublicJwk | PublicJwk | undefined;
  let keyBinding: Record<string, unknown> | undefined;
  if (kbJwt === "") {
    if (requireKb) errors.push(issue("ERR_KB_MISSING", "key binding is required and missing"));
  } else {
    const cnf = payload.cnf;
    const holder = isPlainObject(cnf) ? keyObjectFromJwk(cnf.jwk) : undefined;
    if (!holder) errors.push(issue("ERR_CNF_MISSING", "the credential carries no usable holder key (cnf.jwk)"));
    else holderJwk = (cnf as { jwk: PublicJwk }).jwk;
    // The KB-JWT is a JWT: decoded as strictly as the issuer's, and held to every RFC 7515/7519 rule
    // (RFC 9901 §7.3 step 5.8), with the same clock skew.
    const decodedKb = decodeJwsStrict(kbJwt);
    if (!decodedKb.ok) errors.push(issue(decodeCode("ERR_KB", decodedKb.problem), `the key-binding JWT: ${decodedKb.message}`));
    else if (holder) {
      const kb = decodedKb.value;
      const kbCrit = critProblem(kb.header);
      if (kb.header.typ !== KB_JWT_TYP) errors.push(issue("ERR_KB_TYP", `key-binding typ must be ${KB_JWT_TYP}`));
      else if (typeof kb.header.alg !== "string" || !SUPPORTED_ALGS.has(kb.header.alg) || kb.header.alg !== holder.alg) errors.push(issue("ERR_KB_ALG", "key-binding algorithm not accepted for the holder key"));
      else if (kbCrit) errors.push(issue("ERR_KB_CRIT", `key-binding JWT: ${kbCrit}`));
      else if (!verifyWithAlg(kb.header.alg, kb.signingInput, kb.signature, holder)) errors.push(issue("ERR_KB_SIGNATURE", "the key-binding signature is not by the credential's holder key"));
      else {
        const p = kb.payload;
        keyBinding = p;
        if (typeof p.aud !== "string" || p.aud !== options.audience) errors.push(issue("ERR_KB_AUDIENCE", "the presentation was made for another audience"));
        if (typeof p.nonce !== "string" || p.nonce !== options.nonce) errors.push(issue("ERR_KB_NONCE", "the presentation answers another request (nonce)"));
        if (typeof p.iat !== "number" || !Number.isFinite(p.iat)) errors.push(issue("ERR_KB_MALFORMED", "key-binding iat missing or not a number"));
        else if (p.iat - skew > now) errors.push(issue("ERR_KB_FUTURE", "the key-binding JWT is dated in the future"));
        else if (p.iat + kbMaxAge + skew < now) errors.push(issue("ERR_KB_STALE", "the key-binding JWT is too old"));
        errors.push(...kbValidityIssues(p, now, skew));
        if (p.sd_hash !== sdHash) errors.push(issue("ERR_KB_SD_HASH", "sd_hash does not match the presented SD-JWT"));
      }
    }
  }

  if (errors.length) return { verified: false, errors };
  return { verified: true, errors: [], claims, disclosed: disclosedTopLevel, issuer: iss, issuerJwk: found.jwk, issuerJwks: issuerJwksOf(options.trustedIssuers, iss), holderJwk, keyBinding, sdHash };
}
