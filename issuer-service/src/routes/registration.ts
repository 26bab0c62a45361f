import { Router } from "express";
import { z } from "zod";
import { CredentialIssuance, handle, imageBase64Schema, MAX_FRAME_BYTES, parseInput, portraitBase64Schema, requireJson, residentIdNumberSchema } from "@realname/agent";
import type { IssuerDeps } from "../deps.js";

/**
 * The active liveness challenge's answer (see LivenessEvidence in agent/src/issuer/face/liveness.ts):
 * frames in capture order (the first neutral, facing the camera), and a device-proof+jwt whose `nonce` is
 * the challenge id and whose `portrait_sha256` is framesDigest(frames).
 */
const livenessSchema = z
  .object({
    challengeId: z.string().min(16).max(64),
    frames: z.array(imageBase64Schema(MAX_FRAME_BYTES)).min(1).max(12),
    deviceProof: z.string().min(1).max(4096),
  })
  .strict();

export const registrationSchema = z
  .object({
    // Both or neither: without them the identity is looked for by the face (face-first, seed 002), which only a
    // trusted device may do; otherwise the answer is ERR_IDENTITY_ITEMS_REQUIRED and the person types them.
    fullName: z.string().trim().min(1, "required").max(64, "at most 64 characters").optional(),
    // A bad number is answered with its problem code first (ID_FORMAT, ID_REGION, ID_BIRTH_DATE, ID_CHECK_DIGIT).
    idNumber: residentIdNumberSchema.optional(),
    portrait: portraitBase64Schema,
    fingerprintDigest: z.string().regex(/^[0-9a-f]{64}$/, "must be a sha-256 hex digest").optional(),
    nonce: z.string().min(16).max(64),
    deviceProof: z.string().min(1).max(4096),
    liveness: livenessSchema.optional(),
  })
  .strict()
  .refine((r) => (r.fullName === undefined) === (r.idNumber === undefined), { message: "fullName and idNumber are given together or not at all", path: ["idNumber"] });

const confirmationSchema = z.object({ confirm: z.boolean() }).strict();
const idParam = z.string().uuid();

/** Registration (flow 1): nonce, device-signed materials, masked confirmation, then a credential offer. */
export function registrationRoutes(deps: IssuerDeps): Router {
  const r = Router();
  r.post("/registrations/nonce", handle(async (_req, res) => void res.status(201).json(await deps.registration.issueNonce())));

  // The capture page asks for a challenge first, films the person performing it, then posts /registrations.
  r.post("/registrations/liveness-challenge", handle(async (_req, res) => void res.status(201).json(await deps.registration.issueLivenessChallenge())));

  r.post("/registrations", requireJson, handle(async (req, res) => {
    const { liveness, ...input } = parseInput(registrationSchema, req.body);
    const result = await deps.registration.submit(
      {
        ...input,
        portrait: Buffer.from(input.portrait, "base64"),
        ...(liveness ? { liveness: { ...liveness, frames: liveness.frames.map((f) => Buffer.from(f, "base64")) } } : {}),
      },
      req.socket.remoteAddress ?? "unknown",
    );
    res.status(202).json({ ...result, next: `${deps.baseUrl()}/registrations/${result.registrationId}/confirmation` });
  }));

  r.post("/registrations/:id/confirmation", requireJson, handle(async (req, res) => {
    const registrationId = parseInput(idParam, req.params.id);
    const { confirm } = parseInput(confirmationSchema, req.body);
    const { identityRef } = await deps.registration.confirm(registrationId, confirm);
    if (!identityRef) {
      res.json({ status: "discarded" });
      return;
    }
    const offer = await deps.issuance.createOffer(identityRef);
    res.status(201).json({
      status: "verified",
      credentialOffer: offer.credentialOffer,
      expiresAt: offer.expiresAt,
      qrPng: `${deps.baseUrl()}/offers/${offer.offerId}/qr.png`,
      qrText: await CredentialIssuance.qrTerminal(offer.credentialOffer),
    });
  }));
  return r;
}
