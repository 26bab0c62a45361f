import { z } from "zod";
import { sha256Hex } from "../encoding.js";
import { FULL_LEVEL_CLAIMS, GRANT_LEVELS } from "../sdjwt/identity-credential.js";

/** A grant's terms as the merchant states them (carried in the signed OpenID4VP request object). */
export const grantTermsSchema = z.object({
  request_id: z.string().min(8).max(128),
  merchant_name: z.string().min(1).max(128),
  level: z.enum(GRANT_LEVELS),
  purpose: z.string().min(1).max(500),
  retention_days: z.number().int().min(0).max(3650),
  claims: z.array(z.enum(FULL_LEVEL_CLAIMS as [string, ...string[]])).max(FULL_LEVEL_CLAIMS.length).default([]),
  age_over_18: z.boolean().default(false),
  /** Further levels the merchant accepts besides `level` (its preference); see grants/choice.ts. */
  accepted_levels: z.array(z.enum(GRANT_LEVELS)).max(GRANT_LEVELS.length).optional(),
  /** Claims of a `full` grant the person may switch off (a subset of `claims`). */
  optional_claims: z.array(z.enum(FULL_LEVEL_CLAIMS as [string, ...string[]])).max(FULL_LEVEL_CLAIMS.length).optional(),
});

/** The terms plus who asks, the nonce, where to answer, and the validity: what wallet and verifier work with. */
export const presentationRequestSchema = grantTermsSchema.extend({
  iss: z.string().startsWith("did:key:"),
  /** The full client identifier (`decentralized_identifier:<iss>`): the key-binding JWT's `aud`. */
  client_id: z.string().min(1).max(400),
  /** The DCQL credential query id the presentation answers (the `vp_token` key). */
  credential_id: z.string().min(1).max(128),
  /** The `realname_grant` transaction data exactly as sent (base64url), when the merchant sent one. */
  transaction_data: z.string().min(1).max(16_384).optional(),
  nonce: z.string().min(1).max(512),
  response_uri: z.string().url(),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type PresentationRequest = z.infer<typeof presentationRequestSchema>;

/** sha-256 (hex) of the exact signed request object: what the consent receipt names. */
export const requestHash = (jwt: string): string => sha256Hex(jwt);
