import { z } from "zod";
import { decodeJws, verifyEd25519 } from "../crypto/jws.js";
import { AgentError } from "../errors.js";
import { publicKeyFromJwk, type Ed25519PublicJwk } from "../identity/did-key.js";
import type { DocumentStore } from "../stores/document-store.js";

/** A registered capture device (a kiosk or an app install) and its key. */
export interface DeviceRecord {
  deviceId: string;
  label: string;
  publicJwk: Ed25519PublicJwk;
  status: "active" | "revoked" | "banned";
  registeredAt: string;
  changedAt?: string;
  reason?: string;
  /** How the device came in: enrolled by the admin (kiosks) or by itself with WebAuthn attestation. */
  enrolment?: { method: "admin" } | { method: "webauthn"; fmt: string; aaguid: string; credentialId: string };
}

export const DEVICE_PROOF_TYP = "device-proof+jwt";
export const deviceIdSchema = z.string().regex(/^[A-Za-z0-9._-]{3,64}$/, "3-64 letters, digits, '.', '_' or '-'");

/** The registry of capture devices: only these may submit registration materials. */
export class DeviceRegistry {
  constructor(private readonly store: DocumentStore<DeviceRecord>) {}

  async register(args: { deviceId: string; label: string; publicJwk: Ed25519PublicJwk; enrolment?: DeviceRecord["enrolment"] }, now: Date): Promise<DeviceRecord> {
    publicKeyFromJwk(args.publicJwk);
    const record: DeviceRecord = { enrolment: { method: "admin" }, ...args, status: "active", registeredAt: now.toISOString() };
    if (!(await this.store.putIfAbsent(args.deviceId, record))) throw new AgentError("ERR_CONFLICT", "a device with this id is already registered");
    return record;
  }

  async setStatus(deviceId: string, status: "revoked" | "banned", reason: string, now: Date): Promise<DeviceRecord> {
    const record = await this.store.get(deviceId);
    if (!record) throw new AgentError("ERR_DEVICE_NOT_FOUND", "no such device");
    const next = { ...record, status, reason, changedAt: now.toISOString() };
    await this.store.put(deviceId, next);
    return next;
  }

  get(deviceId: string): Promise<DeviceRecord | undefined> {
    return this.store.get(deviceId);
  }

  /**
   * The security gateway: the submission must be signed by an active registered device, over this
   * request's single-use nonce and the portrait's hash, for this issuer, recently.
   */
  async verifySubmission(proof: unknown, expected: { audience: string; nonce: string; portraitSha256: string; now: Date; maxAgeSeconds?: number }): Promise<DeviceRecord> {
    const jws = decodeJws(proof);
    if (!jws || jws.header.typ !== DEVICE_PROOF_TYP || jws.header.alg !== "EdDSA" || typeof jws.header.kid !== "string") {
      throw new AgentError("ERR_DEVICE_PROOF_INVALID", "the submission is not signed by a capture device");
    }
    const device = await this.store.get(jws.header.kid);
    if (!device) throw new AgentError("ERR_DEVICE_UNKNOWN", "the capture device is not registered");
    if (device.status !== "active") throw new AgentError("ERR_DEVICE_REFUSED", `the capture device is ${device.status}`);
    if (!verifyEd25519(jws.signingInput, jws.signature, publicKeyFromJwk(device.publicJwk))) throw new AgentError("ERR_DEVICE_PROOF_INVALID", "the device signature is invalid");
    const p = jws.payload;
    const t = Math.floor(expected.now.getTime() / 1000);
    if (p.aud !== expected.audience || p.nonce !== expected.nonce || p.portrait_sha256 !== expected.portraitSha256) {
      throw new AgentError("ERR_DEVICE_PROOF_INVALID", "the device signature does not cover this submission");
    }
    if (typeof p.iat !== "number" || p.iat > t + 60 || p.iat < t - (expected.maxAgeSeconds ?? 300)) throw new AgentError("ERR_DEVICE_PROOF_INVALID", "the device signature is not fresh");
    return device;
  }
}
