import { Openid4vciClient } from "@openid4vc/openid4vci";
import type { Jwk } from "@openid4vc/oauth2";
import { AgentError } from "../errors.js";
import type { JwsSigner } from "../crypto/jws.js";
import { jwkFromDidKey } from "../identity/did-key.js";
import { allowHttpIfLoopback, oid4vcCallbacks } from "../oid4vc/callbacks.js";

/**
 * Redeems an OpenID4VCI credential offer (pre-authorized code) with @openid4vc/openid4vci's client: one
 * proof of possession per holder key, all in one batch request. Any standard issuer works; ours is one.
 */
export async function redeemCredentialOffer(args: { offer: string; keys: Array<{ did: string; signer: JwsSigner }>; clientId?: string }): Promise<{ issuer: string; credentials: string[] }> {
  const byX = new Map(args.keys.map((k) => [jwkFromDidKey(k.did).x, k.signer]));
  const client = new Openid4vciClient({
    callbacks: oid4vcCallbacks({ signerFor: (jwk) => byX.get((jwk as { x?: string }).x ?? ""), clientId: args.clientId }) as never,
  });
  try {
    const offerUri = new URL(args.offer.trim().replace(/^openid-credential-offer:\/\//, "https://offer/")).searchParams.get("credential_offer_uri");
    if (offerUri) allowHttpIfLoopback(offerUri);
    const offer = await client.resolveCredentialOffer(args.offer.trim());
    const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer);
    const configurationId = offer.credential_configuration_ids[0];
    if (!configurationId) throw new AgentError("ERR_OFFER_INVALID", "the offer names no credential");
    const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata });
    const { c_nonce } = await client.requestNonce({ issuerMetadata });
    const proofs: string[] = [];
    for (const key of args.keys) {
      const { jwt } = await client.createCredentialRequestJwtProof({
        issuerMetadata,
        credentialConfigurationId: configurationId,
        signer: { method: "jwk", alg: "EdDSA", publicJwk: jwkFromDidKey(key.did) as Jwk },
        nonce: c_nonce,
      });
      proofs.push(jwt);
    }
    const response = await client.retrieveCredentials({ issuerMetadata, accessToken: accessTokenResponse.access_token, credentialConfigurationId: configurationId, proofs: { jwt: proofs } });
    const credentials = (response.credentialResponse.credentials ?? []).map((c) => (typeof c === "object" && c !== null && "credential" in c ? c.credential : c)).filter((c): c is string => typeof c === "string");
    if (credentials.length !== args.keys.length) throw new AgentError("ERR_UPSTREAM", `the issuer returned ${credentials.length} credentials for ${args.keys.length} keys`);
    return { issuer: issuerMetadata.credentialIssuer.credential_issuer, credentials };
  } catch (error) {
    if (error instanceof AgentError) throw error;
    const e = error as { message?: string; response?: { status?: number }; errorResponse?: { error?: string; error_description?: string } };
    throw new AgentError("ERR_OFFER_REDEMPTION_FAILED", `the credential offer could not be redeemed: ${e.errorResponse?.error_description ?? e.errorResponse?.error ?? e.message ?? String(error)}`.slice(0, 400), undefined, { cause: error });
  }
}
