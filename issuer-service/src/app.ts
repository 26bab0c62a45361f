import { randomUUID } from "node:crypto";
import { z } from "zod";
import {
  AgentError,
  ageOn,
  createServiceApp,
  errorHandler,
  handle,
  issueIdentityCredential,
  notFound,
  parseInput,
  publicKeyFromJwk,
  requireJson,
  sameName,
  validateResidentIdNumber,
  IDENTITY_VCT,
  type DocumentStore,
  type Ed25519PublicJwk,
  type IdentityRegistry,
  type JwsSigner,
} from "@realname/agent";

export interface IssuerDeps {
  issuer: { did: string; name: string; signer: JwsSigner };
  identityRegistry: IdentityRegistry;
  /** Issuance log: what was issued when, to which holder keys. No personal data. */
  issuances: DocumentStore<IssuanceRecord>;
  clock?: () => Date;
  credentialValiditySeconds?: number;
  maxBatchSize?: number;
  log?: (line: string) => void;
}

export interface IssuanceRecord {
  registrationId: string;
  issuedAt: string;
  credentials: number;
  holderKeyThumbprints: string[];
}

const MAX_PORTRAIT_BYTES = 2 * 1024 * 1024;

const jwkSchema = z
  .object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be a 32-byte base64url key") })
  .strict();

const registrationSchema = (maxBatch: number) =>
  z
    .object({
      fullName: z.string().trim().min(1, "required").max(64, "at most 64 characters"),
      idNumber: z
        .string()
        .trim()
        .toUpperCase()
        .superRefine((v, ctx) => {
          const r = validateResidentIdNumber(v);
          if (!r.valid) ctx.addIssue({ code: "custom", message: `not a valid resident ID number: ${r.problem}` });
        }),
      portrait: z
        .string()
        .max(Math.ceil((MAX_PORTRAIT_BYTES * 4) / 3) + 4, "larger than 2 MiB")
        .regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64")
        .superRefine((v, ctx) => {
          const bytes = Buffer.from(v, "base64");
          const png = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
          const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
          if (!png && !jpeg) ctx.addIssue({ code: "custom", message: "must be a PNG or JPEG image" });
        }),
      holderKeys: z
        .array(jwkSchema)
        .min(1, "at least one holder key")
        .max(maxBatch, `at most ${maxBatch} holder keys`)
        .refine((keys) => new Set(keys.map((k) => k.x)).size === keys.length, "holder keys must be distinct"),
    })
    .strict();

/** The identity issuer's HTTP layer: registration checked against the identity registry, SD-JWT VC issuance. */
export function createApp(deps: IssuerDeps) {
  const clock = deps.clock ?? (() => new Date());
  const maxBatch = deps.maxBatchSize ?? 10;
  const validity = deps.credentialValiditySeconds ?? 365 * 86_400;
  const schema = registrationSchema(maxBatch);
  const app = createServiceApp({ log: deps.log });

  app.get("/health", (_req, res) => {
    res.json({ status: "ok", role: "issuer", did: deps.issuer.did });
  });

  app.get("/.well-known/issuer", (_req, res) => {
    res.json({ did: deps.issuer.did, name: deps.issuer.name, credentialTypes: [IDENTITY_VCT] });
  });

  app.post(
    "/registrations",
    requireJson,
    handle(async (req, res) => {
      const input = parseInput(schema, req.body);
      const person = await deps.identityRegistry.lookup(input.idNumber);
      // One answer for "unknown number" and "name does not match": the response must not confirm who exists.
      if (!person || !sameName(person.fullName, input.fullName)) {
        throw new AgentError("ERR_IDENTITY_NOT_CONFIRMED", "the identity registry does not confirm this name and ID number");
      }
      const now = clock();
      const holderKeys = input.holderKeys as Ed25519PublicJwk[];
      holderKeys.forEach((k) => publicKeyFromJwk(k));
      const claims = {
        real_name_verified: true as const,
        age_over_18: ageOn(person.birthDate, now) >= 18,
        family_name: person.familyName,
        given_name: person.givenName,
        full_name: person.fullName,
        id_number: person.idNumber,
        birth_date: person.birthDate,
      };
      const credentials = [];
      for (const holderJwk of holderKeys) {
        credentials.push(await issueIdentityCredential({ issuerDid: deps.issuer.did, signer: deps.issuer.signer, holderJwk, claims, now, validForSeconds: validity }));
      }
      const registrationId = randomUUID();
      await deps.issuances.put(`${now.toISOString()}:${registrationId}`, {
        registrationId,
        issuedAt: now.toISOString(),
        credentials: credentials.length,
        holderKeyThumbprints: holderKeys.map((k) => k.x.slice(0, 12)),
      });
      res.status(201).json({ registrationId, issuer: deps.issuer.did, credentials });
    }),
  );

  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
