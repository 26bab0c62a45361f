import { AgentError } from "../errors.js";
import type { DocumentStore } from "../stores/document-store.js";
import type { RegistryPerson } from "../registry/identity-registry.js";
import type { DataKey } from "./data-key.js";

/** How an identity was established: who checked it, how, when. */
export interface VerificationEvidence {
  method: "registry+face" | "notary-in-person";
  verifiedAt: string;
  assurance: "substantial" | "high";
  attestedBy?: string;
  faceScore?: number;
  /** Keyed hash of the registry record the identity was checked against (seed 001). */
  registryRecordRef?: string;
  /** How liveness was established: the active challenge, or only the replay check on a single portrait. */
  liveness?: "active-challenge" | "replay-check-only";
  /**
   * How the identity was found: from the face among the registry's candidates and confirmed masked (seed 002,
   * a trusted device), or from the name and ID number the person typed, then checked 1:1.
   */
  identifiedBy?: "face-1:N" | "typed-details";
  /** Face-first only: the found candidate's similarity and the next candidate's (how clear the choice was). */
  identification?: { score: number; runnerUp: number };
  /** The capture device's fingerprint-template digest, if one was taken (sealed with the rest). */
  fingerprintDigest?: string;
}

export interface VerifiedIdentity {
  person: RegistryPerson;
  evidence: VerificationEvidence;
  /** Status-list indexes of every credential issued for this identity (for revoke-and-reissue). */
  statusIndexes: number[];
}

interface SealedRecord {
  ref: string;
  sealed: string;
  updatedAt: string;
}

/**
 * Verified identities, encrypted at rest (AES-GCM under the data key), found by a keyed index of the
 * ID number, never by the number itself. The record's ref is bound into the ciphertext (AAD), so sealed
 * records cannot be swapped between people.
 */
export class IdentityVault {
  constructor(
    private readonly store: DocumentStore<SealedRecord>,
    private readonly key: DataKey,
  ) {}

  refFor(idNumber: string): string {
    return this.key.index("id-number", idNumber.toUpperCase());
  }

  async put(identity: VerifiedIdentity): Promise<string> {
    const ref = this.refFor(identity.person.idNumber);
    await this.store.put(ref, { ref, sealed: this.key.seal(JSON.stringify(identity), ref), updatedAt: new Date().toISOString() });
    return ref;
  }

  async get(ref: string): Promise<VerifiedIdentity | undefined> {
    const record = await this.store.get(ref);
    return record ? (JSON.parse(this.key.open(record.sealed, ref)) as VerifiedIdentity) : undefined;
  }

  /**
   * Changes an identity in one atomic update of its record: two issuances for one person at once (two offers
   * redeemed together, or on two issuer replicas) both keep their status indexes, so revoking the person
   * reaches every credential they hold.
   */
  async update(ref: string, change: (identity: VerifiedIdentity) => VerifiedIdentity): Promise<VerifiedIdentity> {
    let next: VerifiedIdentity | undefined;
    await this.store.update(ref, (record) => {
      if (!record) throw new AgentError("ERR_IDENTITY_NOT_FOUND", "no verified identity with this reference");
      next = change(JSON.parse(this.key.open(record.sealed, ref)) as VerifiedIdentity);
      return { ref, sealed: this.key.seal(JSON.stringify(next), ref), updatedAt: new Date().toISOString() };
    });
    return next!;
  }
}
