import { Openid4vciClient } from "@openid4vc/openid4vci";
import type { Jwk } from "@openid4vc/oauth2";
import { AgentError } from "../errors.js";
import type { JwsSigner } from "../crypto/jws.js";
import { algForDidKey, jwkFromDidKey } from "../identity/did-key.js";
import { jwkThumbprint, type JwsAlg } from "../crypto/algorithms.js";
import { allowHttpIfLoopback, oid4vcCallbacks } from "../oid4vc/callbacks.js";

/**
 * Redeems an OpenID4VCI credential offer (pre-authorized code) with @openid4vc/openid4vci's client: one
 * proof of possession per holder key, all in one batch request. Any standard issuer works; ours is one.
 */
export async function redeemCredentialOffer(args: RedeemArgs): Promise<{ issuer: string; credentials: string[]; credentialConfigurationId: string }> {
  // An offer by reference on loopback (development) lets this redemption, and nothing else, use plain http.
  let offerUri = "";
  try {
    offerUri = new URL(args.offer.trim().replace(/^openid-credential-offer:\/\//, "https://offer/")).searchParams.get("credential_offer_uri") ?? "";
  } catch {
    /* not a URL: the library refuses it below with its own error */
  }
  return allowHttpIfLoopback(offerUri, () => redeem(args));
}

interface RedeemArgs {
  offer: string;
  /** Holder keys, Ed25519 or P-256 did:keys: each proof is signed with its key's algorithm (EdDSA or ES256). */
  keys: Array<{ did: string; signer: JwsSigner }>;
  clientId?: string;
  /** Of the offered configurations, take the one whose credentials are signed with this algorithm (else the first). */
  credentialAlg?: JwsAlg;
}

async function redeem(args: RedeemArgs): Promise<{ issuer: string; credentials: string[]; credentialConfigurationId: string }> {
  const byThumbprint = new Map(args.keys.map((k) => [jwkThumbprint(jwkFromDidKey(k.did)), k.signer]));
  const signerFor = (jwk: unknown) => {
    try {
      return byThumbprint.get(jwkThumbprint(jwk));
    } catch {
      return undefined;
    }
  };
  const client = new Openid4vciClient({
    callbacks: oid4vcCallbacks({ signerFor, clientId: args.clientId }) as never,
  });
  try {
    const offer = await client.resolveCredentialOffer(args.offer.trim());
    const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer);
    const supported = issuerMetadata.credentialIssuer.credential_configurations_supported as Record<string, { credential_signing_alg_values_supported?: unknown[] }>;
    const configurationId =
      offer.credential_configuration_ids.find((id) => args.credentialAlg !== undefined && supported[id]?.credential_signing_alg_values_supported?.includes(args.credentialAlg)) ??
      offer.credential_configuration_ids[0];
    if (!configurationId) throw new AgentError("ERR_OFFER_INVALID", "the offer names no credential");
    const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata });
    const { c_nonce } = await client.requestNonce({ issuerMetadata });
    const proofs: string[] = [];
    for (const key of args.keys) {
      const { jwt } = await client.createCredentialRequestJwtProof({
        issuerMetadata,
        credentialConfigurationId: configurationId,
        signer: { method: "jwk", alg: algForDidKey(key.did), publicJwk: jwkFromDidKey(key.did) as Jwk },
        nonce: c_nonce,
      });
      proofs.push(jwt);
    }
    const response = await client.retrieveCredentials({ issuerMetadata, accessToken: accessTokenResponse.access_token, credentialConfigurationId: configurationId, proofs: { jwt: proofs } });
    const credentials = (response.credentialResponse.credentials ?? []).map((c) => (typeof c === "object" && c !== null && "credential" in c ? c.credential : c)).filter((c): c is string => typeof c === "string");
    if (credentials.length !== args.keys.length) throw new AgentError("ERR_UPSTREAM", `the issuer returned ${credentials.length} credentials for ${args.keys.length} keys`);
    return { issuer: issuerMetadata.credentialIssuer.credential_issuer, credentials, credentialConfigurationId: configurationId };
  } catch (error) {
    if (error instanceof AgentError) throw error;
    const e = error as { message?: string; response?: { status?: number }; errorResponse?: { error?: string; error_description?: string } };
    throw new AgentError("ERR_OFFER_REDEMPTION_FAILED", `the credential offer could not be redeemed: ${e.errorResponse?.error_description ?? e.errorResponse?.error ?? e.message ?? String(error)}`.slice(0, 400), undefined, { cause: error });
  }
}
