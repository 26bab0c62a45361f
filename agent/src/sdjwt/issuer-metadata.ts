import { AgentError } from "../errors.js";
import { keyObjectFromJwk, type PublicJwk } from "../crypto/jws.js";
import { isPlainObject } from "../encoding.js";
import { boundedFetch, isLoopbackHttpUrl } from "../http/bounded-fetch.js";
import type { TrustedIssuerKey } from "./verify.js";

/**
 * JWT VC Issuer Metadata (draft-ietf-oauth-sd-jwt-vc, "JWT VC Issuer Metadata"): an issuer whose `iss` is an
 * https URL publishes its keys at `/.well-known/jwt-vc-issuer`, inserted between the host and the path
 * component of `iss` (`https://host/tenant` -> `https://host/.well-known/jwt-vc-issuer/tenant`). The document
 * carries `issuer` (exactly the `iss`) and `jwks` (inline) or `jwks_uri`. A verifier finds the key from this
 * alone: no DID resolution.
 */
export const JWT_VC_ISSUER_WELL_KNOWN = "/.well-known/jwt-vc-issuer";

export function jwtVcIssuerMetadataUrl(iss: string): string {
  const url = new URL(iss);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/+$/, "");
  return `${url.origin}${JWT_VC_ISSUER_WELL_KNOWN}${path}`;
}

/** An `iss` that names its issuer by URL (https; plain http only on loopback, for development). */
export function isUrlIssuer(iss: string): boolean {
  try {
    const url = new URL(iss);
    return (url.protocol === "https:" || isLoopbackHttpUrl(iss)) && !url.search && !url.hash && !url.username && !url.password;
  } catch {
    return false;
  }
}

export function jwtVcIssuerMetadata(args: { issuer: string; keys: Array<PublicJwk & { kid?: string }> }): { issuer: string; jwks: { keys: Array<Record<string, unknown>> } } {
  return { issuer: args.issuer, jwks: { keys: args.keys.map((k) => ({ ...k, use: "sig", alg: k.kty === "OKP" ? "EdDSA" : "ES256" })) } };
}

interface CachedKeys {
  keys: TrustedIssuerKey[];
  until: number;
}

/**
 * Turns a trust list of issuer identifiers into keys for the strict verifier: a DID stays as it is (did:key
 * carries its key), an https issuer URL becomes its `{iss, jwk, kid}` entries read from its JWT VC Issuer
 * Metadata with the bounded fetch (the `issuer` in the document must be exactly the URL), cached for
 * `cacheSeconds`. Plain http is allowed only for a loopback issuer URL the operator configured (development).
 * An issuer whose metadata cannot be read is refused with ERR_ISSUER_METADATA_UNAVAILABLE (503).
 */
export class IssuerMetadataResolver {
  private readonly cache = new Map<string, CachedKeys>();

  constructor(private readonly options: { cacheSeconds?: number; fetch?: (url: string) => Promise<Response>; clock?: () => Date; timeoutMs?: number } = {}) {}

  async resolve(trusted: ReadonlyArray<string | TrustedIssuerKey>): Promise<Array<string | TrustedIssuerKey>> {
    const out: Array<string | TrustedIssuerKey> = [];
    for (const entry of trusted) {
      if (typeof entry === "string" && isUrlIssuer(entry)) out.push(...(await this.keysOf(entry)));
      else out.push(entry);
    }
    return out;
  }

  /** The keys an https issuer publishes in its JWT VC Issuer Metadata. */
  async keysOf(iss: string): Promise<TrustedIssuerKey[]> {
    const now = (this.options.clock ?? (() => new Date()))().getTime();
    const cached = this.cache.get(iss);
    if (cached && cached.until > now) return cached.keys;
    let keys: TrustedIssuerKey[];
    try {
      keys = await this.fetchKeys(iss);
    } catch (error) {
      if (error instanceof AgentError && error.code === "ERR_ISSUER_METADATA_INVALID") throw error;
      throw new AgentError("ERR_ISSUER_METADATA_UNAVAILABLE", `the issuer's metadata cannot be read: ${(error as Error).message}`.slice(0, 300));
    }
    if (this.cache.size > 100) this.cache.clear();
    this.cache.set(iss, { keys, until: now + (this.options.cacheSeconds ?? 300) * 1000 });
    return keys;
  }

  private async getJson(url: string, allowLoopbackHttp: boolean): Promise<unknown> {
    const init = { headers: { accept: "application/json" } };
    const response = this.options.fetch ? await this.options.fetch(url) : await boundedFetch(url, init, { allowLoopbackHttp, timeoutMs: this.options.timeoutMs ?? 5000, maxBytes: 200_000 });
    if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
    return response.json();
  }

  private async fetchKeys(iss: string): Promise<TrustedIssuerKey[]> {
    const allowLoopbackHttp = isLoopbackHttpUrl(iss);
    const invalid = (why: string) => new AgentError("ERR_ISSUER_METADATA_INVALID", `the issuer's metadata ${why}`);
    const metadata = await this.getJson(jwtVcIssuerMetadataUrl(iss), allowLoopbackHttp);
    if (!isPlainObject(metadata)) throw invalid("is not a JSON object");
    if (metadata.issuer !== iss) throw invalid("names another issuer");
    if (metadata.jwks !== undefined && metadata.jwks_uri !== undefined) throw invalid("has both jwks and jwks_uri");
    let jwks: unknown = metadata.jwks;
    if (jwks === undefined) {
      if (typeof metadata.jwks_uri !== "string") throw invalid("has neither jwks nor jwks_uri");
      const jwksUri = new URL(metadata.jwks_uri);
      // The key set lives with the issuer: same origin, so the metadata cannot send the verifier elsewhere.
      if (jwksUri.origin !== new URL(iss).origin) throw invalid("points jwks_uri at another origin");
      jwks = await this.getJson(jwksUri.href, allowLoopbackHttp);
    }
    const keys = isPlainObject(jwks) && Array.isArray(jwks.keys) ? jwks.keys : undefined;
    if (!keys) throw invalid("has no key set");
    const usable: TrustedIssuerKey[] = [];
    for (const key of keys.slice(0, 16)) {
      if (!isPlainObject(key) || (key.use !== undefined && key.use !== "sig") || !keyObjectFromJwk(key)) continue;
      const jwk = (key.kty === "OKP" ? { kty: "OKP", crv: key.crv, x: key.x } : { kty: "EC", crv: key.crv, x: key.x, y: key.y }) as PublicJwk;
      usable.push({ iss, jwk, ...(typeof key.kid === "string" ? { kid: key.kid } : {}) });
    }
    if (usable.length === 0) throw invalid("has no usable signing key");
    return usable;
  }
}
