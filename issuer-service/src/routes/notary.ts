import { Router } from "express";
import { z } from "zod";
import { AgentError, CredentialIssuance, decodeJws, handle, parseInput, publicKeyFromDidKey, requireJson, validateResidentIdNumber, verifyEd25519 } from "@realname/agent";
import type { IssuerDeps } from "../deps.js";

export const ATTESTATION_TYP = "identity-attestation+jwt";
const ATTESTATION_MAX_SKEW_SECONDS = 300;

const personSchema = z
  .object({
    idNumber: z.string().trim().toUpperCase().refine((v) => validateResidentIdNumber(v).valid, "not a valid resident ID number"),
    fullName: z.string().min(1).max(64),
    familyName: z.string().min(1).max(32),
    givenName: z.string().min(1).max(32),
    birthDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  })
  .strict();

/**
 * A registered notary uploads an identity it verified in person: a JWT signed by the notary's DID, for this
 * issuer, fresh, with a `jti` spent once. The stored record says who attested it and when; the answer is a credential offer the
 * notary hands to the person.
 */
export function notaryRoutes(deps: IssuerDeps): Router {
  const r = Router();
  r.post("/attested-identities", requireJson, handle(async (req, res) => {
    const { attestation } = parseInput(z.object({ attestation: z.string().min(1).max(16_384) }).strict(), req.body);
    const jws = decodeJws(attestation);
    if (!jws || jws.header.typ !== ATTESTATION_TYP || jws.header.alg !== "EdDSA") throw new AgentError("ERR_ATTESTATION_INVALID", "not an identity attestation");
    const notaryDid = String(jws.payload.iss ?? "");
    const notary = await deps.trust.notary(notaryDid);
    if (!notary) throw new AgentError("ERR_FORBIDDEN", "only registered notaries may attest identities");
    if (!verifyEd25519(jws.signingInput, jws.signature, publicKeyFromDidKey(notaryDid))) throw new AgentError("ERR_ATTESTATION_INVALID", "the attestation's signature is not the notary's");
    const t = Math.floor((deps.clock ?? (() => new Date()))().getTime() / 1000);
    if (jws.payload.aud !== deps.issuer.did || typeof jws.payload.iat !== "number" || Math.abs(t - jws.payload.iat) > ATTESTATION_MAX_SKEW_SECONDS) {
      throw new AgentError("ERR_ATTESTATION_INVALID", "the attestation is not for this issuer or not fresh");
    }
    const person = parseInput(personSchema, jws.payload.person);
    // Spent once (atomically): a captured attestation replayed, even concurrently, yields no second offer.
    await deps.spentTokens.spend(`attestation|${notaryDid}`, jws.payload.jti, jws.payload.iat + ATTESTATION_MAX_SKEW_SECONDS + 1);
    const { identityRef } = await deps.registration.storeAttested(person, notaryDid);
    const offer = await deps.issuance.createOffer(identityRef);
    res.status(201).json({ attestedBy: notaryDid, credentialOffer: offer.credentialOffer, expiresAt: offer.expiresAt, qrText: await CredentialIssuance.qrTerminal(offer.credentialOffer) });
  }));
  return r;
}
