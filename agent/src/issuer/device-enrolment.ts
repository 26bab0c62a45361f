import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../repo-root.js";
import { randomBytes, randomUUID } from "node:crypto";
import { generateRegistrationOptions, verifyRegistrationResponse, type RegistrationResponseJSON } from "@simplewebauthn/server";
import { convertCertBufferToPEM, decodeAttestationObject, validateCertificatePath } from "@simplewebauthn/server/helpers";
import { AgentError } from "../errors.js";
import { sha256Hex } from "../encoding.js";
import { publicKeyFromJwk, type Ed25519PublicJwk } from "../identity/did-key.js";
import type { DocumentStore } from "../stores/document-store.js";
import type { DeviceRecord, DeviceRegistry } from "./devices.js";
import type { RiskEngine } from "./risk.js";

/**
 * What the issuer accepts from a capture device enrolling itself. An empty AAGUID list turns self-enrolment
 * off (kiosks are then enrolled by the admin only).
 */
export interface DeviceEnrolmentPolicy {
  /** Authenticator models (AAGUIDs, lower-case with dashes) allowed to enrol. */
  allowedAaguids: string[];
  /** Attestation statement formats accepted ("packed", "tpm", "android-key", "apple", "fido-u2f", ...). */
  allowedFormats: string[];
  /** Whether "none" attestation (no statement at all: the AAGUID is then only the client's word) is accepted. */
  allowNone: boolean;
  /**
   * PEM roots an attestation certificate chain (x5c) must chain to. Without them the statement's signature is
   * still checked, but the AAGUID is the authenticator's own claim, not a manufacturer's.
   */
  rootCertificates?: string[];
}

interface PendingEnrolment {
  challenge: string;
  label: string;
  publicJwk: Ed25519PublicJwk;
  expiresAt: number;
}

const ENROLMENT_SECONDS = 300;

/**
 * Capture devices enrol themselves with WebAuthn attestation: the device asks for options with the Ed25519 key
 * it will sign registration submissions with; the issuer binds that key to a fresh challenge; the device's
 * authenticator creates a credential over the challenge with an attestation statement; the issuer verifies
 * it (@simplewebauthn/server) and applies its policy (format, AAGUID, certificate roots) before the device key
 * is registered. Every refusal is a risk-log entry.
 */
export class DeviceEnrolment {
  constructor(
    private readonly deps: {
      devices: DeviceRegistry;
      risk: RiskEngine;
      policy: () => DeviceEnrolmentPolicy;
      /** The issuer's origin and relying-party id (its host name). */
      origin: () => string;
      rpName: string;
      pending: DocumentStore<PendingEnrolment>;
      clock?: () => Date;
    },
  ) {}

  private now(): Date {
    return (this.deps.clock ?? (() => new Date()))();
  }

  async options(args: { label: string; publicJwk: Ed25519PublicJwk }, addressRef?: string) {
    const policy = this.deps.policy();
    if (!policy.allowedAaguids.length) await this.refuse("ERR_DEVICE_ENROLMENT_DISABLED", "this issuer enrols capture devices through its admin only", undefined, addressRef);
    publicKeyFromJwk(args.publicJwk);
    const enrolmentId = randomUUID();
    const options = await generateRegistrationOptions({
      rpName: this.deps.rpName,
      rpID: new URL(this.deps.origin()).hostname,
      userName: args.label,
      userID: randomBytes(16),
      challenge: randomBytes(32),
      // "direct": the statement is what the policy judges; "none" only where nothing else is wanted.
      attestationType: policy.allowedFormats.length === 0 && policy.allowNone ? "none" : "direct",
      authenticatorSelection: { residentKey: "discouraged", userVerification: "preferred" },
      timeout: ENROLMENT_SECONDS * 1000,
    });
    await this.deps.pending.put(enrolmentId, { challenge: options.challenge, label: args.label, publicJwk: args.publicJwk, expiresAt: Math.floor(this.now().getTime() / 1000) + ENROLMENT_SECONDS });
    return { enrolmentId, options };
  }

  async verify(args: { enrolmentId: string; response: RegistrationResponseJSON }, addressRef?: string): Promise<DeviceRecord> {
    const now = this.now();
    const pending = await this.deps.pending.take(args.enrolmentId);
    if (!pending || pending.expiresAt <= Math.floor(now.getTime() / 1000)) throw new AgentError("ERR_DEVICE_ENROLMENT_NOT_FOUND", "no pending enrolment with this id (unknown, used or expired): ask for new options");
    const origin = new URL(this.deps.origin());
    let info;
    try {
      const result = await verifyRegistrationResponse({ response: args.response, expectedChallenge: pending.challenge, expectedOrigin: origin.origin, expectedRPID: origin.hostname, requireUserVerification: false });
      if (!result.verified) throw new Error("not verified");
      info = result.registrationInfo;
    } catch (cause) {
      return this.refuse("ERR_DEVICE_ATTESTATION_INVALID", `the attestation does not verify: ${String((cause as Error).message ?? cause).slice(0, 200)}`, undefined, addressRef);
    }
    const policy = this.deps.policy();
    const deviceId = `wa-${sha256Hex(info.credential.id).slice(0, 24)}`;
    if (info.fmt === "none" ? !policy.allowNone : !policy.allowedFormats.includes(info.fmt)) {
      return this.refuse("ERR_DEVICE_ATTESTATION_REFUSED", `attestation format ${info.fmt} is not allowed by the issuer's policy`, deviceId, addressRef);
    }
    if (!policy.allowedAaguids.includes(info.aaguid.toLowerCase())) {
      return this.refuse("ERR_DEVICE_ATTESTATION_REFUSED", `authenticator model ${info.aaguid} is not allowed by the issuer's policy`, deviceId, addressRef);
    }
    if (policy.rootCertificates?.length && info.fmt !== "none") {
      const x5c = decodeAttestationObject(info.attestationObject).get("attStmt").get("x5c");
      const chained = x5c?.length ? await validateCertificatePath(x5c.map(convertCertBufferToPEM), policy.rootCertificates).catch(() => false) : false;
      if (!chained) return this.refuse("ERR_DEVICE_ATTESTATION_REFUSED", "the attestation certificate does not chain to a root the issuer trusts", deviceId, addressRef);
    }
    const record = await this.deps.devices.register({ deviceId, label: pending.label, publicJwk: pending.publicJwk, enrolment: { method: "webauthn", fmt: info.fmt, aaguid: info.aaguid.toLowerCase(), credentialId: info.credential.id } }, now);
    await this.deps.risk.recordAdmin({ action: "device-enrolled-by-attestation", subjectRef: deviceId, reason: `${info.fmt} attestation, model ${info.aaguid}` }, now);
    return record;
  }

  private async refuse(code: string, reason: string, deviceId?: string, addressRef?: string): Promise<never> {
    await this.deps.risk.recordDeviceRefusal({ ...(deviceId ? { deviceId } : {}), ...(addressRef ? { addressRef } : {}), code, reason }, this.now());
    throw new AgentError(code, reason);
  }
}

/** The policy from the environment: DEVICE_ENROLMENT_AAGUIDS, _FORMATS (default packed), _ALLOW_NONE, _ROOTS (PEM text). */
export function enrolmentPolicyFromEnv(env: NodeJS.ProcessEnv, readRoots: (path: string) => string): DeviceEnrolmentPolicy {
  const list = (v: string | undefined) => (v ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  const roots = env.DEVICE_ENROLMENT_ROOTS_FILE ? readRoots(env.DEVICE_ENROLMENT_ROOTS_FILE).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [] : [];
  return {
    allowedAaguids: list(env.DEVICE_ENROLMENT_AAGUIDS),
    allowedFormats: env.DEVICE_ENROLMENT_FORMATS === undefined ? ["packed"] : list(env.DEVICE_ENROLMENT_FORMATS),
    allowNone: env.DEVICE_ENROLMENT_ALLOW_NONE === "1",
    ...(roots.length ? { rootCertificates: roots.map((r) => `${r}\n`) } : {}),
  };
}

/** The enrolment page's script (served by the issuer at /devices/enrol.js; CSP allows only same-origin scripts). */
export function enrolDeviceScript(): string {
  // By the repository root, not import.meta.url: the same code also runs bundled from dist/.
  return readFileSync(join(REPO_ROOT, "agent", "src", "issuer", "assets", "enrol-device.js"), "utf8");
}
