import { randomBytes, randomUUID } from "node:crypto";
import { AgentError } from "../errors.js";
import { sha256Hex } from "../encoding.js";
import { ageOn, sameName, type IdentityRegistry, type RegistryPerson } from "../registry/identity-registry.js";
import type { DocumentStore } from "../stores/document-store.js";
import type { DataKey } from "./data-key.js";
import type { DeviceRegistry } from "./devices.js";
import { inspectPortrait, type FaceMatcher } from "./face-matcher.js";
import type { LivenessCheck, LivenessEvidence } from "./face/liveness.js";
import type { FaceCandidates } from "./face/candidate-index.js";
import type { IdentityVault, VerificationEvidence } from "./identity-vault.js";
import type { RiskAssessment, RiskContext, RiskEngine } from "./risk.js";
import { decodeJws } from "../crypto/jws.js";

export interface RegistrationMaterials {
  /**
   * The identity items the person typed. Both absent: face-first (seed 002), the identity is looked for among
   * the registry's candidates by the face, which only a device that risk and trust detection trust may do;
   * otherwise the answer is ERR_IDENTITY_ITEMS_REQUIRED and the person types them.
   */
  fullName?: string;
  idNumber?: string;
  portrait: Uint8Array;
  fingerprintDigest?: string;
  nonce: string;
  deviceProof: string;
  /** The active liveness challenge's frames (see LivenessEvidence); required when the service requires liveness. */
  liveness?: LivenessEvidence;
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
      /** 1:N search of the registry's photos for face-first registration; without it every person types. */
      candidates?: FaceCandidates;
      /** Active + passive liveness; with `requireLiveness` a submission without frames is refused. */
      liveness?: LivenessCheck;
      requireLiveness?: boolean;
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

  /** A liveness challenge for the capture page (random actions, single use, short expiry). */
  async issueLivenessChallenge() {
    if (!this.deps.liveness) throw new AgentError("ERR_LIVENESS_UNAVAILABLE", "this issuer has no liveness check configured");
    return this.deps.liveness.issueChallenge(this.now());
  }

  private personContext(base: Omit<RiskContext, "personRef" | "regionRef">, idNumber: string): RiskContext {
    return {
      ...base,
      personRef: this.deps.key.index("id-number", idNumber),
      // The administrative division code (first six digits): "many requests from one region" (seed 002).
      regionRef: this.deps.key.index("region", idNumber.slice(0, 6)),
    };
  }

  async submit(materials: RegistrationMaterials, clientAddress: string): Promise<{ registrationId: string; masked: { name: string; idNumber: string }; confirmBy: string; trust: RiskAssessment["trust"]; identifiedBy: "face-1:N" | "typed-details" }> {
    const now = this.now();
    const nonce = await this.deps.nonces.take(materials.nonce);
    if (!nonce || nonce.expiresAt <= Math.floor(now.getTime() / 1000)) throw new AgentError("ERR_NONCE_INVALID", "the registration nonce is unknown, used or expired: ask for a new one");
    await inspectPortrait(materials.portrait);
    const portraitSha256 = sha256Hex(materials.portrait);
    const addressRef = this.deps.key.index("address", clientAddress);
    // Seed 001: a refused device is a risk event, logged like any other refusal (the device id as claimed).
    const logDeviceRefusal = async (error: unknown, deviceId: string | undefined) => {
      if (error instanceof AgentError) await this.deps.risk.recordDeviceRefusal({ deviceId, addressRef, code: error.code, reason: error.message }, now);
      throw error;
    };
    const device = await this.deps.devices
      .verifySubmission(materials.deviceProof, { audience: this.deps.audience, nonce: materials.nonce, portraitSha256, now })
      .catch((error: unknown) => logDeviceRefusal(error, claimedDeviceId(materials.deviceProof)));
    // Bad input (no face, two faces, a failed liveness challenge) is refused here, before anything is
    // counted or stored about the person.
    const faceEmbedding = await this.deps.faces.embed(materials.portrait);
    if (materials.liveness) {
      if (!this.deps.liveness) throw new AgentError("ERR_LIVENESS_UNAVAILABLE", "this issuer has no liveness check configured");
      // The frames' device signature is checked by the liveness check: its device refusals are logged too.
      const live = await this.deps.liveness
        .verify(materials.liveness, { audience: this.deps.audience, now })
        .catch((error: unknown) => (error instanceof AgentError && error.code.startsWith("ERR_DEVICE_") ? logDeviceRefusal(error, claimedDeviceId(materials.liveness!.deviceProof)) : Promise.reject(error)));
      if (live.device.deviceId !== device.deviceId) {
        await logDeviceRefusal(new AgentError("ERR_DEVICE_PROOF_INVALID", "the frames and the portrait were signed by different devices"), device.deviceId);
      }
      // The portrait is the person who performed the challenge.
      if (this.deps.faces.similarity(live.best.embedding, faceEmbedding) < this.deps.faces.threshold) throw new AgentError("ERR_LIVENESS_DISCONTINUOUS", "the portrait is not the face that performed the challenge");
    } else if (this.deps.requireLiveness) {
      throw new AgentError("ERR_LIVENESS_REQUIRED", "this issuer requires the liveness challenge's frames with the portrait");
    }

    const typed = materials.idNumber !== undefined && materials.fullName !== undefined;
    if (!typed && (materials.idNumber !== undefined || materials.fullName !== undefined)) throw new TypeError("fullName and idNumber are given together or not at all");
    const base = { deviceId: device.deviceId, addressRef, faceEmbedding, now };
    let idNumber: string;
    let identification: { score: number; runnerUp: number } | undefined;
    let assessment: RiskAssessment;
    if (typed) {
      idNumber = materials.idNumber!.toUpperCase();
      assessment = await this.deps.risk.assess(this.personContext(base, idNumber));
    } else {
      // Seed 002: risk and trust detection first, on what is known before the person is (the device, the address).
      const deviceCtx: RiskContext = { ...base, personRef: "" };
      const before = await this.deps.risk.assess(deviceCtx, "device");
      const found = before.trust === "trusted" ? await this.deps.candidates?.identify(faceEmbedding) : undefined;
      if (!found) {
        await this.deps.risk.recordNote(deviceCtx, "face-first-declined", before.trust === "trusted" ? "no single registry candidate for this face" : "the device is not trusted for face-first");
        throw new AgentError("ERR_IDENTITY_ITEMS_REQUIRED", "type your name and ID number: your identity cannot be found from your face on this device", { reason: before.trust === "trusted" ? "NOT_IDENTIFIED" : "UNTRUSTED" });
      }
      idNumber = found.idNumber;
      identification = { score: Math.round(found.score * 1000) / 1000, runnerUp: Math.round(found.runnerUp * 1000) / 1000 };
      const ctx = this.personContext(base, idNumber);
      ctx.attemptPlace = deviceCtx.attemptPlace;
      assessment = await this.deps.risk.assess(ctx, "person");
      // The person's own history and the region's load count now: a busy region takes face-first away too.
      if (assessment.trust !== "trusted") {
        await this.deps.risk.recordNote(ctx, "face-first-declined", "trust withdrawn once the person was known (busy region or device failures)");
        throw new AgentError("ERR_IDENTITY_ITEMS_REQUIRED", "type your name and ID number: your identity cannot be found from your face on this device", { reason: "UNTRUSTED" });
      }
    }
    const ctx = this.personContext(base, idNumber);

    // One answer for every way the identity fails (unknown number, name that does not match, no registry
    // photo, another person's face): the submitter learns neither who exists in the registry nor whether
    // their face was the problem. The face comparison runs in every case (against the submitted portrait
    // itself when there is no registry photo), so the time taken does not tell either. Only the risk log
    // gets the actual reason.
    const person = await this.deps.registry.lookup(idNumber);
    // Face-first: the name is the registry's own, the face found it and is compared 1:1 below all the same.
    const nameConfirmed = !!person && (!typed || sameName(person.fullName, materials.fullName!));
    const reference = person ? await this.deps.registry.photo(idNumber) : undefined;
    const face = await this.deps.faces.compare(materials.portrait, reference ?? materials.portrait);
    // The registry's own photo (or a near copy) sent as the live capture: refused as a replay, and logged.
    if (reference && nameConfirmed && face.replay) {
      await this.deps.risk.recordFailure(ctx, "replay of the registry photo as the live capture");
      throw new AgentError("ERR_LIVENESS_REPLAY", "the live capture is a copy of a stored photo, not a new capture");
    }
    const failure = !person || !nameConfirmed ? "identity not confirmed by the registry" : !reference ? "no registry photo" : !face.match ? `face mismatch (${face.method})` : undefined;
    if (failure || !person) {
      await this.deps.risk.recordFailure(ctx, failure ?? "identity not confirmed by the registry");
      throw new AgentError("ERR_IDENTITY_NOT_CONFIRMED", "the identity could not be confirmed: the name, ID number and portrait together do not match the identity registry");
    }

    // Seed 001: the verified identity keeps (a keyed hash of) the registry record it was checked against.
    // recordSuccess also remembers the face for the duplicate-face rule, only now that it passed for this number.
    const registryRecordRef = person.recordId ? this.deps.key.index("registry-record", person.recordId) : undefined;
    await this.deps.risk.recordSuccess(ctx, registryRecordRef);
    const registrationId = randomUUID();
    const evidence: VerificationEvidence = {
      method: "registry+face",
      verifiedAt: now.toISOString(),
      assurance: materials.fingerprintDigest ? "high" : "substantial",
      faceScore: face.score,
      identifiedBy: typed ? "typed-details" : "face-1:N",
      ...(identification ? { identification } : {}),
      ...(registryRecordRef ? { registryRecordRef } : {}),
      liveness: materials.liveness ? "active-challenge" : "replay-check-only",
      ...(materials.fingerprintDigest ? { fingerprintDigest: materials.fingerprintDigest } : {}),
    };
    const expiresAt = Math.floor(now.getTime() / 1000) + (this.deps.confirmWithinSeconds ?? 600);
    await this.deps.pending.put(registrationId, { registrationId, sealed: this.deps.key.seal(JSON.stringify({ person, evidence }), registrationId), expiresAt });
    return { registrationId, masked: { name: maskName(person.fullName), idNumber: maskIdNumber(person.idNumber) }, confirmBy: new Date(expiresAt * 1000).toISOString(), trust: assessment.trust, identifiedBy: typed ? "typed-details" : "face-1:N" };
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
}

/** The device id a proof claims (its kid), for the risk log of a refusal; undefined when unreadable or odd. */
function claimedDeviceId(proof: string): string | undefined {
  const kid = decodeJws(proof)?.header.kid;
  return typeof kid === "string" && /^[A-Za-z0-9._-]{3,64}$/.test(kid) ? kid : undefined;
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
