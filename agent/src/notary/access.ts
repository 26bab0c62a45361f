import { decodeJws, signJws, verifyEd25519, type JwsSigner } from "../crypto/jws.js";
import { AgentError } from "../errors.js";
import { random128, sha256B64url } from "../encoding.js";
import { fetchJson } from "../http/json-client.js";
import { didKeyKid, publicKeyFromDidKey } from "../identity/did-key.js";
import { verifyTrustRegistry } from "../issuer/trust-registry.js";
import type { DocumentStore } from "../stores/document-store.js";
import { MemoryDocumentStore } from "../stores/memory-store.js";
import { SpentTokens } from "../stores/spent-tokens.js";

export const NOTARY_AUTH_TYP = "notary-auth+jwt";
export const NOTARY_AUTH_SCHEME = "NotaryDID";
/** How far a notary signature's `iat` may be from now. */
const MAX_SKEW_SECONDS = 120;
const SWEEP_EVERY_MS = 60_000;

/**
 * A notary authenticates to a merchant's service by signing, with its DID, a short-lived token bound to the
 * exact request (method and path with query) and used once (`jti`). The merchant believes it only if the DID
 * is a notary in the issuer's signed registry.
 */
export async function notaryAuthorization(notary: { did: string; signer: JwsSigner }, audience: string, method: string, pathWithQuery: string, now = new Date()): Promise<string> {
  const jwt = await signJws(
    { typ: NOTARY_AUTH_TYP, alg: "EdDSA", kid: didKeyKid(notary.did) },
    { iss: notary.did, aud: audience, iat: Math.floor(now.getTime() / 1000), req: sha256B64url(`${method.toUpperCase()} ${pathWithQuery}`), jti: random128() },
    notary.signer,
  );
  return `${NOTARY_AUTH_SCHEME} ${jwt}`;
}

/** The merchant's side: which notary (if any) signed this request. Throws ERR_FORBIDDEN otherwise. */
export class NotaryGate {
  private cache?: { notaries: Set<string>; until: number };

  private readonly spent: SpentTokens;
  private lastSweep = 0;

  constructor(
    private readonly options: {
      audience: string;
      issuerUrl?: string;
      issuerDid?: string;
      clock?: () => Date;
      cacheSeconds?: number;
      /** Fetch the registry over plain http from a loopback issuer (development). */
      allowLoopbackHttp?: boolean;
      /** Where spent `jti`s are kept (a LevelDB store in the service); in memory if not given. */
      spentStore?: DocumentStore<{ expiresAt: number }>;
    },
  ) {
    this.spent = new SpentTokens(options.spentStore ?? new MemoryDocumentStore());
  }

  /** Forgets spent signatures that are stale anyway (for the service's sweep). */
  sweep(now: Date): Promise<number> {
    return this.spent.sweep(now);
  }

  private async notaries(now: Date, refresh = false): Promise<Set<string>> {
    const t = now.getTime();
    if (!refresh && this.cache && this.cache.until > t) return this.cache.notaries;
    if (!this.options.issuerUrl || !this.options.issuerDid) throw new AgentError("ERR_FORBIDDEN", "this service does not know the notary registry");
    const jwt = await fetchJson<string>(new URL("/registry", this.options.issuerUrl).href, { accept: "application/jwt", allowLoopbackHttp: this.options.allowLoopbackHttp ?? false });
    const doc = verifyTrustRegistry(typeof jwt === "string" ? jwt.trim() : jwt, this.options.issuerDid, now);
    this.cache = { notaries: new Set(doc.notaries.map((n) => n.did)), until: t + (this.options.cacheSeconds ?? 60) * 1000 };
    return this.cache.notaries;
  }

  async authenticate(header: string | undefined, method: string, pathWithQuery: string): Promise<string> {
    const now = (this.options.clock ?? (() => new Date()))();
    const forbid = (why: string): never => {
      throw new AgentError("ERR_FORBIDDEN", `only registered notaries may read receipts (${why})`);
    };
    if (!header?.startsWith(`${NOTARY_AUTH_SCHEME} `)) forbid("no notary signature");
    const jws = decodeJws(header!.slice(NOTARY_AUTH_SCHEME.length + 1).trim());
    if (!jws || jws.header.typ !== NOTARY_AUTH_TYP || jws.header.alg !== "EdDSA") return forbid("malformed notary signature");
    const { iss, aud, iat, req } = jws.payload;
    let key: Uint8Array | undefined;
    try {
      key = publicKeyFromDidKey(String(iss));
    } catch {
      forbid("unresolvable notary DID");
    }
    if (!verifyEd25519(jws.signingInput, jws.signature, key!)) forbid("bad signature");
    if (aud !== this.options.audience) forbid("signed for another service");
    if (typeof iat !== "number" || Math.abs(Math.floor(now.getTime() / 1000) - iat) > MAX_SKEW_SECONDS) forbid("stale signature");
    if (req !== sha256B64url(`${method.toUpperCase()} ${pathWithQuery}`)) forbid("signature is for another request");
    // A DID not in the cached registry may have been registered since: look again before refusing.
    if (!(await this.notaries(now)).has(String(iss)) && !(await this.notaries(now, true)).has(String(iss))) forbid("not a registered notary");
    // Last, once everything else holds: a signature is spent once, so a captured header cannot be replayed
    // (of concurrent uses exactly one passes). Kept as long as `iat` could still count as fresh.
    await this.spent.spend(String(iss), jws.payload.jti, (iat as number) + MAX_SKEW_SECONDS + 1);
    // The gate sweeps its own spent jtis now and then, so the service needs no timer for it.
    if (now.getTime() - this.lastSweep > SWEEP_EVERY_MS) {
      this.lastSweep = now.getTime();
      void this.spent.sweep(now).catch(() => undefined);
    }
    return String(iss);
  }
}
