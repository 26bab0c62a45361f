import { acceptableLevels } from "../grants/choice.js";
import { AgentError } from "../errors.js";
import { fetchJson } from "../http/json-client.js";
import { requestHash, type PresentationRequest } from "../grants/request.js";
import { originOf } from "../http/origins.js";
import { grantTermsFor, resolveAuthorizationRequest } from "../grants/openid4vp.js";
import { registeredDnsNames } from "../grants/x509-client.js";
import { verifyTrustRegistry, type MerchantEntry } from "../issuer/trust-registry.js";
import { claimsForLevel, GRANT_LEVELS, identityVct } from "../sdjwt/identity-credential.js";
import { messageFor } from "./messages.js";

export interface CheckedRequest {
  request: PresentationRequest;
  /** The signed request object exactly as received (its hash goes into the consent receipt). */
  requestJwt: string;
  /** sha-256 (hex) of `requestJwt`: what the person was shown, named in the form or prompt that answers it. */
  requestHash: string;
  /** The OpenID4VP authorization request parameters (for the direct_post answer). */
  payload: Record<string, unknown>;
  /** Exactly the claim names that would leave the wallet. */
  claimNames: string[];
  /** The issuer's signed registry entry for the request's signer: the name, level and claims the person is shown come from here. */
  merchant: MerchantEntry;
}

/** A member login challenge, checked: the merchant as the registry has it, where the proof would go. */
export interface CheckedLogin {
  challengeUri: string;
  nonce: string;
  responseUri: string;
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
export async function checkMerchantRequest(args: {
  requestUri: string;
  issuerUrl: string;
  issuerDid: string;
  now: Date;
  /** The platform CA certificate(s) the wallet pinned: what an `x509_san_dns` merchant's chain must lead to. */
  x509TrustAnchors?: readonly string[];
}): Promise<CheckedRequest> {
  let resolved: Awaited<ReturnType<typeof resolveAuthorizationRequest>>;
  try {
    // The identity type asked for must be the one this wallet holds: its issuer's vct URL.
    resolved = await resolveAuthorizationRequest(args.requestUri, args.now, { vct: identityVct(args.issuerUrl), ...(args.x509TrustAnchors ? { x509TrustAnchors: args.x509TrustAnchors } : {}) });
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return refuse(e.code ?? "ERR_REQUEST_MALFORMED", e.message ?? "the request could not be read");
  }
  const { requestObject, payload } = resolved;
  // The registry check comes first (before the PIN, before any terms are read): an unregistered merchant is refused in words.
  const merchant = await registeredMerchant({ did: resolved.iss, issuerUrl: args.issuerUrl, issuerDid: args.issuerDid, now: args.now });
  // A certified name is not enough: the registry must still list that domain for this merchant (a certificate outlives a change).
  if (resolved.x509?.dnsName && !registeredDnsNames(merchant).includes(resolved.x509.dnsName)) refuse("ERR_X509_DNS_NOT_REGISTERED", "the certificate's domain is not registered for this merchant");
  let request: PresentationRequest;
  try {
    // Terms from the merchant's `realname_grant` transaction data, or (a standard merchant) from the DCQL query and this registry entry.
    request = grantTermsFor(resolved, merchant);
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return refuse(e.code ?? "ERR_REQUEST_MALFORMED", e.message ?? "the request could not be read");
  }
  // The person is shown the registry's name; a request that calls itself something else is not answered at all.
  const clientName = (payload.client_metadata as { client_name?: unknown } | undefined)?.client_name;
  if (request.merchant_name !== merchant.name || (clientName !== undefined && clientName !== merchant.name)) refuse("ERR_MERCHANT_NAME_MISMATCH", "name differs from the registry");
  requireRegisteredOrigin(merchant, request.response_uri);
  // Every level the merchant would accept (its preference and the alternatives) must be within its registration.
  if (acceptableLevels(request).some((l) => GRANT_LEVELS.indexOf(l) > GRANT_LEVELS.indexOf(merchant.maxLevel))) refuse("ERR_LEVEL_NOT_ALLOWED", "level above registration");
  if (!merchant.purposes.includes(request.purpose)) refuse("ERR_PURPOSE_NOT_ALLOWED", "purpose not registered");
  const claimNames = claimsForLevel(request.level, { requestedClaims: request.claims, ageOver18: request.age_over_18 });
  if (acceptableLevels(request).includes("full") && request.claims.some((c) => !merchant!.fullClaims.includes(c))) refuse("ERR_CLAIMS_NOT_REGISTERED", "claims not registered");
  return { request, requestJwt: requestObject, requestHash: requestHash(requestObject), payload, claimNames, merchant };
}

/** Refuses a URL whose origin the registry does not list for this merchant (a look-alike or relaying site). */
export function requireRegisteredOrigin(merchant: MerchantEntry, url: string): void {
  const origin = originOf(url);
  if (!origin || !(merchant.origins ?? []).includes(origin)) refuse("ERR_ORIGIN_NOT_REGISTERED", "origin not registered for this merchant");
}

/**
 * A member login challenge, read once and checked before anything is signed: the merchant it names is in
 * the issuer's registry, and both the page the challenge came from and the address the proof would go to
 * are origins registered for that merchant. A phishing page relaying a real merchant's challenge fails here.
 */
export async function checkLoginChallenge(args: { challengeUri: string; issuerUrl: string; issuerDid: string; now: Date }): Promise<CheckedLogin> {
  const info = await fetchJson<{ nonce?: unknown; merchant?: unknown; responseUri?: unknown }>(args.challengeUri);
  if (typeof info.nonce !== "string" || typeof info.merchant !== "string" || typeof info.responseUri !== "string") throw new AgentError("ERR_CHALLENGE_NOT_FOUND", messageFor("ERR_CHALLENGE_NOT_FOUND", "no open challenge"));
  const merchant = await registeredMerchant({ did: info.merchant, issuerUrl: args.issuerUrl, issuerDid: args.issuerDid, now: args.now });
  requireRegisteredOrigin(merchant, args.challengeUri);
  requireRegisteredOrigin(merchant, info.responseUri);
  return { challengeUri: args.challengeUri, nonce: info.nonce, responseUri: info.responseUri, merchant };
}

/** The merchant's entry in the issuer's signed registry (refused if the registry does not verify or lacks it). */
export async function registeredMerchant(args: { did: string; issuerUrl: string; issuerDid: string; now: Date }): Promise<MerchantEntry> {
  const merchant = (await registeredMerchants(args)).find((m) => m.did === args.did);
  if (!merchant) return refuse("ERR_MERCHANT_UNREGISTERED", "the merchant is not registered");
  return merchant;
}

/** Every merchant in the issuer's signed registry (what a person picks from to start a grant themselves). */
export async function registeredMerchants(args: { issuerUrl: string; issuerDid: string; now: Date }): Promise<MerchantEntry[]> {
  const registryJwt = await fetchJson<unknown>(new URL("/registry", args.issuerUrl).href, { accept: "application/jwt" });
  try {
    return verifyTrustRegistry(typeof registryJwt === "string" ? registryJwt.trim() : registryJwt, args.issuerDid, args.now).merchants;
  } catch (error) {
    return refuse("ERR_TRUST_REGISTRY_INVALID", (error as Error).message);
  }
}

/**
 * A grant the person starts (seed 000, user-initiated): asks a registered merchant, at its first registered
 * origin, for a fresh request at the chosen level (`POST /requests/user-initiated`), and checks it like any
 * request (signature, registry, origins). Nothing about the person is sent; the answer is the usual review and PIN.
 */
export async function requestFromMerchant(args: { merchantDid: string; level: "verified" | "pseudonymous"; issuerUrl: string; issuerDid: string; now: Date; x509TrustAnchors?: readonly string[] }): Promise<{ link: string; checked: CheckedRequest }> {
  const merchant = await registeredMerchant({ did: args.merchantDid, issuerUrl: args.issuerUrl, issuerDid: args.issuerDid, now: args.now });
  if (GRANT_LEVELS.indexOf(args.level) > GRANT_LEVELS.indexOf(merchant.maxLevel)) refuse("ERR_LEVEL_NOT_ALLOWED", "level above registration");
  const created = await fetchJson<{ authorizationRequest?: unknown }>(new URL("/requests/user-initiated", merchant.origins[0]!).href, { body: { level: args.level } });
  if (typeof created?.authorizationRequest !== "string" || created.authorizationRequest.length > 16_000) return refuse("ERR_REQUEST_MALFORMED", "the merchant did not return a request");
  const link = created.authorizationRequest;
  const checked = await checkMerchantRequest({ requestUri: link, issuerUrl: args.issuerUrl, issuerDid: args.issuerDid, now: args.now, x509TrustAnchors: args.x509TrustAnchors ?? [] });
  // The request must come from the merchant the person picked, at the level they picked.
  if (checked.request.iss !== merchant.did || checked.request.level !== args.level) refuse("ERR_REQUEST_MALFORMED", "the merchant answered with another merchant's or level's request");
  return { link, checked };
}
