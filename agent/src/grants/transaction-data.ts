import { z } from "zod";
import { b64url, fromB64url, sha256B64url } from "../encoding.js";
import { FULL_LEVEL_CLAIMS, GRANT_LEVELS } from "../sdjwt/identity-credential.js";

/**
 * The grant's terms as an OpenID4VP 1.0 transaction data object (§5.1 `transaction_data`, §8.4): a typed
 * JSON object, base64url-encoded into the request, naming the DCQL credential query it applies to
 * (`credential_ids`). The wallet that presents that credential puts the hash of the exact encoded string into
 * the key-binding JWT (`transaction_data_hashes`, Appendix B.3.6), so the person's key-binding signature is
 * their signature over these terms: the consent, carried by the standard's own mechanism.
 */
export const REALNAME_GRANT_TRANSACTION_TYPE = "realname_grant";

/** The only hash algorithm we ask for and accept: the spec's default, so `transaction_data_hashes_alg` is omitted. */
export const TRANSACTION_DATA_HASH_ALG = "sha-256";

export const grantTransactionDataSchema = z
  .object({
    type: z.literal(REALNAME_GRANT_TRANSACTION_TYPE),
    credential_ids: z.array(z.string().min(1).max(128)).min(1).max(8),
    transaction_data_hashes_alg: z.array(z.string()).min(1).optional(),
    request_id: z.string().min(8).max(128),
    level: z.enum(GRANT_LEVELS),
    purpose: z.string().min(1).max(500),
    retention_days: z.number().int().min(0).max(3650),
    /** Who asks: the merchant's DID (its client identifier without the prefix) and its registered name. */
    merchant: z.object({ id: z.string().startsWith("did:key:").max(300), name: z.string().min(1).max(128) }),
    claims: z.array(z.enum(FULL_LEVEL_CLAIMS as [string, ...string[]])).max(FULL_LEVEL_CLAIMS.length).optional(),
    age_over_18: z.boolean().optional(),
    /** Levels the merchant accepts besides `level` (its preference): the person may answer any of them. */
    accepted_levels: z.array(z.enum(GRANT_LEVELS)).max(GRANT_LEVELS.length).optional(),
    /** Claims of a `full` answer the person may switch off. */
    optional_claims: z.array(z.enum(FULL_LEVEL_CLAIMS as [string, ...string[]])).max(FULL_LEVEL_CLAIMS.length).optional(),
  })
  // Other members are allowed by the spec (a newer merchant may add some); the wallet ignores them.
  .passthrough();
export type GrantTransactionData = z.infer<typeof grantTransactionDataSchema>;

/** The base64url (no padding) encoding of the JSON object: the string that travels, and that is hashed. */
export const encodeTransactionData = (data: Record<string, unknown>): string => b64url(Buffer.from(JSON.stringify(data), "utf8"));

/** The decoded object, or undefined when the string is not base64url of a JSON object. */
export function decodeTransactionData(encoded: unknown): Record<string, unknown> | undefined {
  if (typeof encoded !== "string" || !/^[A-Za-z0-9_-]+$/.test(encoded) || encoded.length > 16_384) return undefined;
  try {
    const value = JSON.parse(Buffer.from(fromB64url(encoded)).toString("utf8"));
    return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** What goes into `transaction_data_hashes`: base64url(sha-256(the encoded string's ASCII bytes)). */
export const transactionDataHash = (encoded: string): string => sha256B64url(encoded);
