import {
  createOpenid4vpAuthorizationRequest,
  createOpenid4vpAuthorizationResponse,
  parseOpenid4VpAuthorizationResponsePayload,
  submitOpenid4vpAuthorizationResponse,
  validateOpenid4vpAuthorizationResponsePayload,
} from "@openid4vc/openid4vp";
import { z } from "zod";
import { AgentError } from "../errors.js";
import { random128 } from "../encoding.js";
import { decodeJws, keyObjectFromJwk, verifyWithAlg, type JwsSigner } from "../crypto/jws.js";
import { publicJwkFromDidKey } from "../identity/did-key-any.js";
import { algForDidKey, didKeyKid, jwkFromDidKey } from "../identity/did-key.js";
import { jwkThumbprint } from "../crypto/algorithms.js";
import { allowHttpIfLoopback, oid4vcCallbacks } from "../oid4vc/callbacks.js";
import { boundedFetch } from "../http/bounded-fetch.js";
import { sha256B64url } from "../encoding.js";
import { termsAreCoherent } from "./choice.js";
import { claimsForLevel, FULL_LEVEL_CLAIMS, IDENTITY_VCT_PATH, type GrantLevel } from "../sdjwt/identity-credential.js";
import { merchantPseudonymClaim } from "../sdjwt/merchant-pseudonym.js";
import { grantTermsSchema, presentationRequestSchema, type PresentationRequest } from "./request.js";
import { createX509AuthorizationRequest, isX509ClientId, verifyX509Client, x509ClientIdFor, type X509ClientConfig } from "./x509-client.js";
import { decodeTransactionData, encodeTransactionData, grantTransactionDataSchema, REALNAME_GRANT_TRANSACTION_TYPE, TRANSACTION_DATA_HASH_ALG, type GrantTransactionData } from "./transaction-data.js";
import { encryptAuthorizationResponse, RESPONSE_MODE_ENCRYPTED, RESPONSE_MODES, responseEncryptionTarget } from "./response-encryption.js";

/**
 * OpenID4VP 1.0 for graded grants, built on @openid4vc/openid4vp: a request object signed by the merchant's
 * DID (client_id `decentralized_identifier:<did>`), passed by reference, `aud` https://self-issued.me/v2
 * (§5.8, static discovery); a DCQL query for exactly the level's claims; `response_mode=direct_post`, or
 * `direct_post.jwt` with the answer encrypted to a key of the request's own (response-encryption.ts). The
 * grant's terms (level, purpose, retention, merchant, request) travel as one `transaction_data` object of type
 * `realname_grant` (see transaction-data.ts), whose hash the wallet binds into the key-binding JWT.
 */
export const DCQL_CREDENTIAL_ID = "realname_identity";
export const CLIENT_ID_PREFIX = "decentralized_identifier:";
/** §5.8: the request object's `aud` when the verifier does not know the wallet (static discovery). */
export const SELF_ISSUED_AUDIENCE = "https://self-issued.me/v2";
/** Appendix B.3.4: what this verifier accepts for SD-JWT VC presentations. */
export const VP_FORMATS_SUPPORTED = { "dc+sd-jwt": { "sd-jwt_alg_values": ["EdDSA", "ES256"], "kb-jwt_alg_values": ["EdDSA", "ES256"] } };

/** How long the wallet treats a request without `exp` as open. */
const DEFAULT_REQUEST_LIFE_SECONDS = 300;

/** The full client identifier of a merchant DID: the KB-JWT `aud` (OpenID4VP 1.0 Appendix B.3.6). */
export const clientIdOf = (did: string): string => `${CLIENT_ID_PREFIX}${did}`;

/**
 * The DCQL query for a grant: the identity credential type (`vct`, the https URL of the trusted issuer's type,
 * see identityVct) and exactly the claims the level discloses.
 */
export function dcqlFor(claimNames: readonly string[], vct: string, credentialId = DCQL_CREDENTIAL_ID) {
  return {
    credentials: [
      {
        id: credentialId,
        format: "dc+sd-jwt",
        meta: { vct_values: [vct] },
        require_cryptographic_holder_binding: true,
        claims: claimNames.map((name) => ({ path: [name] })),
      },
    ],
  };
}

/** The claim names a request's DCQL query asks for: `pseudonymous` names the merchant's pseudonym claim too. */
export function requestedClaimNames(terms: { level: GrantLevel; claims?: readonly string[]; age_over_18?: boolean }, merchantDid: string): string[] {
  const names: string[] = claimsForLevel(terms.level, { requestedClaims: terms.claims, ageOver18: terms.age_over_18 });
  return terms.level === "pseudonymous" ? [...names, merchantPseudonymClaim(merchantDid)] : names;
}

export async function createAuthorizationRequest(args: {
  /** `x509`: act as an `x509_san_dns` (or `x509_hash`) client (§5.9.3) with this chain; else `decentralized_identifier`. */
  merchant: { did: string; name: string; signer: JwsSigner; x509?: X509ClientConfig };
  terms: z.input<typeof grantTermsSchema>;
  requestUri: string;
  responseUri: string;
  /** The identity credential type asked for (DCQL `vct_values`). */
  vct: string;
  now: Date;
  validForSeconds: number;
  /**
   * For an encrypted answer (`direct_post.jwt`, §8.3): the client metadata publishing this request's own
   * encryption key (newResponseEncryptionKey). Without it the answer is plain `direct_post`.
   */
  responseEncryption?: { jwks: { keys: unknown[] }; encrypted_response_enc_values_supported: string[] };
}): Promise<{ authorizationRequest: string; requestObject: string; request: PresentationRequest }> {
  const terms = grantTermsSchema.parse(args.terms);
  return allowHttpIfLoopback(args.responseUri, async () => {
  const nonce = random128();
  const kid = didKeyKid(args.merchant.did);
  const transactionData = encodeTransactionData({
    type: REALNAME_GRANT_TRANSACTION_TYPE,
    credential_ids: [DCQL_CREDENTIAL_ID],
    request_id: terms.request_id,
    level: terms.level,
    purpose: terms.purpose,
    retention_days: terms.retention_days,
    merchant: { id: args.merchant.did, name: terms.merchant_name },
    ...(terms.claims.length ? { claims: terms.claims } : {}),
    ...(terms.age_over_18 ? { age_over_18: true } : {}),
    ...(terms.accepted_levels?.length ? { accepted_levels: terms.accepted_levels } : {}),
    ...(terms.optional_claims?.length ? { optional_claims: terms.optional_claims } : {}),
  });
  // The request object is signed by the merchant DID's own key: EdDSA for Ed25519, ES256 for a P-256 did:key.
  const merchantThumbprint = jwkThumbprint(jwkFromDidKey(args.merchant.did));
  const callbacks = oid4vcCallbacks({ signerFor: (jwk) => (jwkThumbprint(jwk) === merchantThumbprint ? args.merchant.signer : undefined) });
  const clientId = args.merchant.x509 ? x509ClientIdFor(args.merchant.x509) : clientIdOf(args.merchant.did);
  const authorizationRequestPayload = {
    response_type: "vp_token",
    client_id: clientId,
    response_mode: args.responseEncryption ? RESPONSE_MODE_ENCRYPTED : "direct_post",
    response_uri: args.responseUri,
    nonce,
    state: terms.request_id,
    dcql_query: dcqlFor(requestedClaimNames(terms, args.merchant.did), args.vct),
    transaction_data: [transactionData],
    client_metadata: { client_name: terms.merchant_name, vp_formats_supported: VP_FORMATS_SUPPORTED, ...(args.responseEncryption ?? {}) },
  };
  // An x509 client signs with its certificate's key and sends the chain in `x5c` (x509-client.ts); our
  // callbacks for the library sign for DID and JWK signers only.
  const created = args.merchant.x509
    ? await createX509AuthorizationRequest({ payload: authorizationRequestPayload, config: args.merchant.x509, signer: args.merchant.signer, alg: algForDidKey(args.merchant.did) as "ES256" | "EdDSA", aud: SELF_ISSUED_AUDIENCE, requestUri: args.requestUri, now: args.now, validForSeconds: args.validForSeconds })
    : await createOpenid4vpAuthorizationRequest({
    authorizationRequestPayload: authorizationRequestPayload as never,
    jar: { requestUri: args.requestUri, jwtSigner: { method: "did", didUrl: kid, alg: algForDidKey(args.merchant.did) } as never, expiresInSeconds: args.validForSeconds, additionalJwtPayload: { aud: SELF_ISSUED_AUDIENCE } } as never,
    callbacks: callbacks as never,
    now: args.now,
  });
  const requestObject = (created as unknown as { jar?: { authorizationRequestJwt: string } }).jar?.authorizationRequestJwt;
  if (!requestObject) throw new Error("the request object was not signed");
  const iat = Math.floor(args.now.getTime() / 1000);
  const request = presentationRequestSchema.parse({
    ...terms,
    iss: args.merchant.did,
    client_id: clientId,
    credential_id: DCQL_CREDENTIAL_ID,
    transaction_data: transactionData,
    nonce,
    response_uri: args.responseUri,
    iat,
    exp: iat + args.validForSeconds,
  });
  return { authorizationRequest: (created as unknown as { authorizationRequest: string }).authorizationRequest, requestObject, request };
  });
}

/** A verified request object, before the grant terms are settled (they may need the merchant's registry entry). */
export interface ResolvedRequest {
  requestObject: string;
  payload: Record<string, unknown>;
  clientId: string;
  /** The merchant DID (the client identifier without its prefix). */
  iss: string;
  iat: number;
  exp: number;
  /** The one DCQL credential query: its id and the top-level claim names it asks for. */
  credentialQuery: { id: string; claimNames: string[] };
  /** The `realname_grant` transaction data, when the merchant sent one: the exact string and what it says. */
  transactionData?: { encoded: string; data: GrantTransactionData };
  /** For an x509 client: its certificate (valid, from a pinned CA) and, for `x509_san_dns`, the name it vouches for. */
  x509?: { dnsName?: string; notAfter: string };
}

/**
 * The wallet's side: resolves an `openid4vp://` link (or a bare request URI) and verifies the request
 * object's signature (EdDSA or ES256) by the did:key in its client_id. The grant terms are read from the
 * `realname_grant` transaction data when there is one; `grantTermsFor` (with the registry entry) settles them.
 */
/**
 * Whether a DCQL `vct_values` entry names the identity credential: exactly `vct` (the type the wallet's own
 * credentials carry, identityVct(its issuer's URL)) when given; otherwise any issuer's identity type URL.
 */
function isIdentityVct(value: unknown, vct: string | undefined): boolean {
  if (typeof value !== "string") return false;
  if (vct !== undefined) return value === vct;
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.pathname.endsWith(IDENTITY_VCT_PATH) && !url.search && !url.hash;
  } catch {
    return false;
  }
}

/**
 * `options.vct`: the identity credential type the wallet holds; a request asking for another type is refused.
 * `options.x509TrustAnchors`: the CA certificates (PEM or base64 DER) an `x509_san_dns`/`x509_hash` client's chain must lead
 * to (the platform's CA); without them such a client is refused (ERR_X509_UNKNOWN_CA).
 */
export async function resolveAuthorizationRequest(link: string, now: Date, options: { vct?: string; x509TrustAnchors?: readonly string[] } = {}): Promise<ResolvedRequest> {
  let clientId: string | undefined;
  let requestUri: string | undefined;
  let byValue: string | undefined;
  if (/^[a-z0-9+.-]+:\/\/\?/i.test(link) || link.includes("request_uri=") || /[?&]request=/.test(link)) {
    const params = new URL(link.replace(/^[a-z0-9+.-]+:\/\/\?/i, "https://wallet.invalid/?")).searchParams;
    clientId = params.get("client_id") ?? undefined;
    requestUri = params.get("request_uri") ?? undefined;
    // RFC 9101 also allows the signed request object by value (`request`); it is verified the same way.
    byValue = requestUri ? undefined : (params.get("request") ?? undefined);
  } else {
    requestUri = link;
  }
  if (!requestUri && !byValue) throw new AgentError("ERR_REQUEST_MALFORMED", "the link names no request");
  return allowHttpIfLoopback(requestUri ?? "", async () => {
  const fail = (code: string, message: string): never => {
    throw new AgentError(code, message);
  };
  // The request object by reference (RFC 9101), verified here rather than by the library: it insists that a
  // DID `kid` start with `iss`, which refuses spec-following verifiers whose `iss` is the full client identifier.
  let jwt = byValue ?? "";
  let status = byValue ? 200 : 0;
  if (requestUri) {
    try {
      const res = await boundedFetch(requestUri, { headers: { accept: "application/oauth-authz-req+jwt" } }, { timeoutMs: 10_000, maxBytes: 256_000 });
      status = res.status;
      jwt = (await res.text()).trim();
    } catch (error) {
      // A merchant that cannot be reached is said as such (the person can retry), not as a request it forgot.
      const code = (error as AgentError).code;
      if (code === "ERR_UPSTREAM" || code === "ERR_FETCH_TIMEOUT") throw error;
      fail("ERR_REQUEST_NOT_FOUND", "the merchant's request could not be fetched");
    }
  }
  if (status === 410) fail("ERR_REQUEST_EXPIRED", "the merchant's request has expired");
  if (status < 200 || status >= 300) fail("ERR_REQUEST_NOT_FOUND", "the merchant's request is not (or no longer) available");
  const jws = decodeJws(jwt);
  if (!jws) return fail("ERR_REQUEST_MALFORMED", "the merchant's request is not a signed request object");
  const payload = jws.payload as Record<string, unknown>;
  const id = typeof payload.client_id === "string" ? payload.client_id : "";
  // RFC 9101 §5: the client_id outside must be the one inside; §5.10.2 of OpenID4VP: signed by the DID's key.
  if (clientId !== undefined && clientId !== id) fail("ERR_REQUEST_SIGNATURE", "the request object names another client than the link");
  let iss: string;
  let x509: ResolvedRequest["x509"];
  if (isX509ClientId(id)) {
    // §5.9.3: the chain in x5c leads to a pinned CA, names the DNS name (or is the hashed leaf), its leaf signed the request.
    const client = await verifyX509Client({ header: jws.header, signingInput: jws.signingInput, signature: jws.signature, clientId: id, responseUri: payload.response_uri, trustAnchors: options.x509TrustAnchors ?? [], now });
    iss = client.merchantDid;
    x509 = { ...(client.dnsName ? { dnsName: client.dnsName } : {}), notAfter: client.notAfter };
  } else {
    if (!id.startsWith(CLIENT_ID_PREFIX) || !id.slice(CLIENT_ID_PREFIX.length).startsWith("did:key:")) fail("ERR_REQUEST_SIGNATURE", "the request is not signed by a merchant DID");
    iss = id.slice(CLIENT_ID_PREFIX.length);
    let key: ReturnType<typeof keyObjectFromJwk>;
    try {
      key = keyObjectFromJwk(publicJwkFromDidKey(iss));
    } catch {
      key = undefined;
    }
    const kid = jws.header.kid;
    if (!key || (kid !== undefined && (typeof kid !== "string" || kid.split("#")[0] !== iss)) || !verifyWithAlg(jws.header.alg, jws.signingInput, jws.signature, key)) {
      fail("ERR_REQUEST_SIGNATURE", "the merchant's signature on the request is invalid");
    }
  }
  if (jws.header.typ !== undefined && jws.header.typ !== "oauth-authz-req+jwt") fail("ERR_REQUEST_MALFORMED", "the request object's typ is not oauth-authz-req+jwt");
  if (Array.isArray(jws.header.crit) || jws.header.crit !== undefined) fail("ERR_REQUEST_MALFORMED", "the request object has critical header parameters this wallet does not know");
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const iat = typeof payload.iat === "number" ? payload.iat : nowSeconds;
  // RFC 9101 does not require `exp`; without one the wallet gives the request the life our merchants give theirs.
  if (payload.exp !== undefined && typeof payload.exp !== "number") fail("ERR_REQUEST_MALFORMED", "the request's expiry is not a number");
  const exp = typeof payload.exp === "number" ? payload.exp : Math.max(iat, nowSeconds) + DEFAULT_REQUEST_LIFE_SECONDS;
  if (exp <= nowSeconds) fail("ERR_REQUEST_EXPIRED", "the merchant's request has expired");
  if (payload.response_type !== "vp_token") fail("ERR_REQUEST_UNSUPPORTED", "only vp_token requests are supported");
  if (typeof payload.nonce !== "string" || payload.nonce.length === 0) fail("ERR_REQUEST_MALFORMED", "the request has no nonce");
  if (!(RESPONSE_MODES as readonly unknown[]).includes(payload.response_mode) || typeof payload.response_uri !== "string") fail("ERR_REQUEST_UNSUPPORTED", "only direct_post and direct_post.jwt answers are supported");
  // An encrypted answer needs a usable key of the merchant's: checked now, before the person is asked anything.
  if (payload.response_mode === RESPONSE_MODE_ENCRYPTED) responseEncryptionTarget(payload.client_metadata);
  // Exactly one credential query, for our identity credential, naming top-level claims only.
  const dcql = payload.dcql_query as { credentials?: Array<{ id?: unknown; format?: unknown; meta?: { vct_values?: unknown }; claims?: Array<{ path?: unknown }> }>; credential_sets?: unknown } | undefined;
  const query = dcql?.credentials?.length === 1 ? dcql.credentials[0]! : fail("ERR_REQUEST_MALFORMED", "the request must ask for exactly one identity credential (DCQL)");
  if (typeof query.id !== "string" || !/^[A-Za-z0-9_-]{1,128}$/.test(query.id)) fail("ERR_REQUEST_MALFORMED", "the DCQL credential query has no valid id");
  const vcts = query.meta?.vct_values;
  if (query.format !== "dc+sd-jwt" || !Array.isArray(vcts) || !vcts.some((v) => isIdentityVct(v, options.vct))) fail("ERR_REQUEST_MALFORMED", "the request does not ask for the identity credential");
  if (!Array.isArray(query.claims) || query.claims.length === 0) fail("ERR_REQUEST_MALFORMED", "the request must name the claims it asks for (asking for all of them is refused)");
  const claimNames = query.claims!.map((c) => (Array.isArray(c.path) && c.path.length === 1 && typeof c.path[0] === "string" ? c.path[0] : fail("ERR_REQUEST_MALFORMED", "the request asks for a nested or malformed claim path")));
  if (new Set(claimNames).size !== claimNames.length) fail("ERR_REQUEST_MALFORMED", "the request names a claim twice");
  let transactionData: ResolvedRequest["transactionData"];
  if (payload.transaction_data !== undefined) {
    const entries = Array.isArray(payload.transaction_data) ? payload.transaction_data : fail("ERR_REQUEST_MALFORMED", "transaction_data is not an array");
    for (const encoded of entries) {
      const decoded = decodeTransactionData(encoded);
      // §5.1: a wallet that does not support a transaction data type it is asked to sign refuses the request.
      if (!decoded || typeof decoded.type !== "string") return fail("ERR_REQUEST_MALFORMED", "a transaction_data entry is not base64url-encoded JSON with a type");
      if (decoded.type !== REALNAME_GRANT_TRANSACTION_TYPE || transactionData) return fail("ERR_TRANSACTION_DATA_UNSUPPORTED", `transaction data of type ${JSON.stringify(decoded.type).slice(0, 60)} is not supported`);
      const data = grantTransactionDataSchema.safeParse(decoded);
      if (!data.success) return fail("ERR_REQUEST_MALFORMED", "the grant terms (transaction_data) are incomplete");
      if (!data.data.credential_ids.every((c) => c === query.id)) return fail("ERR_REQUEST_MALFORMED", "the grant terms name a credential query the request does not have");
      if (data.data.transaction_data_hashes_alg && !data.data.transaction_data_hashes_alg.includes(TRANSACTION_DATA_HASH_ALG)) return fail("ERR_TRANSACTION_DATA_UNSUPPORTED", "the grant terms ask for a hash algorithm other than sha-256");
      if (data.data.merchant.id !== iss) return fail("ERR_REQUEST_MALFORMED", "the grant terms name another merchant than the one that signed the request");
      transactionData = { encoded: encoded as string, data: data.data };
    }
  }
  return { requestObject: jwt, payload, clientId: id, iss, iat, exp, credentialQuery: { id: query.id as string, claimNames }, transactionData, ...(x509 ? { x509 } : {}) };
  });
}

/**
 * The grant terms of a resolved request. With `realname_grant` transaction data: its terms, and the DCQL
 * query must ask for exactly the claims that level discloses. Without (a standard merchant): the level is
 * inferred from the claims asked (this merchant's pseudonym claim: `pseudonymous`; any identity claim beyond
 * `real_name_verified`/`age_over_18`: `full`; else `verified`), the name and purpose come from the merchant's
 * registry entry and the retention is unstated (0 days). Anything else asked for is refused.
 */
export function grantTermsFor(resolved: ResolvedRequest, merchant: { name: string; purposes: readonly string[] }): PresentationRequest {
  const fail = (code: string, message: string): never => {
    throw new AgentError(code, message);
  };
  const asked = resolved.credentialQuery.claimNames;
  const td = resolved.transactionData?.data;
  let terms: z.input<typeof grantTermsSchema>;
  if (td) {
    terms = { request_id: td.request_id, merchant_name: td.merchant.name, level: td.level, purpose: td.purpose, retention_days: td.retention_days, claims: td.claims ?? [], age_over_18: td.age_over_18 ?? false, ...(td.accepted_levels?.length ? { accepted_levels: td.accepted_levels } : {}), ...(td.optional_claims?.length ? { optional_claims: td.optional_claims } : {}) };
  } else {
    const pseudonymClaim = merchantPseudonymClaim(resolved.iss);
    const level: GrantLevel = asked.includes(pseudonymClaim) ? "pseudonymous" : asked.some((n) => n !== "age_over_18" && (FULL_LEVEL_CLAIMS as readonly string[]).includes(n)) ? "full" : "verified";
    const claims = level === "full" ? asked.filter((n) => (FULL_LEVEL_CLAIMS as readonly string[]).includes(n)) : [];
    const state = typeof resolved.payload.state === "string" && resolved.payload.state.length >= 8 && resolved.payload.state.length <= 128 ? resolved.payload.state : sha256B64url(resolved.requestObject);
    terms = { request_id: state, merchant_name: merchant.name, level, purpose: merchant.purposes[0] ?? "", retention_days: 0, claims, age_over_18: level !== "full" && asked.includes("age_over_18") };
  }
  const parsedTerms = grantTermsSchema.safeParse(terms);
  if (!parsedTerms.success) return fail("ERR_REQUEST_MALFORMED", "the merchant's request is incomplete");
  if (!termsAreCoherent({ ...parsedTerms.data, iss: resolved.iss })) fail("ERR_REQUEST_MALFORMED", "the levels and optional claims the merchant accepts do not fit its request");
  const expected = requestedClaimNames(parsedTerms.data, resolved.iss);
  if ([...asked].sort().join() !== [...expected].sort().join()) fail("ERR_REQUEST_MALFORMED", "the request's DCQL query does not match the grant level it states");
  const request = presentationRequestSchema.safeParse({
    ...parsedTerms.data,
    iss: resolved.iss,
    client_id: resolved.clientId,
    credential_id: resolved.credentialQuery.id,
    ...(resolved.transactionData ? { transaction_data: resolved.transactionData.encoded } : {}),
    nonce: resolved.payload.nonce,
    response_uri: resolved.payload.response_uri,
    iat: resolved.iat,
    exp: resolved.exp,
  });
  if (!request.success) return fail("ERR_REQUEST_MALFORMED", "the merchant's request is incomplete");
  return request.data;
}

/** What a merchant's response endpoint said to an answer (§8.2): all optional; a 2xx means it was received. */
export interface SubmitResult {
  redirectUri?: string;
  /** Our merchant's grant receipt, inline. */
  grantReceipt?: string;
  grantId?: string;
  /** Where the merchant offers its grant receipt, to be fetched later. */
  grantReceiptUri?: string;
}

/**
 * The wallet answers by direct_post: `vp_token` per OpenID4VP 1.0 (keyed by the DCQL credential query id),
 * `state` when the request had one, plus (optionally, ignored by a standard verifier) our consent receipt and
 * pseudonym proof. Any 2xx is success (the data has left): `{}` or `{redirect_uri}` are standard replies.
 * A `direct_post.jwt` request gets the same parameters encrypted to the merchant's key (§8.3.1, `response`).
 */
export async function submitAuthorizationResponse(args: {
  payload: Record<string, unknown>;
  credentialId: string;
  presentation: string;
  consentReceipt?: string;
  pairwiseProof?: string;
}): Promise<SubmitResult> {
  return allowHttpIfLoopback(String(args.payload.response_uri ?? ""), async () => {
  const parameters = {
    vp_token: { [args.credentialId]: [args.presentation] },
    ...(args.consentReceipt ? { consent_receipt: args.consentReceipt } : {}),
    ...(args.pairwiseProof ? { pairwise_proof: args.pairwiseProof } : {}),
  };
  let response: Response;
  if (args.payload.response_mode === RESPONSE_MODE_ENCRYPTED) {
    response = await postEncrypted(args.payload, { ...parameters, ...(typeof args.payload.state === "string" ? { state: args.payload.state } : {}) });
  } else {
    const { authorizationResponsePayload } = await createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: args.payload as never,
      authorizationResponsePayload: parameters as never,
      callbacks: oid4vcCallbacks({}) as never,
    });
    ({ response } = await submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: args.payload as never,
      authorizationResponsePayload: authorizationResponsePayload as never,
      callbacks: oid4vcCallbacks({}) as never,
    }));
  }
  return readSubmitReply(response);
  });
}

/** §8.3.1: the response parameters as a JWE to the merchant's key from the request, posted as `response`. */
async function postEncrypted(payload: Record<string, unknown>, parameters: Record<string, unknown>): Promise<Response> {
  const jwe = await encryptAuthorizationResponse(parameters, responseEncryptionTarget(payload.client_metadata));
  return boundedFetch(String(payload.response_uri), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body: new URLSearchParams({ response: jwe }).toString() }, { timeoutMs: 10_000, maxBytes: 256_000 });
}

/** What the merchant's response endpoint said (§8.2): a 2xx with any JSON object (or none) is success. */
async function readSubmitReply(response: Response): Promise<SubmitResult> {
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    const parsed = text.trim() ? JSON.parse(text) : {};
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) body = parsed;
  } catch {
    /* not JSON: an empty or plain 200 is still success */
  }
  if (!response.ok) {
    const error = body.error as { code?: string; message?: string; details?: unknown } | string | undefined;
    if (typeof error === "string") throw new AgentError("ERR_UPSTREAM", `the merchant refused the answer: ${error}${typeof body.error_description === "string" ? ` (${body.error_description.slice(0, 200)})` : ""}`);
    throw new AgentError(error?.code ?? "ERR_UPSTREAM", error?.message ?? `the merchant answered HTTP ${response.status}`, error?.details);
  }
  const str = (v: unknown) => (typeof v === "string" && v.length > 0 && v.length < 65_536 ? v : undefined);
  const result: SubmitResult = {};
  if (str(body.redirect_uri)) result.redirectUri = str(body.redirect_uri);
  if (str(body.grantReceipt)) result.grantReceipt = str(body.grantReceipt);
  if (str(body.grantId)) result.grantId = str(body.grantId);
  if (str(body.grant_receipt_uri)) result.grantReceiptUri = str(body.grant_receipt_uri);
  return result;
}

/**
 * A wallet's decline (§8.5 error response by direct_post): `error=access_denied` with the request's `state`,
 * encrypted like an answer when the request asked for `direct_post.jwt`. Returns the merchant's
 * `redirect_uri`, if it gave one.
 */
export async function submitDecline(args: { payload: Record<string, unknown> }): Promise<{ redirectUri?: string }> {
  const responseUri = String(args.payload.response_uri ?? "");
  return allowHttpIfLoopback(responseUri, async () => {
  const parameters: Record<string, string> = { error: "access_denied", error_description: "the person declined" };
  if (typeof args.payload.state === "string") parameters.state = args.payload.state;
  const response = args.payload.response_mode === RESPONSE_MODE_ENCRYPTED
    ? await postEncrypted(args.payload, parameters)
    : await boundedFetch(responseUri, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(parameters).toString() }, { timeoutMs: 10_000, maxBytes: 64_000 });
  const body = (await response.json().catch(() => ({}))) as { redirect_uri?: unknown };
  if (!response.ok) throw new AgentError("ERR_UPSTREAM", `the merchant answered HTTP ${response.status} to the decline`);
  return typeof body.redirect_uri === "string" ? { redirectUri: body.redirect_uri } : {};
  });
}

/**
 * The merchant's side: a direct_post body (form fields) parsed and validated against the stored request.
 * The presentation is the one under the request's DCQL credential query id; our consent receipt and pseudonym
 * proof are optional extras (a plain OpenID4VP 1.0 answer carries neither).
 */
export function parseAuthorizationResponse(body: Record<string, unknown>, authorizationRequestPayload: Record<string, unknown>): { presentation: string; consentReceipt: unknown; pairwiseProof: unknown } {
  let parsed: Record<string, unknown>;
  try {
    parsed = parseOpenid4VpAuthorizationResponsePayload(body) as Record<string, unknown>;
    const validated = validateOpenid4vpAuthorizationResponsePayload({ authorizationRequestPayload: authorizationRequestPayload as never, authorizationResponsePayload: parsed as never }) as { dcql?: { presentations?: Record<string, unknown> } };
    const credentialId = String((authorizationRequestPayload.dcql_query as { credentials?: Array<{ id?: string }> } | undefined)?.credentials?.[0]?.id ?? DCQL_CREDENTIAL_ID);
    const presentations = validated.dcql?.presentations?.[credentialId];
    const presentation = Array.isArray(presentations) ? presentations[0] : presentations;
    if (typeof presentation !== "string" || (Array.isArray(presentations) && presentations.length !== 1)) throw new Error("exactly one presentation of the identity credential is expected");
    return { presentation, consentReceipt: parsed.consent_receipt, pairwiseProof: parsed.pairwise_proof };
  } catch (error) {
    throw new AgentError("ERR_VP_RESPONSE_INVALID", `not a valid OpenID4VP response for this request: ${String((error as Error)?.message ?? error).slice(0, 200)}`);
  }
}

/**
 * The grant terms of a request object this side already trusts (the merchant's own, or one a test built):
 * decoded without a signature check, read exactly as a wallet reads a `realname_grant` transaction data.
 */
export function presentationRequestOf(requestObject: string): PresentationRequest {
  const payload = JSON.parse(Buffer.from(requestObject.split(".")[1] ?? "", "base64url").toString() || "{}") as Record<string, unknown>;
  const clientId = String(payload.client_id ?? "");
  const query = (payload.dcql_query as { credentials?: Array<{ id: string; claims?: Array<{ path: string[] }> }> } | undefined)?.credentials?.[0];
  const encoded = Array.isArray(payload.transaction_data) ? String(payload.transaction_data[0]) : undefined;
  const data = encoded ? grantTransactionDataSchema.parse(decodeTransactionData(encoded)) : undefined;
  return grantTermsFor(
    {
      requestObject,
      payload,
      clientId,
      // An x509 client's merchant is the one its grant terms name (this side signed or built them).
      iss: isX509ClientId(clientId) ? String(data?.merchant.id ?? "") : clientId.slice(CLIENT_ID_PREFIX.length),
      iat: Number(payload.iat),
      exp: Number(payload.exp),
      credentialQuery: { id: String(query?.id ?? ""), claimNames: (query?.claims ?? []).map((c) => String(c.path[0])) },
      ...(encoded && data ? { transactionData: { encoded, data } } : {}),
    },
    { name: data?.merchant.name ?? "", purposes: data ? [data.purpose] : [] },
  );
}
