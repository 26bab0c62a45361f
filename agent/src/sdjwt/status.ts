import { getListFromStatusListJWT } from "@sd-jwt/jwt-status-list";
import { decodeJws, keyObjectFromJwk, verifyEd25519, verifyWithAlg, type PublicJwk } from "../crypto/jws.js";
import type { VerificationIssue } from "../errors.js";
import { publicKeyFromDidKey } from "../identity/did-key.js";
import { boundedFetch, checkFetchUrl } from "../http/bounded-fetch.js";

/** What a credential's `status` claim points at (IETF Token Status List). */
export interface StatusReference {
  idx: number;
  uri: string;
}

interface CachedList {
  issuer: string;
  jwt: string;
  statuses: { getStatus(i: number): number; statusList: number[] };
  size: number;
  validUntil: number;
}

/** Default bound on how stale a status answer may be (seconds): a revocation is seen within it. */
export const DEFAULT_STATUS_MAX_AGE_SECONDS = 60;

/**
 * Fetches and checks IETF Token Status Lists for a verifier: signed by the credential's issuer, about this
 * URI, fetched with a time and size limit, cached within its validity (`ttl`, bounded by `exp`) and never
 * longer than the verifier's own bound (`maxCacheSeconds`, default 60 s, whatever the list's ttl says), and
 * the index checked against the list's bounds. `fresh` checks bypass the cache. Network and clock are injected.
 */
export class StatusListResolver {
  private readonly cache = new Map<string, CachedList>();
  /** Fetches under way (single flight): answers that find the list due at the same moment share one fetch. */
  private readonly loading = new Map<string, Promise<CachedList>>();

  constructor(
    private readonly options: {
      fetch?: typeof fetch;
      timeoutMs?: number;
      maxBytes?: number;
      /** Upper bound on how long a list is trusted without refetching, seconds (default 60): the revocation delay. */
      maxCacheSeconds?: number;
      /** Plain http to a loopback issuer (development); https only otherwise. */
      allowLoopbackHttp?: boolean;
    } = {},
  ) {}

  /** The exact status-list JWT last used for `uri` (what the verifier relied on), if any. */
  listUsed(uri: string): string | undefined {
    return this.cache.get(uri)?.jwt;
  }

  /**
   * `fresh`: fetch the list now, never from the cache (for `full` grants). `issuerJwk`: the key the credential's
   * signature verified with (an https issuer's key from its metadata); `issuerJwks`: all the keys the trust list
   * names for the issuer (the list may be signed by another of them than the credential), preferred when given.
   * Without either the issuer must be a did:key.
   */
  async check(ref: unknown, issuer: string, now: Date, options: { fresh?: boolean; issuerJwk?: PublicJwk; issuerJwks?: readonly PublicJwk[] } = {}): Promise<VerificationIssue[]> {
    const r = ref as { status_list?: Partial<StatusReference> } | undefined;
    const idx = r?.status_list?.idx;
    const uri = r?.status_list?.uri;
    if (typeof idx !== "number" || !Number.isInteger(idx) || idx < 0 || typeof uri !== "string") return [{ code: "ERR_STATUS_MALFORMED", message: "the credential's status reference is malformed" }];
    let list: CachedList;
    try {
      list = await this.load(uri, issuer, now, options.fresh === true, options.issuerJwks ?? (options.issuerJwk ? [options.issuerJwk] : undefined));
    } catch (error) {
      return [{ code: "ERR_STATUS_UNAVAILABLE", message: `the credential's status cannot be checked: ${(error as Error).message}` }];
    }
    if (idx >= list.size) return [{ code: "ERR_STATUS_INDEX_OUT_OF_RANGE", message: "the status index is outside the status list" }];
    const value = list.statuses.getStatus(idx);
    if (value === 0) return [];
    if (value === 2) return [{ code: "ERR_CREDENTIAL_SUSPENDED", message: "the credential is suspended by its issuer" }];
    return [{ code: "ERR_CREDENTIAL_REVOKED", message: "the credential has been revoked by its issuer" }];
  }

  private async load(uri: string, issuer: string, now: Date, fresh: boolean, issuerJwks?: readonly PublicJwk[]): Promise<CachedList> {
    const t = Math.floor(now.getTime() / 1000);
    const cached = this.cache.get(uri);
    if (!fresh && cached && cached.issuer === issuer && cached.validUntil > t) return cached;
    // A `fresh` check fetches for itself; the others join a fetch of the same list by the same keys already
    // under way, so a list falling due under load is fetched and decoded once, not once per waiting answer.
    if (fresh) return this.fetchList(uri, issuer, t, issuerJwks);
    const key = JSON.stringify([uri, issuer, issuerJwks ?? null]);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.fetchList(uri, issuer, t, issuerJwks).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async fetchList(uri: string, issuer: string, t: number, issuerJwks?: readonly PublicJwk[]): Promise<CachedList> {
    const policy = { allowLoopbackHttp: this.options.allowLoopbackHttp ?? false, timeoutMs: this.options.timeoutMs ?? 3000, maxBytes: this.options.maxBytes ?? 1_000_000 };
    checkFetchUrl(new URL(uri), policy);
    const init = { headers: { accept: "application/statuslist+jwt" } };
    const response = this.options.fetch ? await this.options.fetch(uri, { ...init, signal: AbortSignal.timeout(policy.timeoutMs), redirect: "error" }) : await boundedFetch(uri, init, policy);
    if (!response.ok) throw new Error(`status list answered HTTP ${response.status}`);
    const declared = Number(response.headers.get("content-length") ?? 0);
    const max = policy.maxBytes;
    if (declared > max) throw new Error("status list too large");
    const text = await response.text();
    if (text.length > max) throw new Error("status list too large");
    const jws = decodeJws(text.trim());
    if (!jws || jws.header.typ !== "statuslist+jwt") throw new Error("not a signed status list");
    // Any of the issuer's keys (an issuer with an EdDSA and an ES256 key signs its list with one of them).
    const keys = issuerJwks?.map((jwk) => keyObjectFromJwk(jwk)).filter((k): k is NonNullable<typeof k> => !!k);
    const signed = keys ? keys.some((key) => verifyWithAlg(jws.header.alg, jws.signingInput, jws.signature, key)) : jws.header.alg === "EdDSA" && verifyEd25519(jws.signingInput, jws.signature, publicKeyFromDidKey(issuer));
    if (!signed) throw new Error("status list not signed by the credential's issuer");
    const p = jws.payload as { sub?: string; exp?: number; ttl?: number; iat?: number };
    if (p.sub !== uri) throw new Error("status list is about another URI");
    if (typeof p.exp === "number" && p.exp <= t) throw new Error("status list expired");
    const statuses = getListFromStatusListJWT(text.trim());
    const maxAge = this.options.maxCacheSeconds ?? DEFAULT_STATUS_MAX_AGE_SECONDS;
    const ttl = Math.max(0, Math.min(typeof p.ttl === "number" ? p.ttl : maxAge, maxAge));
    const entry: CachedList = { issuer, jwt: text.trim(), statuses: statuses as never, size: statuses.statusList.length, validUntil: Math.min(typeof p.exp === "number" ? p.exp : Infinity, t + ttl) };
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(uri, entry);
    return entry;
  }
}
