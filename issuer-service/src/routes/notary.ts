import { Router } from "express";
import { z } from "zod";
import { AgentError, attestedPersonSchema, CredentialIssuance, decodeJws, handle, IDENTITY_ATTESTATION_TYP, inspectPortrait, parseInput, portraitBase64Schema, publicKeyFromDidKey, requireJson, sha256Hex, verifyEd25519 } from "@realname/agent";
import type { IssuerDeps } from "../deps.js";

export const ATTESTATION_TYP = IDENTITY_ATTESTATION_TYP;
const ATTESTATION_MAX_SKEW_SECONDS = 300;

/**
 * A registered notary uploads an identity it verified in person, with the portrait it took: a JWT signed by
 * the notary's DID, for this issuer, fresh, with a `jti` spent once, covering the portrait's SHA-256. It is
 * cross-checked against the registry (AttestedIdentities) and never replaces an identity verified by registry
 * and face. The answer is a credential offer the notary hands to the person.
 */
export function notaryRoutes(deps: IssuerDeps): Router {
  const r = Router();
  r.post("/attested-identities", requireJson, handle(async (req, res) => {
    const { attestation, portrait: portraitB64 } = parseInput(z.object({ attestation: z.string().min(1).max(16_384), portrait: portraitBase64Schema }).strict(), req.body);
    const jws = decodeJws(attestation);
    if (!jws || jws.header.typ !== ATTESTATION_TYP || jws.header.alg !== "EdDSA") throw new AgentError("ERR_ATTESTATION_INVALID", "not an identity attestation");
    const notaryDid = String(jws.payload.iss ?? "");
    const notary = await deps.trust.notary(notaryDid);
    if (!notary) throw new AgentError("ERR_FORBIDDEN", "only registered notaries may attest identities");
    if (!verifyEd25519(jws.signingInput, jws.signature, publicKeyFromDidKey(notaryDid))) throw new AgentError("ERR_ATTESTATION_INVALID", "the attestation's signature is not the notary's");
    const now = (deps.clock ?? (() => new Date()))();
    const t = Math.floor(now.getTime() / 1000);
    if (jws.payload.aud !== deps.issuer.did || typeof jws.payload.iat !== "number" || Math.abs(t - jws.payload.iat) > ATTESTATION_MAX_SKEW_SECONDS) {
      throw new AgentError("ERR_ATTESTATION_INVALID", "the attestation is not for this issuer or not fresh");
    }
    const person = parseInput(attestedPersonSchema, jws.payload.person);
    const portrait = Buffer.from(portraitB64, "base64");
    if (jws.payload.portrait_sha256 !== sha256Hex(portrait)) throw new AgentError("ERR_ATTESTATION_INVALID", "the attestation does not cover this portrait");
    await inspectPortrait(portrait);
    // Spent once (atomically): a captured attestation replayed, even concurrently, yields no second offer.
    await deps.spentTokens.spend(`attestation|${notaryDid}`, jws.payload.jti, jws.payload.iat + ATTESTATION_MAX_SKEW_SECONDS + 1);
    const { identityRef } = await deps.attestations.accept({ person, portrait, notaryDid, now });
    const offer = await deps.issuance.createOffer(identityRef);
    res.status(201).json({ attestedBy: notaryDid, credentialOffer: offer.credentialOffer, expiresAt: offer.expiresAt, qrText: await CredentialIssuance.qrTerminal(offer.credentialOffer) });
  }));
  return r;
}
