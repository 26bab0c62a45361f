import { AgentError } from "../errors.js";
import { sameName, type IdentityRegistry, type RegistryPerson } from "../registry/identity-registry.js";
import type { DocumentStore } from "../stores/document-store.js";
import type { DataKey } from "./data-key.js";
import type { FaceMatcher } from "./face-matcher.js";
import type { IdentityVault, VerificationEvidence } from "./identity-vault.js";
import type { RiskEngine } from "./risk.js";

/** An attestation the issuer did not apply, kept for a person (the admin) to look at: keyed references only. */
export interface IdentityReview {
  at: string;
  kind: "conflict-with-verified-identity" | "registry-mismatch";
  personRef: string;
  attestedBy: string;
  reason: string;
}

/**
 * A notary's in-person identity upload, cross-checked before it is stored:
 * - an identity already verified by registry and face is never replaced by it: ERR_IDENTITY_CONFLICT (409),
 *   and the attempt goes to review and the risk log;
 * - the registry must know the person with the same name and birth date, and the notary's portrait must match
 *   the registry photo (when the registry has one): otherwise ERR_ATTESTATION_REGISTRY_MISMATCH (422), to review;
 * - what is stored is the registry's record of the person, with who attested it, and the registry record's
 *   keyed reference (seed 001).
 */
export class AttestedIdentities {
  constructor(
    private readonly deps: {
      registry: IdentityRegistry;
      faces: FaceMatcher;
      vault: IdentityVault;
      risk: RiskEngine;
      key: DataKey;
      reviews: DocumentStore<IdentityReview>;
    },
  ) {}

  async accept(args: { person: RegistryPerson; portrait: Uint8Array; notaryDid: string; now: Date }): Promise<{ identityRef: string }> {
    const { person, portrait, notaryDid, now } = args;
    const identityRef = this.deps.vault.refFor(person.idNumber);
    const existing = await this.deps.vault.get(identityRef);
    if (existing?.evidence.method === "registry+face") {
      await this.review("conflict-with-verified-identity", identityRef, notaryDid, "an identity verified by registry and face exists", now);
      throw new AgentError("ERR_IDENTITY_CONFLICT", "this identity was verified by registry and face; a notary's upload does not replace it (sent to review)");
    }
    const record = await this.deps.registry.lookup(person.idNumber);
    const mismatch = !record
      ? "not in the registry"
      : !sameName(record.fullName, person.fullName) || record.birthDate !== person.birthDate
        ? "name or birth date differ from the registry"
        : undefined;
    const photo = record && !mismatch ? await this.deps.registry.photo(person.idNumber) : undefined;
    const face = photo ? await this.deps.faces.compare(portrait, photo) : undefined;
    const failure = mismatch ?? (face && !face.match ? "the notary's portrait does not match the registry photo" : undefined);
    if (failure || !record) {
      await this.review("registry-mismatch", identityRef, notaryDid, failure ?? "not in the registry", now);
      throw new AgentError("ERR_ATTESTATION_REGISTRY_MISMATCH", "the attested identity does not agree with the identity registry (sent to review)");
    }
    const registryRecordRef = record.recordId ? this.deps.key.index("registry-record", record.recordId) : undefined;
    const evidence: VerificationEvidence = {
      method: "notary-in-person",
      verifiedAt: now.toISOString(),
      assurance: "high",
      attestedBy: notaryDid,
      ...(face ? { faceScore: face.score } : {}),
      ...(registryRecordRef ? { registryRecordRef } : {}),
    };
    await this.deps.vault.put({ person: record, evidence, statusIndexes: existing?.statusIndexes ?? [] });
    await this.deps.risk.recordAdmin({ action: "identity-attested-by-notary", subjectRef: identityRef, reason: `attested in person by ${notaryDid}${photo ? "; portrait matches the registry photo" : "; the registry has no photo"}` }, now);
    return { identityRef };
  }

  async list(limit = 1000): Promise<IdentityReview[]> {
    return (await this.deps.reviews.list({ limit })).map(([, r]) => r);
  }

  private async review(kind: IdentityReview["kind"], personRef: string, attestedBy: string, reason: string, now: Date): Promise<void> {
    await this.deps.reviews.put(`${now.toISOString()}:${personRef.slice(0, 16)}:${process.hrtime.bigint()}`, { at: now.toISOString(), kind, personRef, attestedBy, reason });
    await this.deps.risk.recordAdmin({ action: `attestation-${kind}`, subjectRef: personRef, reason: `${reason} (notary ${attestedBy}); sent to review` }, now);
  }
}
