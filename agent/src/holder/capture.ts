import { signJws, type JwsSigner } from "../crypto/jws.js";
import { sha256Hex } from "../encoding.js";
import { fetchJson } from "../http/json-client.js";
import { DEVICE_PROOF_TYP } from "../issuer/devices.js";
import { framesDigest, type LivenessChallenge } from "../issuer/face/liveness.js";

/** A registered capture device (a kiosk, or the wallet app's installation) submitting materials. */
export interface CaptureDevice {
  deviceId: string;
  signer: JwsSigner;
}

export interface CaptureMaterials {
  /** Both or neither: without them the issuer looks for the identity by the face (face-first, seed 002). */
  fullName?: string;
  idNumber?: string;
  portrait: Uint8Array;
  fingerprintDigest?: string;
  /** The frames filmed while the person performed `challenge` (from `requestLivenessChallenge`), in order. */
  liveness?: { challenge: LivenessChallenge; frames: Uint8Array[] };
}

/** Asks the issuer for an active liveness challenge (actions to perform, single use, short expiry). */
export async function requestLivenessChallenge(issuerUrl: string): Promise<LivenessChallenge> {
  return fetchJson(new URL("/registrations/liveness-challenge", issuerUrl).href, { method: "POST", body: {} });
}

/**
 * Submits registration materials as the issuer's security gateway expects: a fresh nonce from the issuer,
 * and the device's signature over that nonce and the portrait's hash. Returns what the person must confirm.
 */
export async function submitRegistration(issuerUrl: string, device: CaptureDevice, materials: CaptureMaterials): Promise<{ registrationId: string; masked: { name: string; idNumber: string }; confirmBy: string; trust?: "trusted" | "untrusted"; identifiedBy?: "face-1:N" | "typed-details" }> {
  const { did: issuerDid } = await fetchJson<{ did: string }>(new URL("/.well-known/issuer", issuerUrl).href);
  const { nonce } = await fetchJson<{ nonce: string }>(new URL("/registrations/nonce", issuerUrl).href, { method: "POST", body: {} });
  const deviceProof = await signJws(
    { typ: DEVICE_PROOF_TYP, alg: "EdDSA", kid: device.deviceId },
    { aud: issuerDid, nonce, portrait_sha256: sha256Hex(materials.portrait), iat: Math.floor(Date.now() / 1000) },
    device.signer,
  );
  // The frames get their own device signature: nonce = the challenge id, portrait_sha256 = framesDigest(frames).
  const liveness = materials.liveness
    ? {
        challengeId: materials.liveness.challenge.challengeId,
        frames: materials.liveness.frames.map((f) => Buffer.from(f).toString("base64")),
        deviceProof: await signJws(
          { typ: DEVICE_PROOF_TYP, alg: "EdDSA", kid: device.deviceId },
          { aud: issuerDid, nonce: materials.liveness.challenge.challengeId, portrait_sha256: framesDigest(materials.liveness.frames), iat: Math.floor(Date.now() / 1000) },
          device.signer,
        ),
      }
    : undefined;
  return fetchJson(new URL("/registrations", issuerUrl).href, {
    // The issuer runs a face model over the portrait, the registry photo and any liveness frames, one image
    // at a time per process: a busy issuer answers in tens of seconds, not the 15 s of a plain JSON call.
    timeoutMs: 90_000,
    body: {
      fullName: materials.fullName,
      idNumber: materials.idNumber,
      portrait: Buffer.from(materials.portrait).toString("base64"),
      ...(materials.fingerprintDigest ? { fingerprintDigest: materials.fingerprintDigest } : {}),
      nonce,
      deviceProof,
      ...(liveness ? { liveness } : {}),
    },
  });
}

/** The person's answer to the masked identity; on yes, the issuer answers with a credential offer. */
export async function confirmRegistration(issuerUrl: string, registrationId: string, confirm: boolean): Promise<{ status: string; credentialOffer?: string; qrText?: string; qrPng?: string }> {
  return fetchJson(new URL(`/registrations/${registrationId}/confirmation`, issuerUrl).href, { body: { confirm } });
}
