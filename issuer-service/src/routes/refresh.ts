import { Router } from "express";
import { z } from "zod";
import { AgentError, CredentialIssuance, handle, parseInput, requireJson, VerificationFailedError, verifySdJwtPresentation } from "@realname/agent";
import type { IssuerDeps } from "../deps.js";

/**
 * A fresh batch for a wallet that runs low, without registering again: the wallet presents one of its
 * credentials to the issuer (disclosing only the ID number, key-bound to a nonce from this issuer); if that
 * credential is still valid, the answer is a new offer for the same verified identity.
 */
export function refreshRoutes(deps: IssuerDeps): Router {
  const r = Router();
  r.post("/refresh", requireJson, handle(async (req, res) => {
    const { presentation, nonce } = parseInput(z.object({ presentation: z.string().min(1).max(65_536), nonce: z.string().min(16).max(64) }).strict(), req.body);
    const result = verifySdJwtPresentation({
      presentation,
      // Its own credentials, whichever key signed them (EdDSA or ES256) and whichever `iss` they carry (the DID, or its URL: ISSUER_IDENTIFIER=url).
      trustedIssuers: deps.issuance.trustedIssuerKeys(),
      audience: deps.issuer.did,
      nonce,
      now: deps.clock,
      allowedClaims: ["id_number"],
      requiredClaims: ["id_number"],
    });
    if (!result.verified) throw new VerificationFailedError(result.errors);
    if (!(await deps.registration.consumeNonce(nonce))) throw new AgentError("ERR_NONCE_INVALID", "the nonce is unknown, used or expired");
    const idx = (result.claims?.status as { status_list?: { idx?: number } } | undefined)?.status_list?.idx;
    if (typeof idx !== "number" || (await deps.status.effectiveStatusOf(idx)) !== "valid") throw new AgentError("ERR_CREDENTIAL_REVOKED", "this credential is no longer valid: register again");
    const ref = deps.vault.refFor(String(result.claims!.id_number));
    if (!(await deps.vault.get(ref))) throw new AgentError("ERR_IDENTITY_NOT_FOUND", "no verified identity for this credential");
    const offer = await deps.issuance.createOffer(ref);
    res.status(201).json({ credentialOffer: offer.credentialOffer, expiresAt: offer.expiresAt, qrText: await CredentialIssuance.qrTerminal(offer.credentialOffer) });
  }));
  return r;
}
