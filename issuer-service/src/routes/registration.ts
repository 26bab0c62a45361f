import { Router } from "express";
import { z } from "zod";
import { CredentialIssuance, handle, parseInput, requireJson, validateResidentIdNumber } from "@realname/agent";
import type { IssuerDeps } from "../deps.js";

const MAX_PORTRAIT_BYTES = 2 * 1024 * 1024;

export const registrationSchema = z
  .object({
    fullName: z.string().trim().min(1, "required").max(64, "at most 64 characters"),
    idNumber: z
      .string()
      .trim()
      .toUpperCase()
      .superRefine((v, ctx) => {
        const r = validateResidentIdNumber(v);
        if (!r.valid) ctx.addIssue({ code: "custom", message: `not a valid resident ID number: ${r.problem}` });
      }),
    portrait: z
      .string()
      .max(Math.ceil((MAX_PORTRAIT_BYTES * 4) / 3) + 4, "larger than 2 MiB")
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64")
      .superRefine((v, ctx) => {
        const b = Buffer.from(v, "base64");
        const png = b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        const jpeg = b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
        if (!png && !jpeg) ctx.addIssue({ code: "custom", message: "must be a PNG or JPEG image" });
      }),
    fingerprintDigest: z.string().regex(/^[0-9a-f]{64}$/, "must be a sha-256 hex digest").optional(),
    nonce: z.string().min(16).max(64),
    deviceProof: z.string().min(1).max(4096),
  })
  .strict();

const confirmationSchema = z.object({ confirm: z.boolean() }).strict();
const idParam = z.string().uuid();

/** Registration (flow 1): nonce, device-signed materials, masked confirmation, then a credential offer. */
export function registrationRoutes(deps: IssuerDeps): Router {
  const r = Router();
  r.post("/registrations/nonce", handle(async (_req, res) => void res.status(201).json(await deps.registration.issueNonce())));

  r.post("/registrations", requireJson, handle(async (req, res) => {
    const input = parseInput(registrationSchema, req.body);
    const result = await deps.registration.submit(
      { ...input, portrait: Buffer.from(input.portrait, "base64") },
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
