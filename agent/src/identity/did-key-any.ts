import { createPublicKey } from "node:crypto";
import { multibaseToBytes } from "did-jwt";
import { AgentError } from "../errors.js";
import type { PublicJwk } from "../crypto/jws.js";
import { jwkFromDidKey } from "./did-key.js";

/**
 * The public key of an Ed25519 or P-256 did:key as a JWK: what a wallet needs to check a merchant's request
 * object signed with EdDSA or ES256 (HAIP). A minimal decoder kept apart from did-key.ts (which stays
 * Ed25519-only for receipts); a P-256 did:key carries the compressed point, which node:crypto expands.
 */
const P256_SPKI_COMPRESSED_PREFIX = Buffer.from("3039301306072a8648ce3d020106082a8648ce3d030107032200", "hex");

export function publicJwkFromDidKey(did: string): PublicJwk {
  const bare = typeof did === "string" ? did.split("#")[0]! : "";
  if (!/^did:key:z[1-9A-HJ-NP-Za-km-z]+$/.test(bare)) throw new AgentError("ERR_UNSUPPORTED_DID", "not a did:key");
  let decoded: { keyBytes: Uint8Array; keyType: string };
  try {
    decoded = multibaseToBytes(bare.slice("did:key:".length)) as { keyBytes: Uint8Array; keyType: string };
  } catch (cause) {
    throw new AgentError("ERR_UNSUPPORTED_DID", "the did:key could not be decoded", undefined, { cause });
  }
  if (decoded.keyType === "Ed25519") return jwkFromDidKey(bare) as PublicJwk;
  if (decoded.keyType === "P-256" && decoded.keyBytes.length === 33) {
    try {
      const key = createPublicKey({ key: Buffer.concat([P256_SPKI_COMPRESSED_PREFIX, decoded.keyBytes]), format: "der", type: "spki" });
      const jwk = key.export({ format: "jwk" }) as { kty: string; crv: string; x: string; y: string };
      return { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y } as PublicJwk;
    } catch (cause) {
      throw new AgentError("ERR_UNSUPPORTED_DID", "the P-256 did:key is not a point on the curve", undefined, { cause });
    }
  }
  throw new AgentError("ERR_UNSUPPORTED_DID", "only Ed25519 and P-256 did:key identifiers are supported");
}
