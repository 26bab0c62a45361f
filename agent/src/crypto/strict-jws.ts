import { isPlainObject } from "../encoding.js";
import { decodeB64urlStrict, decodeJsonSegmentStrict, type StrictResult } from "../encoding-strict.js";
import type { DecodedJws } from "./jws.js";

/**
 * A compact JWS decoded the way a verifier of someone else's token must (RFC 7515 §5.2, RFC 7519 §7.2):
 * three canonical base64url parts, header and payload UTF-8 JSON objects without duplicate member names.
 * Nothing is verified here; see encoding-strict.ts for what each refusal means.
 */
export function decodeJwsStrict(compact: string): StrictResult<DecodedJws> {
  const parts = compact.split(".");
  if (parts.length !== 3) return { ok: false, problem: "malformed", message: "not a compact JWS (three parts)" };
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJsonSegmentStrict(h);
  if (!header.ok) return { ...header, message: `header: ${header.message}` };
  if (!isPlainObject(header.value)) return { ok: false, problem: "malformed", message: "the header is not a JSON object" };
  const payload = decodeJsonSegmentStrict(p);
  if (!payload.ok) return { ...payload, message: `payload: ${payload.message}` };
  if (!isPlainObject(payload.value)) return { ok: false, problem: "malformed", message: "the payload is not a JSON object" };
  // An empty signature decodes (alg "none"), so that the caller refuses it by its algorithm.
  const signature = decodeB64urlStrict(s);
  if (!signature.ok) return { ...signature, message: `signature: ${signature.message}` };
  return { ok: true, value: { header: header.value, payload: payload.value, signingInput: `${h}.${p}`, signature: signature.value } };
}

/** Header parameters registered by RFC 7515/7516/7518: never allowed in `crit` (RFC 7515 §4.1.11). */
const REGISTERED_HEADER_PARAMETERS = new Set(["alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c"]);

/**
 * Why a header's `crit` must be refused, or undefined when it is absent or names only `understood`
 * extensions (RFC 7515 §4.1.11): it must be a non-empty array of distinct strings, each the name of a
 * parameter present in the header, none registered by the JOSE specifications, and every one understood.
 */
export function critProblem(header: Record<string, unknown>, understood: ReadonlySet<string> = new Set()): string | undefined {
  if (header.crit === undefined) return undefined;
  const crit = header.crit;
  if (!Array.isArray(crit) || crit.length === 0) return "crit must be a non-empty array";
  if (crit.some((n) => typeof n !== "string")) return "crit must list header parameter names";
  if (new Set(crit).size !== crit.length) return "crit lists a name twice";
  for (const name of crit as string[]) {
    if (REGISTERED_HEADER_PARAMETERS.has(name)) return `crit may not list the registered parameter ${JSON.stringify(name)}`;
    if (!Object.prototype.hasOwnProperty.call(header, name)) return `crit lists ${JSON.stringify(name)}, which is not in the header`;
    if (!understood.has(name)) return `critical header parameter ${JSON.stringify(name)} is not understood`;
  }
  return undefined;
}
