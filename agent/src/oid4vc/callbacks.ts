import { setGlobalConfig } from "@openid4vc/utils";
import { createHash, randomBytes } from "node:crypto";
import { clientAuthenticationNone, type CallbackContext, type Jwk, type JwtSigner } from "@openid4vc/oauth2";
import { decodeJws, signJws, verifyEd25519, type JwsSigner } from "../crypto/jws.js";
import { publicKeyFromDidKey, publicKeyFromJwk, jwkFromDidKey } from "../identity/did-key.js";

/**
 * The crypto callbacks the @openid4vc libraries ask for, over our Ed25519 keys: signing goes to a signer
 * looked up by the public key (so private keys stay in Veramo's KMS), verification uses node:crypto.
 */
export function oid4vcCallbacks(args: { signerFor?: (publicJwk: Jwk) => JwsSigner | undefined; clientId?: string; fetch?: typeof fetch }): Omit<CallbackContext, "decryptJwe" | "encryptJwe"> {
  const jwkOf = (signer: JwtSigner): Jwk => {
    if (signer.method === "jwk") return signer.publicJwk;
    if (signer.method === "did") return jwkFromDidKey(signer.didUrl) as Jwk;
    throw new Error(`signer method ${signer.method} is not supported`);
  };
  return {
    hash: (data, alg) => createHash(String(alg).replace("-", "").toLowerCase()).update(data).digest(),
    generateRandom: (n) => randomBytes(n),
    clientAuthentication: clientAuthenticationNone({ clientId: args.clientId ?? "realname-wallet" }),
    fetch: args.fetch ?? fetch,
    signJwt: async (signer, { header, payload }) => {
      const publicJwk = jwkOf(signer);
      const sign = args.signerFor?.(publicJwk);
      if (!sign) throw new Error("no signing key for this public key");
      return { jwt: await signJws(header as Record<string, unknown>, payload as Record<string, unknown>, sign), signerJwk: publicJwk };
    },
    verifyJwt: async (signer, { compact }) => {
      try {
        const jwk = jwkOf(signer);
        const key = signer.method === "did" ? publicKeyFromDidKey(signer.didUrl) : publicKeyFromJwk(jwk);
        const jws = decodeJws(compact);
        if (!jws || jws.header.alg !== "EdDSA" || !verifyEd25519(jws.signingInput, jws.signature, key)) return { verified: false };
        return { verified: true, signerJwk: jwk };
      } catch {
        return { verified: false };
      }
    },
  };
}

/**
 * The OpenID4VC libraries insist on https. On one developer machine everything is http on loopback, so
 * http is allowed only when the URL in question is a loopback address; anything else keeps the rule.
 */
export function allowHttpIfLoopback(url: string): void {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return;
  }
  if (["127.0.0.1", "localhost", "[::1]", "::1"].includes(host)) setGlobalConfig({ allowInsecureUrls: true });
}
