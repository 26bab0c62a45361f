import { signJws, type JwsSigner } from "../crypto/jws.js";
import { sha256Hex } from "../encoding.js";
import { fetchJson } from "../http/json-client.js";
import { DEVICE_PROOF_TYP } from "../issuer/devices.js";

/** A registered capture device (a kiosk, or the wallet app's installation) submitting materials. */
export interface CaptureDevice {
  deviceId: string;
  signer: JwsSigner;
}

export interface CaptureMaterials {
  fullName: string;
  idNumber: string;
  portrait: Uint8Array;
  fingerprintDigest?: string;
}

/**
 * Submits registration materials as the issuer's security gateway expects: a fresh nonce from the issuer,
 * and the device's signature over that nonce and the portrait's hash. Returns what the person must confirm.
 */
export async function submitRegistration(issuerUrl: string, device: CaptureDevice, materials: CaptureMaterials): Promise<{ registrationId: string; masked: { name: string; idNumber: string }; confirmBy: string }> {
  const { did: issuerDid } = await fetchJson<{ did: string }>(new URL("/.well-known/issuer", issuerUrl).href);
  const { nonce } = await fetchJson<{ nonce: string }>(new URL("/registrations/nonce", issuerUrl).href, { method: "POST", body: {} });
  const deviceProof = await signJws(
    { typ: DEVICE_PROOF_TYP, alg: "EdDSA", kid: device.deviceId },
    { aud: issuerDid, nonce, portrait_sha256: sha256Hex(materials.portrait), iat: Math.floor(Date.now() / 1000) },
    device.signer,
  );
  return fetchJson(new URL("/registrations", issuerUrl).href, {
    body: {
      fullName: materials.fullName,
      idNumber: materials.idNumber,
      portrait: Buffer.from(materials.portrait).toString("base64"),
      ...(materials.fingerprintDigest ? { fingerprintDigest: materials.fingerprintDigest } : {}),
      nonce,
      deviceProof,
    },
  });
}

/** The person's answer to the masked identity; on yes, the issuer answers with a credential offer. */
export async function confirmRegistration(issuerUrl: string, registrationId: string, confirm: boolean): Promise<{ status: string; credentialOffer?: string; qrText?: string; qrPng?: string }> {
  return fetchJson(new URL(`/registrations/${registrationId}/confirmation`, issuerUrl).href, { body: { confirm } });
}
