import { Router, type RequestHandler } from "express";
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import {
  AgentError,
  CredentialIssuance,
  deviceIdSchema,
  handle,
  merchantEntrySchema,
  notaryEntrySchema,
  parseInput,
  requireJson,
  residentIdNumberSchema,
} from "@realname/agent";
import type { IssuerDeps } from "../deps.js";

const jwkSchema = z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string().regex(/^[A-Za-z0-9_-]{43}$/) }).strict();
const idNumberSchema = residentIdNumberSchema;

/** Admin operations behind a bearer token: devices, blacklists, credential status, reissue, the trust registry. */
export function adminRoutes(deps: IssuerDeps): Router {
  const r = Router();
  const expected = Buffer.from(`Bearer ${deps.adminToken}`);
  const requireAdmin: RequestHandler = (req, _res, next) => {
    const given = Buffer.from(req.get("authorization") ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return next(new AgentError("ERR_UNAUTHORIZED", "admin credentials required"));
    next();
  };
  r.use("/admin", requireAdmin);
  const now = () => (deps.clock ?? (() => new Date()))();

  // Every admin action is in the risk log: what, on which device or keyed person reference, why.
  const audit = (action: string, subjectRef: string, reason: string) => deps.risk.recordAdmin({ action, subjectRef, reason }, now());

  // Kiosks are enrolled by the admin (capture devices may also enrol themselves with WebAuthn attestation).
  r.post("/admin/devices", requireJson, handle(async (req, res) => {
    const input = parseInput(z.object({ deviceId: deviceIdSchema, label: z.string().min(1).max(128), publicJwk: jwkSchema }).strict(), req.body);
    const record = await deps.devices.register(input, now());
    await audit("device-enrolled-by-admin", input.deviceId, "admin enrolment");
    res.status(201).json(record);
  }));
  for (const action of ["revoke", "ban"] as const) {
    r.post(`/admin/devices/:id/${action}`, requireJson, handle(async (req, res) => {
      const id = parseInput(deviceIdSchema, req.params.id);
      const { reason } = parseInput(z.object({ reason: z.string().min(1).max(300) }).strict(), req.body);
      const record = await deps.devices.setStatus(id, action === "revoke" ? "revoked" : "banned", reason, now());
      await audit(`device-${action}`, id, reason);
      res.json(record);
    }));
  }
  // The device's failures, attempt window and history are forgotten (e.g. after the kiosk was serviced).
  r.post("/admin/devices/:id/reset", requireJson, handle(async (req, res) => {
    const id = parseInput(deviceIdSchema, req.params.id);
    const { reason } = parseInput(z.object({ reason: z.string().min(1).max(300) }).strict(), req.body);
    if (!(await deps.devices.get(id))) throw new AgentError("ERR_DEVICE_NOT_FOUND", "no such device");
    await deps.risk.state.resetDevice(id);
    await audit("device-reset", id, reason);
    res.json({ deviceId: id, reset: true });
  }));

  const blacklistSchema = z.union([
    z.object({ kind: z.literal("person"), idNumber: idNumberSchema, reason: z.string().min(1).max(300) }).strict(),
    z.object({ kind: z.literal("device"), deviceId: deviceIdSchema, reason: z.string().min(1).max(300) }).strict(),
  ]);
  r.post("/admin/blacklist", requireJson, handle(async (req, res) => {
    const input = parseInput(blacklistSchema, req.body);
    // The blacklist holds keyed references only: the ID number itself is not stored.
    const subject = input.kind === "person" ? deps.vault.refFor(input.idNumber) : input.deviceId;
    await deps.risk.state.blacklist(input.kind, subject, input.reason, now());
    await audit(`blacklist-add-${input.kind}`, subject, input.reason);
    res.status(201).json({ kind: input.kind, blacklisted: true });
  }));
  r.post("/admin/blacklist/removal", requireJson, handle(async (req, res) => {
    const input = parseInput(blacklistSchema, req.body);
    const subject = input.kind === "person" ? deps.vault.refFor(input.idNumber) : input.deviceId;
    if (!(await deps.risk.state.unblacklist(input.kind, subject))) throw new AgentError("ERR_BLACKLIST_ENTRY_NOT_FOUND", "no such blacklist entry");
    await audit(`blacklist-remove-${input.kind}`, subject, input.reason);
    res.json({ kind: input.kind, blacklisted: false });
  }));
  r.get("/admin/risk-log", handle(async (_req, res) => void res.json(await deps.risk.entries())));
  // Notary uploads the issuer did not apply (a conflict with a verified identity, a registry mismatch).
  r.get("/admin/reviews", handle(async (_req, res) => void res.json(await deps.attestations.list())));

  r.post("/admin/status", requireJson, handle(async (req, res) => {
    const input = parseInput(z.object({ indexes: z.array(z.number().int().min(0)).min(1).max(1000), status: z.enum(["revoked", "suspended", "valid"]) }).strict(), req.body);
    // Scheduled like every status change: several indexes never flip in one visible version.
    res.json(await deps.status.schedule(input.indexes, input.status));
  }));

  r.post("/admin/identities/revoke", requireJson, handle(async (req, res) => {
    const { idNumber } = parseInput(z.object({ idNumber: idNumberSchema, reason: z.string().min(1).max(300) }).strict(), req.body);
    res.json(await deps.identityIssuer.revokeAll(deps.vault.refFor(idNumber)));
  }));

  // The person's ID document changed or was lost: revoke everything issued and offer a fresh batch, in one go.
  r.post("/admin/identities/reissue", requireJson, handle(async (req, res) => {
    const { idNumber } = parseInput(z.object({ idNumber: idNumberSchema, reason: z.string().min(1).max(300) }).strict(), req.body);
    const ref = deps.vault.refFor(idNumber);
    const { revoked, effectiveBy } = await deps.identityIssuer.revokeAll(ref);
    await deps.registration.refreshFromRegistry(ref);
    const offer = await deps.issuance.createOffer(ref);
    res.status(201).json({ revoked, effectiveBy, credentialOffer: offer.credentialOffer, expiresAt: offer.expiresAt, qrText: await CredentialIssuance.qrTerminal(offer.credentialOffer) });
  }));

  // How an identity was verified (method, when, by whom): never the identity itself.
  r.post("/admin/identities/evidence", requireJson, handle(async (req, res) => {
    const { idNumber } = parseInput(z.object({ idNumber: idNumberSchema }).strict(), req.body);
    const identity = await deps.vault.get(deps.vault.refFor(idNumber));
    if (!identity) throw new AgentError("ERR_IDENTITY_NOT_FOUND", "no verified identity for this ID number");
    const { commitmentSalt: _salt, fingerprintDigest: _fp, ...evidence } = identity.evidence as typeof identity.evidence & { commitmentSalt?: string };
    res.json({ evidence, credentials: identity.statusIndexes.length });
  }));

  r.put("/admin/merchants", requireJson, handle(async (req, res) => {
    const entry = parseInput(merchantEntrySchema, req.body);
    await deps.trust.putMerchant(entry);
    res.status(201).json(entry);
  }));
  r.delete("/admin/merchants/:did", handle(async (req, res) => {
    await deps.trust.remove("merchant", parseInput(z.string().startsWith("did:key:").max(200), req.params.did));
    res.json({ removed: true });
  }));
  // A leaf certificate from the platform CA for a registered ES256 merchant's key, for a domain its registry
  // entry lists (OpenID4VP x509_san_dns clients); the name is checked against the registry, not taken on trust.
  r.post("/admin/merchants/:did/certificate", requireJson, handle(async (req, res) => {
    if (!deps.platformCa) throw new AgentError("ERR_NOT_FOUND", "this issuer runs no merchant CA");
    const did = parseInput(z.string().startsWith("did:key:").max(200), req.params.did);
    const input = parseInput(z.object({ dnsName: z.string().min(1).max(253).optional(), days: z.number().int().min(1).max(397).optional() }).strict(), req.body);
    const merchant = await deps.trust.merchant(did);
    if (!merchant) throw new AgentError("ERR_MERCHANT_UNREGISTERED", "only a registered merchant gets a certificate");
    res.status(201).json({ ...(await deps.platformCa.issueMerchantCertificate(merchant, { ...input, now: now() })), rootPem: deps.platformCa.rootPem });
  }));
  r.put("/admin/notaries", requireJson, handle(async (req, res) => {
    const entry = parseInput(notaryEntrySchema, req.body);
    await deps.trust.putNotary(entry);
    res.status(201).json(entry);
  }));
  return r;
}
