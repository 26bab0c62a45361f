import {
  createOpenid4vpAuthorizationRequest,
  createOpenid4vpAuthorizationResponse,
  parseOpenid4VpAuthorizationResponsePayload,
  resolveOpenid4vpAuthorizationRequest,
  submitOpenid4vpAuthorizationResponse,
  validateOpenid4vpAuthorizationResponsePayload,
} from "@openid4vc/openid4vp";
import { z } from "zod";
import { AgentError } from "../errors.js";
import { random128 } from "../encoding.js";
import type { JwsSigner } from "../crypto/jws.js";
import { didKeyKid, jwkFromDidKey } from "../identity/did-key.js";
import { allowHttpIfLoopback, oid4vcCallbacks } from "../oid4vc/callbacks.js";
import { boundedFetch } from "../http/bounded-fetch.js";
import { claimsForLevel } from "../sdjwt/identity-credential.js";
import { grantTermsSchema, presentationRequestSchema, type PresentationRequest } from "./request.js";

/**
 * OpenID4VP (1.0) for graded grants, built on @openid4vc/openid4vp: a request object signed by the
 * merchant's DID (client_id `decentralized_identifier:<did>`), passed by reference; a DCQL query for exactly
 * the level's claims; `response_mode=direct_post`. The grant's own terms (level, purpose, retention) travel
 * as the `realname_grant` extension parameter, inside the signed request object.
 */
export const DCQL_CREDENTIAL_ID = "realname_identity";
export const CLIENT_ID_PREFIX = "decentralized_identifier:";


/**
 * The DCQL query for a grant: the identity credential type (`vct`, the https URL of the trusted issuer's type,
 * see identityVct) and exactly the claims the level discloses.
 */
export function dcqlFor(claimNames: readonly string[], vct: string) {
  return {
    credentials: [
      {
        id: DCQL_CREDENTIAL_ID,
        format: "dc+sd-jwt",
        meta: { vct_values: [vct] },
        require_cryptographic_holder_binding: true,
        claims: claimNames.map((name) => ({ path: [name] })),
      },
    ],
  };
}

export async function createAuthorizationRequest(args: {
  merchant: { did: string; name: string; signer: JwsSigner };
  terms: z.input<typeof grantTermsSchema>;
  requestUri: string;
  responseUri: string;
  /** The identity credential type asked for (DCQL `vct_values`). */
  vct: string;
  now: Date;
  validForSeconds: number;
}): Promise<{ authorizationRequest: string; requestObject: string; request: PresentationRequest }> {
  const terms = grantTermsSchema.parse(args.terms);
  allowHttpIfLoopback(args.responseUri);
  const nonce = random128();
  const claimNames = claimsForLevel(terms.level, { requestedClaims: terms.claims, ageOver18: terms.age_over_18 });
  const kid = didKeyKid(args.merchant.did);
  const callbacks = oid4vcCallbacks({ signerFor: (jwk) => ((jwk as { x?: string }).x === jwkFromDidKey(args.merchant.did).x ? args.merchant.signer : undefined) });
  const created = await createOpenid4vpAuthorizationRequest({
    authorizationRequestPayload: {
      response_type: "vp_token",
      client_id: `${CLIENT_ID_PREFIX}${args.merchant.did}`,
      response_mode: "direct_post",
      response_uri: args.responseUri,
      nonce,
      state: terms.request_id,
      dcql_query: dcqlFor(claimNames, args.vct),
      client_metadata: {
        client_name: terms.merchant_name,
        vp_formats_supported: { "dc+sd-jwt": { "sd-jwt_alg_values": ["EdDSA", "ES256"], "kb-jwt_alg_values": ["EdDSA", "ES256"] } },
      },
      realname_grant: terms,
    } as never,
    jar: { requestUri: args.requestUri, jwtSigner: { method: "did", didUrl: kid, alg: "EdDSA" } as never, expiresInSeconds: args.validForSeconds },
    callbacks: callbacks as never,
    now: args.now,
  });
  const requestObject = (created as unknown as { jar?: { authorizationRequestJwt: string } }).jar?.authorizationRequestJwt;
  if (!requestObject) throw new Error("the request object was not signed");
  const iat = Math.floor(args.now.getTime() / 1000);
  const request = presentationRequestSchema.parse({ ...terms, iss: args.merchant.did, nonce, response_uri: args.responseUri, iat, exp: iat + args.validForSeconds });
  return { authorizationRequest: (created as unknown as { authorizationRequest: string }).authorizationRequest, requestObject, request };
}

/**
 * The wallet's side: resolves an `openid4vp://` link (or a bare request URI), verifies the request object's
 * signature by the DID in its client_id, and turns it into the grant terms the consent engine checks. The
 * DCQL query must ask for exactly the claims the stated level discloses, or the request is refused.
 */
export async function resolveAuthorizationRequest(link: string, now: Date): Promise<{ request: PresentationRequest; requestObject: string; payload: Record<string, unknown> }> {
  let clientId: string | undefined;
  let requestUri: string | undefined;
  if (/^[a-z0-9+.-]+:\/\/\?/i.test(link) || link.includes("request_uri=")) {
    const params = new URL(link.replace(/^[a-z0-9+.-]+:\/\/\?/i, "https://wallet.invalid/?")).searchParams;
    clientId = params.get("client_id") ?? undefined;
    requestUri = params.get("request_uri") ?? undefined;
  } else {
    requestUri = link;
  }
  if (!requestUri) throw new AgentError("ERR_REQUEST_MALFORMED", "the link names no request");
  allowHttpIfLoopback(requestUri);
  const fail = (code: string, message: string): never => {
    throw new AgentError(code, message);
  };
  try {
    if (!clientId) {
      // A bare request URI: read the client_id from the object; the signature check below still binds it.
      const jwt = (await (await boundedFetch(requestUri, { headers: { accept: "application/oauth-authz-req+jwt" } }, { timeoutMs: 10_000, maxBytes: 256_000 })).text()).trim();
      clientId = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString() || "{}").client_id;
    }
  } catch {
    fail("ERR_REQUEST_MALFORMED", "the merchant's request could not be fetched");
  }
  let resolved: Awaited<ReturnType<typeof resolveOpenid4vpAuthorizationRequest>>;
  try {
    resolved = await resolveOpenid4vpAuthorizationRequest({ authorizationRequestPayload: { client_id: clientId!, request_uri: requestUri }, callbacks: oid4vcCallbacks({}) as never });
  } catch (error) {
    const message = `${String((error as Error)?.message ?? error)} ${String(((error as { cause?: Error })?.cause)?.message ?? "")}`;
    if (/\b410\b|has expired|is expired|jwt expired/i.test(message)) fail("ERR_REQUEST_EXPIRED", "the merchant's request has expired");
    if (/signature|verif/i.test(message)) fail("ERR_REQUEST_SIGNATURE", "the merchant's signature on the request is invalid");
    if (/\b40[0-9]\b|fetch/i.test(message)) fail("ERR_REQUEST_NOT_FOUND", "the merchant's request is not (or no longer) available");
    fail("ERR_REQUEST_MALFORMED", `the merchant's request is not a valid OpenID4VP request: ${message.slice(0, 200)}`);
  }
  const payload = resolved!.authorizationRequestPayload as Record<string, unknown>;
  const id = String(payload.client_id ?? "");
  if (!id.startsWith(CLIENT_ID_PREFIX) || !resolved!.jar) fail("ERR_REQUEST_SIGNATURE", "the request is not signed by a merchant DID");
  const terms = grantTermsSchema.safeParse(payload.realname_grant);
  if (!terms.success) return fail("ERR_REQUEST_MALFORMED", "the request states no grant terms");
  const iss = id.slice(CLIENT_ID_PREFIX.length);
  const jarPayload = resolved!.jar!.jwt.payload as { exp?: number; iat?: number };
  const iat = jarPayload.iat ?? Math.floor(now.getTime() / 1000);
  const exp = jarPayload.exp ?? fail("ERR_REQUEST_MALFORMED", "the request has no expiry");
  if (exp <= Math.floor(now.getTime() / 1000)) fail("ERR_REQUEST_EXPIRED", "the merchant's request has expired");
  const expected = claimsForLevel(terms.data.level, { requestedClaims: terms.data.claims, ageOver18: terms.data.age_over_18 });
  const dcql = payload.dcql_query as { credentials?: Array<{ id?: string; claims?: Array<{ path?: unknown[] }> }> } | undefined;
  const asked = dcql?.credentials?.length === 1 ? (dcql.credentials[0]!.claims ?? []).map((c) => String(c.path?.[0])) : [];
  if (dcql?.credentials?.[0]?.id !== DCQL_CREDENTIAL_ID || [...asked].sort().join() !== [...expected].sort().join()) {
    fail("ERR_REQUEST_MALFORMED", "the request's DCQL query does not match the grant level it states");
  }
  const request = presentationRequestSchema.safeParse({ ...terms.data, iss, nonce: payload.nonce, response_uri: payload.response_uri, iat, exp });
  if (!request.success) return fail("ERR_REQUEST_MALFORMED", "the merchant's request is incomplete");
  return { request: request.data, requestObject: resolved!.jar!.jwt.compact, payload };
}

/** The wallet answers by direct_post: `vp_token` per OpenID4VP 1.0, plus the consent receipt and pseudonym proof. */
export async function submitAuthorizationResponse(args: {
  payload: Record<string, unknown>;
  presentation: string;
  consentReceipt: string;
  pairwiseProof?: string;
}): Promise<Record<string, unknown>> {
  allowHttpIfLoopback(String(args.payload.response_uri ?? ""));
  const { authorizationResponsePayload } = await createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: args.payload as never,
    authorizationResponsePayload: {
      vp_token: { [DCQL_CREDENTIAL_ID]: [args.presentation] },
      consent_receipt: args.consentReceipt,
      ...(args.pairwiseProof ? { pairwise_proof: args.pairwiseProof } : {}),
    } as never,
    callbacks: oid4vcCallbacks({}) as never,
  });
  const { response } = await submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: args.payload as never,
    authorizationResponsePayload: authorizationResponsePayload as never,
    callbacks: oid4vcCallbacks({}) as never,
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  if (!response.ok) {
    const error = body.error as { code?: string; message?: string; details?: unknown } | undefined;
    throw new AgentError(error?.code ?? "ERR_UPSTREAM", error?.message ?? `the merchant answered HTTP ${response.status}`, error?.details);
  }
  return body;
}

/** The merchant's side: a direct_post body (form fields) parsed and validated against the stored request. */
export function parseAuthorizationResponse(body: Record<string, unknown>, authorizationRequestPayload: Record<string, unknown>): { presentation: string; consentReceipt: unknown; pairwiseProof: unknown } {
  let parsed: Record<string, unknown>;
  try {
    parsed = parseOpenid4VpAuthorizationResponsePayload(body) as Record<string, unknown>;
    const validated = validateOpenid4vpAuthorizationResponsePayload({ authorizationRequestPayload: authorizationRequestPayload as never, authorizationResponsePayload: parsed as never }) as { dcql?: { presentations?: Record<string, unknown> } };
    const presentations = validated.dcql?.presentations?.[DCQL_CREDENTIAL_ID];
    const presentation = Array.isArray(presentations) ? presentations[0] : presentations;
    if (typeof presentation !== "string" || (Array.isArray(presentations) && presentations.length !== 1)) throw new Error("exactly one presentation of the identity credential is expected");
    return { presentation, consentReceipt: parsed.consent_receipt, pairwiseProof: parsed.pairwise_proof };
  } catch (error) {
    throw new AgentError("ERR_VP_RESPONSE_INVALID", `not a valid OpenID4VP response for this request: ${String((error as Error)?.message ?? error).slice(0, 200)}`);
  }
}
