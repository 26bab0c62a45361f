import type { SpentTokens } from "../stores/spent-tokens.js";
import type { CredentialIssuance } from "./credential-issuance.js";
import type { RegistrationService } from "./registration.js";

/**
 * The issuer's sweep of everything single-use that expired: offers (and their codes, with the access tokens'
 * lifetime), c_nonces, registration nonces, unconfirmed registrations, spent notary-attestation jtis. The
 * clock is the caller's, so a test moves time instead of waiting; the service runs it on an interval.
 */
export async function sweepIssuer(parts: { issuance: CredentialIssuance; registration: RegistrationService; spentTokens: SpentTokens }, now: Date) {
  const { offers, nonces: cNonces } = await parts.issuance.sweep(now);
  const { nonces: registrationNonces, pending: registrations } = await parts.registration.sweep(now);
  const jtis = await parts.spentTokens.sweep(now);
  return { offers, cNonces, registrationNonces, registrations, jtis, total: offers + cNonces + registrationNonces + registrations + jtis };
}
