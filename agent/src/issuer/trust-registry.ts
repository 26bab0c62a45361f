import { z } from "zod";
import { decodeJws, signJws, verifyEd25519, type JwsSigner } from "../crypto/jws.js";
import { AgentError } from "../errors.js";
import { isRegistrableOrigin } from "../http/origins.js";
import { didKeyKid, jwkFromDidKey, publicKeyFromDidKey } from "../identity/did-key.js";
import { GRANT_LEVELS } from "../sdjwt/identity-credential.js";
import type { DocumentStore } from "../stores/document-store.js";
import { sha256Hex } from "../encoding.js";

export const TRUST_REGISTRY_TYP = "realname-trust-registry+jwt";

export const merchantEntrySchema = z
  .object({
    did: z.string().startsWith("did:key:"),
    name: z.string().min(1).max(128),
    /** The highest grant level the merchant may ask for. */
    maxLevel: z.enum(GRANT_LEVELS),
    /** The purposes it may state; a request with another purpose is refused by wallets. */
    purposes: z.array(z.string().min(1).max(500)).min(1).max(50),
    /** For `full`: the claims it may receive. */
    fullClaims: z.array(z.string()).max(16).default([]),
    /**
     * The web origins the merchant's pages and answer endpoints live at (https; http on loopback for
     * development). Wallets answer a request or a login only where these origins are the merchant's, so a
     * look-alike site cannot relay a login or collect an answer.
     */
    origins: z.array(z.string().max(300).refine(isRegistrableOrigin, "an https origin (http only on loopback), without a path")).min(1).max(20),
  })
  .strict();
export const notaryEntrySchema = z.object({ did: z.string().startsWith("did:key:"), name: z.string().min(1).max(128) }).strict();
export type MerchantEntry = z.infer<typeof merchantEntrySchema>;
export type NotaryEntry = z.infer<typeof notaryEntrySchema>;

export interface TrustRegistryDocument {
  iss: string;
  iat: number;
  exp: number;
  version: number;
  merchants: MerchantEntry[];
  notaries: NotaryEntry[];
}

type Entry = { kind: "merchant"; entry: MerchantEntry } | { kind: "notary"; entry: NotaryEntry } | { kind: "meta"; version: number };

/** The issuer's registry of merchants and notaries, published as a signed document wallets and verifiers check. */
export class TrustRegistry {
  private cached?: { version: number; jwt: string; iat: number };

  constructor(
    private readonly store: DocumentStore<Entry>,
    private readonly issuer: { did: string; signer: JwsSigner },
    private readonly clock: () => Date = () => new Date(),
    /**
     * Every registry JWT served is kept by its hash (`snapshots`) and handed to `onSigned` to be anchored, like
     * status-list snapshots: a grant receipt names the registry the merchant relied on, and evidence carries it.
     */
    private readonly archive: { snapshots?: DocumentStore<{ jwt: string }>; onSigned?: (jwt: string) => Promise<void> } = {},
  ) {}

  async putMerchant(entry: MerchantEntry): Promise<void> {
    jwkFromDidKey(entry.did); // a merchant's did:key may be Ed25519 or P-256 (an ES256 merchant)
    await this.store.put(`merchant:${entry.did}`, { kind: "merchant", entry });
    await this.bump();
  }
  async putNotary(entry: NotaryEntry): Promise<void> {
    publicKeyFromDidKey(entry.did);
    await this.store.put(`notary:${entry.did}`, { kind: "notary", entry });
    await this.bump();
  }
  async remove(kind: "merchant" | "notary", did: string): Promise<void> {
    if (!(await this.store.get(`${kind}:${did}`))) throw new AgentError("ERR_NOT_FOUND", `no such ${kind}`);
    await this.store.del(`${kind}:${did}`);
    await this.bump();
  }
  async notary(did: string): Promise<NotaryEntry | undefined> {
    const e = await this.store.get(`notary:${did}`);
    return e?.kind === "notary" ? e.entry : undefined;
  }
  async merchant(did: string): Promise<MerchantEntry | undefined> {
    const e = await this.store.get(`merchant:${did}`);
    return e?.kind === "merchant" ? e.entry : undefined;
  }

  async document(): Promise<TrustRegistryDocument> {
    const iat = Math.floor(this.clock().getTime() / 1000);
    const all = (await this.store.list()).map(([, e]) => e);
    return {
      iss: this.issuer.did,
      iat,
      exp: iat + 3600,
      version: (all.find((e) => e.kind === "meta") as { version: number } | undefined)?.version ?? 0,
      merchants: all.filter((e): e is Extract<Entry, { kind: "merchant" }> => e.kind === "merchant").map((e) => e.entry),
      notaries: all.filter((e): e is Extract<Entry, { kind: "notary" }> => e.kind === "notary").map((e) => e.entry),
    };
  }

  async signed(): Promise<string> {
    const doc = await this.document();
    if (this.cached && this.cached.version === doc.version && doc.iat - this.cached.iat < 600) return this.cached.jwt;
    const jwt = await signJws({ alg: "EdDSA", typ: TRUST_REGISTRY_TYP, kid: didKeyKid(this.issuer.did) }, doc as unknown as Record<string, unknown>, this.issuer.signer);
    // Kept and queued for anchoring before it is served, so any registry a merchant relied on can be proven later.
    await this.archive.snapshots?.put(sha256Hex(jwt), { jwt });
    await this.archive.onSigned?.(jwt);
    this.cached = { version: doc.version, jwt, iat: doc.iat };
    return jwt;
  }

  /** A registry JWT this issuer served, by the sha-256 (hex) of its exact bytes. */
  async snapshot(hash: string): Promise<string | undefined> {
    return (await this.archive.snapshots?.get(hash))?.jwt;
  }

  private async bump(): Promise<void> {
    // Atomic: two replicas changing the registry at once get two versions, not one number twice.
    await this.store.update("meta", (meta) => ({ kind: "meta", version: (meta?.kind === "meta" ? meta.version : 0) + 1 }) as never);
  }
}

/** Checks a published trust registry: signed by the expected issuer, not expired. */
export function verifyTrustRegistry(jwt: unknown, expectedIssuer: string, now: Date): TrustRegistryDocument {
  const jws = decodeJws(jwt);
  if (!jws || jws.header.typ !== TRUST_REGISTRY_TYP || jws.header.alg !== "EdDSA") throw new AgentError("ERR_TRUST_REGISTRY_INVALID", "the merchant registry is not a signed registry document");
  if (jws.payload.iss !== expectedIssuer || !verifyEd25519(jws.signingInput, jws.signature, publicKeyFromDidKey(expectedIssuer))) {
    throw new AgentError("ERR_TRUST_REGISTRY_INVALID", "the merchant registry is not signed by the trusted issuer");
  }
  if (typeof jws.payload.exp !== "number" || jws.payload.exp <= Math.floor(now.getTime() / 1000)) throw new AgentError("ERR_TRUST_REGISTRY_INVALID", "the merchant registry has expired");
  return jws.payload as unknown as TrustRegistryDocument;
}
