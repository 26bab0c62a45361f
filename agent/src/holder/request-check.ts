import { AgentError } from "../errors.js";
import { fetchJson } from "../http/json-client.js";
import type { PresentationRequest } from "../grants/request.js";
import { resolveAuthorizationRequest } from "../grants/openid4vp.js";
import { verifyTrustRegistry, type MerchantEntry } from "../issuer/trust-registry.js";
import { claimsForLevel, GRANT_LEVELS } from "../sdjwt/identity-credential.js";
import { messageFor } from "./messages.js";

export interface CheckedRequest {
  request: PresentationRequest;
  /** The signed request object exactly as received (its hash goes into the consent receipt). */
  requestJwt: string;
  /** The OpenID4VP authorization request parameters (for the direct_post answer). */
  payload: Record<string, unknown>;
  /** Exactly the claim names that would leave the wallet. */
  claimNames: string[];
  merchant: MerchantEntry;
}

const refuse = (code: string, fallback: string): never => {
  throw new AgentError(code, messageFor(code, fallback));
};

/**
 * Everything the wallet checks about a merchant's request before showing it to the person: the merchant's
 * signature, expiry, and the issuer's signed registry of merchants (registered at all; level, purpose and
 * claims within its registration). Needs no PIN: nothing secret is touched.
 */
export async function checkMerchantRequest(args: { requestUri: string; issuerUrl: string; issuerDid: string; now: Date }): Promise<CheckedRequest> {
  let resolved: Awaited<ReturnType<typeof resolveAuthorizationRequest>>;
  try {
    resolved = await resolveAuthorizationRequest(args.requestUri, args.now);
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return refuse(e.code ?? "ERR_REQUEST_MALFORMED", e.message ?? "the request could not be read");
  }
  const { request, requestObject, payload } = resolved;
  const merchant = await registeredMerchant({ did: request.iss, issuerUrl: args.issuerUrl, issuerDid: args.issuerDid, now: args.now });
  if (GRANT_LEVELS.indexOf(request.level) > GRANT_LEVELS.indexOf(merchant.maxLevel)) refuse("ERR_LEVEL_NOT_ALLOWED", "level above registration");
  if (!merchant.purposes.includes(request.purpose)) refuse("ERR_PURPOSE_NOT_ALLOWED", "purpose not registered");
  const claimNames = claimsForLevel(request.level, { requestedClaims: request.claims, ageOver18: request.age_over_18 });
  if (request.level === "full" && request.claims.some((c) => !merchant!.fullClaims.includes(c))) refuse("ERR_CLAIMS_NOT_REGISTERED", "claims not registered");
  return { request, requestJwt: requestObject, payload, claimNames, merchant };
}

/** The merchant's entry in the issuer's signed registry (refused if the registry does not verify or lacks it). */
export async function registeredMerchant(args: { did: string; issuerUrl: string; issuerDid: string; now: Date }): Promise<MerchantEntry> {
  const registryJwt = await fetchJson<unknown>(new URL("/registry", args.issuerUrl).href, { accept: "application/jwt" });
  let merchant: MerchantEntry | undefined;
  try {
    merchant = verifyTrustRegistry(typeof registryJwt === "string" ? registryJwt.trim() : registryJwt, args.issuerDid, args.now).merchants.find((m) => m.did === args.did);
  } catch (error) {
    refuse("ERR_TRUST_REGISTRY_INVALID", (error as Error).message);
  }
  if (!merchant) return refuse("ERR_MERCHANT_UNREGISTERED", "the merchant is not registered");
  return merchant;
}
