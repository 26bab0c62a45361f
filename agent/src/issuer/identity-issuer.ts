import { randomBytes } from "node:crypto";
import { AgentError } from "../errors.js";
import { sha256B64url } from "../encoding.js";
import type { JwsSigner } from "../crypto/jws.js";
import { didKeyFromJwk, type PublicJwk } from "../identity/did-key.js";
import type { JwsAlg } from "../crypto/algorithms.js";
import { issueIdentityCredential } from "../sdjwt/issue.js";
import { batchCredentialTimes } from "../sdjwt/credential-times.js";
import { merchantPseudonymClaim } from "../sdjwt/merchant-pseudonym.js";
import type { IdentityVault, VerificationEvidence } from "./identity-vault.js";
import { identityClaimsFor } from "./registration.js";
import type { StatusListService } from "./status-list.js";
import type { HolderKeyIndex } from "./holder-keys.js";

/**
 * Issues the identity credentials of a verified identity: one per holder key, each with its own random
 * status index, and a salted commitment to the verification evidence (the salt stays with the issuer, so
 * the commitment can be opened in a dispute and reveals nothing otherwise).
 */
export class IdentityIssuer {
  constructor(
    private readonly deps: {
      /** `iss`: the identifier credentials carry (the DID unless given: the issuer's https URL). */
      issuer: { did: string; signer: JwsSigner; iss?: () => string };
      /** The issuer's P-256 key for ES256 credentials (same `iss`, its own `kid`), when it has one. */
      es256?: { kid: string; signer: JwsSigner };
      /** The credential type (an https URL under the issuer's public URL serving its type metadata). */
      vct: () => string;
      vault: IdentityVault;
      status: StatusListService;
      validForSeconds: number;
      clock?: () => Date;
      /**
       * Per-merchant pseudonyms: the DIDs of merchants registered at `pseudonymous` or above, and the issuer's
       * keyed hash of (person, merchant). Every credential carries one disclosable claim per merchant.
       */
      pseudonyms?: { merchants: () => Promise<string[]>; value: (identityRef: string, merchantDid: string) => string };
      /** Seed 001: told of every issuance (the person's keyed ref, the registry record's keyed ref, how many). */
      onIssued?: (args: { personRef: string; registryRecordRef?: string; credentials: number }, now: Date) => Promise<void>;
      /** Where the platform remembers whose holder keys it bound (its trace and escrow find the person by them). */
      holderKeys?: HolderKeyIndex;
    },
  ) {}

  static commitment(evidence: VerificationEvidence, salt: string): string {
    return sha256B64url(`${salt}.${JSON.stringify({ method: evidence.method, verifiedAt: evidence.verifiedAt, assurance: evidence.assurance })}`);
  }

  /** One credential per holder key (Ed25519 or P-256), signed with `alg` (EdDSA by default, ES256 with the P-256 key). */
  async issue(identityRef: string, holderJwks: PublicJwk[], alg: JwsAlg = "EdDSA"): Promise<string[]> {
    if (alg === "ES256" && !this.deps.es256) throw new AgentError("ERR_UNSUPPORTED_ALG", "this issuer has no ES256 key");
    const identity = await this.deps.vault.get(identityRef);
    if (!identity) throw new AgentError("ERR_IDENTITY_NOT_FOUND", "no verified identity for this offer");
    const now = (this.deps.clock ?? (() => new Date()))();
    const salt = (identity.evidence as VerificationEvidence & { commitmentSalt?: string }).commitmentSalt ?? randomBytes(16).toString("base64url");
    const claims = { ...identityClaimsFor(identity.person, now), verification_commitment: IdentityIssuer.commitment(identity.evidence, salt) };
    const merchants = (await this.deps.pseudonyms?.merchants()) ?? [];
    const pseudonyms = Object.fromEntries(merchants.map((did) => [merchantPseudonymClaim(did), this.deps.pseudonyms!.value(identityRef, did)]));
    // Each credential its own iat/exp (and its own key, salts, status index): nothing plain repeats in a batch.
    const times = batchCredentialTimes(now, this.deps.validForSeconds, holderJwks.length);
    const credentials: string[] = [];
    const indexes: number[] = [];
    for (const [i, holderJwk] of holderJwks.entries()) {
      const status = await this.deps.status.allocate();
      indexes.push(status.idx);
      const key = alg === "ES256" ? { signAlg: "ES256" as const, signer: this.deps.es256!.signer, kid: this.deps.es256!.kid } : { signer: this.deps.issuer.signer };
      credentials.push(await issueIdentityCredential({ issuerDid: this.deps.issuer.did, iss: this.deps.issuer.iss?.(), vct: this.deps.vct(), ...key, holderJwk, claims, now, validForSeconds: this.deps.validForSeconds, times: times[i], pseudonyms, status }));
    }
    await this.deps.holderKeys?.bind(holderJwks.map((jwk) => didKeyFromJwk(jwk)), identityRef);
    await this.deps.vault.update(identityRef, (current) => ({ ...current, evidence: { ...current.evidence, commitmentSalt: salt } as VerificationEvidence, statusIndexes: [...current.statusIndexes, ...indexes] }));
    await this.deps.onIssued?.({ personRef: identityRef, ...(identity.evidence.registryRecordRef ? { registryRecordRef: identity.evidence.registryRecordRef } : {}), credentials: credentials.length }, now);
    return credentials;
  }

  /**
   * Revokes every credential of the identity (e.g. the ID document changed or was lost). The indexes are
   * scheduled, not flipped together: each lands in its own future version of the status list (see
   * StatusListService), so no version shows one person's credentials changing at once. `effectiveBy` is when
   * the last of them is published at the latest; the issuer itself treats them as revoked from now on.
   */
  async revokeAll(identityRef: string): Promise<{ revoked: number; effectiveBy?: string }> {
    const identity = await this.deps.vault.get(identityRef);
    if (!identity) throw new AgentError("ERR_IDENTITY_NOT_FOUND", "no such identity");
    const scheduled = identity.statusIndexes.length ? await this.deps.status.schedule(identity.statusIndexes, "revoked") : undefined;
    await this.deps.vault.update(identityRef, (current) => ({ ...current, statusIndexes: [] }));
    return { revoked: identity.statusIndexes.length, ...(scheduled ? { effectiveBy: scheduled.effectiveBy.toISOString() } : {}) };
  }
}
