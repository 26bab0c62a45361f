import { randomBytes, randomUUID } from "node:crypto";
import { AgentError } from "../errors.js";
import { sha256Hex } from "../encoding.js";
import { ageOn, sameName, type IdentityRegistry, type RegistryPerson } from "../registry/identity-registry.js";
import type { DocumentStore } from "../stores/document-store.js";
import type { DataKey } from "./data-key.js";
import type { DeviceRegistry } from "./devices.js";
import { inspectPortrait, perceptualHash, type FaceMatcher } from "./face-matcher.js";
import type { IdentityVault, VerificationEvidence, VerifiedIdentity } from "./identity-vault.js";
import type { RiskContext, RiskEngine } from "./risk.js";

export interface RegistrationMaterials {
  fullName: string;
  idNumber: string;
  portrait: Uint8Array;
  fingerprintDigest?: string;
  nonce: string;
  deviceProof: string;
}

interface PendingDoc {
  registrationId: string;
  sealed: string;
  expiresAt: number;
}

/** How a person sees their identity before confirming it: enough to recognise, not enough to leak. */
export function maskName(name: string): string {
  const chars = [...name.normalize("NFC")];
  return chars[0] + "*".repeat(Math.max(1, chars.length - 1));
}
export function maskIdNumber(id: string): string {
  return id.length > 8 ? `${id.slice(0, 4)}${"*".repeat(id.length - 8)}${id.slice(-4)}` : "*".repeat(id.length);
}

/**
 * Flow 1 of DESIGN.md, in order: single-use nonce, the security gateway (a registered device's signature),
 * risk control, the identity registry, the face check, and a pending record the person must confirm
 * (seeing only the masked identity). Nothing about the person is stored before all checks pass, and what is
 * stored is sealed under the data key.
 */
export class RegistrationService {
  constructor(
    private readonly deps: {
      audience: string;
      registry: IdentityRegistry;
      faces: FaceMatcher;
      devices: DeviceRegistry;
      risk: RiskEngine;
      vault: IdentityVault;
      key: DataKey;
      nonces: DocumentStore<{ expiresAt: number }>;
      pending: DocumentStore<PendingDoc>;
      clock?: () => Date;
      confirmWithinSeconds?: number;
    },
  ) {}

  private now(): Date {
    return (this.deps.clock ?? (() => new Date()))();
  }

  async issueNonce(): Promise<{ nonce: string; expiresAt: string }> {
    const nonce = randomBytes(16).toString("base64url");
    const expiresAt = Math.floor(this.now().getTime() / 1000) + 300;
    await this.deps.nonces.put(nonce, { expiresAt });
    return { nonce, expiresAt: new Date(expiresAt * 1000).toISOString() };
  }

  /** Spends a nonce issued by `issueNonce` (also used by the batch refresh); false if unknown, used or expired. */
  async consumeNonce(nonce: string): Promise<boolean> {
    const found = await this.deps.nonces.take(nonce);
    return !!found && found.expiresAt > Math.floor(this.now().getTime() / 1000);
  }

  /** Deletes expired registration nonces and pending (unconfirmed) registrations; returns how many went. */
  async sweep(now = this.now()): Promise<{ nonces: number; pending: number }> {
    const t = Math.floor(now.getTime() / 1000);
    const expired = async (store: DocumentStore<{ expiresAt: number }>) => {
      let n = 0;
      for (const [key, doc] of await store.list()) {
        if (doc.expiresAt > t) continue;
        await store.del(key);
        n++;
      }
      return n;
    };
    return { nonces: await expired(this.deps.nonces), pending: await expired(this.deps.pending) };
  }

  async submit(materials: RegistrationMaterials, clientAddress: string): Promise<{ registrationId: string; masked: { name: string; idNumber: string }; confirmBy: string }> {
    const now = this.now();
    const nonce = await this.deps.nonces.take(materials.nonce);
    if (!nonce || nonce.expiresAt <= Math.floor(now.getTime() / 1000)) throw new AgentError("ERR_NONCE_INVALID", "the registration nonce is unknown, used or expired: ask for a new one");
    await inspectPortrait(materials.portrait);
    const portraitSha256 = sha256Hex(materials.portrait);
    const device = await this.deps.devices.verifySubmission(materials.deviceProof, { audience: this.deps.audience, nonce: materials.nonce, portraitSha256, now });

    const idNumber = materials.idNumber.toUpperCase();
    const ctx: RiskContext = {
      deviceId: device.deviceId,
      addressRef: this.deps.key.index("address", clientAddress),
      personRef: this.deps.key.index("id-number", idNumber),
      portraitHash: await perceptualHash(materials.portrait),
      now,
    };
    await this.deps.risk.assess(ctx);

    // One answer for every way the identity fails (unknown number, name that does not match, no registry
    // photo, another person's face): the submitter learns neither who exists in the registry nor whether
    // their face was the problem. The face comparison runs in every case (against the submitted portrait
    // itself when there is no registry photo), so the time taken does not tell either. Only the risk log
    // gets the actual reason.
    const person = await this.deps.registry.lookup(idNumber);
    const nameConfirmed = !!person && sameName(person.fullName, materials.fullName);
    const reference = person ? await this.deps.registry.photo(idNumber) : undefined;
    const face = await this.deps.faces.compare(materials.portrait, reference ?? materials.portrait);
    const failure = !person || !nameConfirmed ? "identity not confirmed by the registry" : !reference ? "no registry photo" : !face.match ? `face mismatch (${face.method})` : undefined;
    if (failure || !person) {
      await this.deps.risk.recordFailure(ctx, failure ?? "identity not confirmed by the registry");
      throw new AgentError("ERR_IDENTITY_NOT_CONFIRMED", "the identity could not be confirmed: the name, ID number and portrait together do not match the identity registry");
    }

    const registrationId = randomUUID();
    const evidence: VerificationEvidence = {
      method: "registry+face",
      verifiedAt: now.toISOString(),
      assurance: materials.fingerprintDigest ? "high" : "substantial",
      faceScore: face.score,
      ...(materials.fingerprintDigest ? { fingerprintDigest: materials.fingerprintDigest } : {}),
    };
    const expiresAt = Math.floor(now.getTime() / 1000) + (this.deps.confirmWithinSeconds ?? 600);
    await this.deps.pending.put(registrationId, { registrationId, sealed: this.deps.key.seal(JSON.stringify({ person, evidence }), registrationId), expiresAt });
    return { registrationId, masked: { name: maskName(person.fullName), idNumber: maskIdNumber(person.idNumber) }, confirmBy: new Date(expiresAt * 1000).toISOString() };
  }

  /** The person saw the masked identity: on yes the identity is stored (sealed) and its ref returned; on no, forgotten. */
  async confirm(registrationId: string, confirmed: boolean): Promise<{ identityRef?: string }> {
    const pending = await this.deps.pending.take(registrationId);
    if (!pending || pending.expiresAt <= Math.floor(this.now().getTime() / 1000)) throw new AgentError("ERR_REGISTRATION_NOT_FOUND", "no pending registration with this id (unknown, confirmed already, or expired)");
    if (!confirmed) return {};
    const { person, evidence } = JSON.parse(this.deps.key.open(pending.sealed, registrationId)) as { person: RegistryPerson; evidence: VerificationEvidence };
    const identityRef = this.deps.vault.refFor(person.idNumber);
    const existing = await this.deps.vault.get(identityRef);
    await this.deps.vault.put({ person, evidence, statusIndexes: existing?.statusIndexes ?? [] });
    return { identityRef };
  }

  /**
   * Re-reads the registry for a verified identity (its ID document changed: new name, new photo) so that a
   * reissue carries the registry's current data.
   */
  async refreshFromRegistry(identityRef: string): Promise<void> {
    const current = await this.deps.vault.get(identityRef);
    if (!current) throw new AgentError("ERR_IDENTITY_NOT_FOUND", "no verified identity for this ID number");
    const latest = await this.deps.registry.lookup(current.person.idNumber);
    if (latest) await this.deps.vault.update(identityRef, (identity) => ({ ...identity, person: latest }));
  }

  /** A notary's in-person verification: stored with who attested it and when. */
  async storeAttested(person: RegistryPerson, notaryDid: string): Promise<{ identityRef: string }> {
    const existing = await this.deps.vault.get(this.deps.vault.refFor(person.idNumber));
    const evidence: VerificationEvidence = { method: "notary-in-person", verifiedAt: this.now().toISOString(), assurance: "high", attestedBy: notaryDid };
    const identityRef = await this.deps.vault.put({ person, evidence, statusIndexes: existing?.statusIndexes ?? [] } satisfies VerifiedIdentity);
    return { identityRef };
  }
}

/** The identity claims for a credential, computed at issuance (age changes with time). */
export function identityClaimsFor(person: RegistryPerson, now: Date) {
  return {
    real_name_verified: true as const,
    age_over_18: ageOn(person.birthDate, now) >= 18,
    family_name: person.familyName,
    given_name: person.givenName,
    full_name: person.fullName,
    id_number: person.idNumber,
    birth_date: person.birthDate,
  };
}
