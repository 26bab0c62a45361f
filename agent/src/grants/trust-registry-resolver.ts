import { sha256Hex } from "../encoding.js";
import { fetchJson } from "../http/json-client.js";
import { verifyTrustRegistry, type TrustRegistryDocument } from "../issuer/trust-registry.js";

/** The registry JWT a verifier relied on: its exact bytes, their hash, where it was served, and what it says. */
export interface RelyingRegistry {
  jwt: string;
  hash: string;
  uri: string;
  document: TrustRegistryDocument;
}

/**
 * A verifier's copy of the issuer's signed merchant registry: fetched from the issuer, checked against the
 * trusted issuer DID, cached for a short while. The grant receipt names the exact JWT (hash and URI), so a
 * notary can later check that the merchant was registered when it counter-signed.
 */
export class TrustRegistryResolver {
  private cache?: { registry: RelyingRegistry; until: number };

  constructor(private readonly options: { issuerUrl: string; issuerDid: string; cacheSeconds?: number; fetchText?: (url: string) => Promise<string> }) {}

  get uri(): string {
    return new URL("/registry", this.options.issuerUrl).href;
  }

  /**
   * The registry valid at `now`: refetched when the cached one is stale or expired, or when it does not
   * `cover` what is being relied on (e.g. a registration made since it was fetched). Throws when it cannot be had.
   */
  async current(now: Date, covers?: (document: TrustRegistryDocument) => boolean): Promise<RelyingRegistry> {
    const t = now.getTime();
    const cached = this.cache;
    if (cached && cached.until > t && cached.registry.document.exp * 1000 > t && (!covers || covers(cached.registry.document))) return cached.registry;
    const fetchText = this.options.fetchText ?? ((url: string) => fetchJson<string>(url, { accept: "application/jwt", timeoutMs: 5000, maxBytes: 1_000_000 }));
    const jwt = String(await fetchText(this.uri)).trim();
    const document = verifyTrustRegistry(jwt, this.options.issuerDid, now);
    const registry = { jwt, hash: sha256Hex(jwt), uri: this.uri, document };
    this.cache = { registry, until: t + (this.options.cacheSeconds ?? 60) * 1000 };
    return registry;
  }
}
