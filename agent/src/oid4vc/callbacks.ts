import { setGlobalConfig } from "@openid4vc/utils";
import { createHash, randomBytes } from "node:crypto";
import { clientAuthenticationNone, type CallbackContext, type Jwk, type JwtSigner } from "@openid4vc/oauth2";
import { signJws, type JwsSigner } from "../crypto/jws.js";
import { verifyJwt } from "../crypto/algorithms.js";
import { jwkFromDidKey, type PublicJwk } from "../identity/did-key.js";
import { withLoopbackHttpIf, boundedFetcher, currentFetchPolicy } from "../http/bounded-fetch.js";

// The libraries read `allowInsecureUrls` at every URL check; it answers for the call in progress (its
// AsyncLocalStorage policy), never for the whole process. Their fetches go through the bounded fetch, which
// allows plain http only to loopback and only for such a call.
setGlobalConfig({
  get allowInsecureUrls() {
    return currentFetchPolicy()?.allowLoopbackHttp === true;
  },
} as { allowInsecureUrls: boolean });

/**
 * The crypto callbacks the @openid4vc libraries ask for, over Ed25519 (EdDSA) and P-256 (ES256) keys:
 * signing goes to a signer looked up by the public key (so private keys stay in Veramo's KMS), verification
 * uses node:crypto through the algorithm layer, where the key's curve fixes the algorithm (alg confusion refused).
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
    fetch: args.fetch ?? boundedFetcher(),
    signJwt: async (signer, { header, payload }) => {
      const publicJwk = jwkOf(signer);
      const sign = args.signerFor?.(publicJwk);
      if (!sign) throw new Error("no signing key for this public key");
      // An access token (RFC 9068) names its key by `kid` in the issuer's JWKS, which holds more than one key
      // (EdDSA and ES256): the library's "jwk" signer would put the whole key in the header and no kid.
      const kid = (publicJwk as { kid?: unknown }).kid;
      const h = header as Record<string, unknown>;
      const finalHeader = h.typ === "at+jwt" && typeof kid === "string" ? { ...Object.fromEntries(Object.entries(h).filter(([k]) => k !== "jwk")), kid } : h;
      return { jwt: await signJws(finalHeader, payload as Record<string, unknown>, sign), signerJwk: publicJwk };
    },
    verifyJwt: async (signer, { compact }) => {
      // EdDSA (Ed25519) or ES256 (P-256, HAIP): the algorithm must be the key's own, the key never from the header.
      try {
        const jwk = jwkOf(signer);
        const r = verifyJwt(compact, signer.method === "did" ? signer.didUrl.split("#")[0]! : (jwk as PublicJwk));
        if (!r.verified || (signer.alg !== undefined && signer.alg !== r.alg)) return { verified: false };
        return { verified: true, signerJwk: jwk };
      } catch {
        return { verified: false };
      }
    },
  };
}

/**
 * The OpenID4VC libraries insist on https. On one developer machine everything is http on loopback, so http
 * is allowed when the URL in question is a loopback address, inside `fn` only (its async chain, ended when it
 * settles); before, this flipped the libraries' global flag for every later call.
 */
export function allowHttpIfLoopback<R>(url: string, fn: () => R): R {
  return withLoopbackHttpIf(url, fn);
}
