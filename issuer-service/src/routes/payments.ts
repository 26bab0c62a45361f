import { Router, type RequestHandler } from "express";
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { AgentError, handle, merchantPolicySchema, p256JwkSchema, parseInput, requireJson, terminalIdSchema, type InPersonPayments, type MerchantPolicies, type TerminalRegistry } from "@realname/agent";

/** The platform side of in-person payments (seed 003), as the issuer serves it. */
export interface PaymentsPlatform {
  service: InPersonPayments;
  terminals: TerminalRegistry;
  policies: MerchantPolicies;
  /** The vault ref of a verified identity, by its ID number (undefined when the issuer has none). */
  identityRefFor: (idNumber: string) => Promise<string | undefined>;
}

const jws = z.string().min(10).max(8192);
const base64Image = z.string().min(1).max(2_000_000).regex(/^[A-Za-z0-9+/=_-]+$/, "base64");
const didSchema = z.string().regex(/^did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,400}$/);

const registerSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("first"), terminalId: terminalIdSchema, label: z.string().min(1).max(80), publicJwk: p256JwkSchema, idNumber: z.string().min(1).max(32), pin: z.string().min(4).max(64), peerOptIn: z.boolean().default(false) }).strict(),
  z.object({ kind: z.literal("second"), terminalId: terminalIdSchema, label: z.string().min(1).max(80), publicJwk: p256JwkSchema, merchantDid: didSchema, peerOptIn: z.boolean().default(false) }).strict(),
]);

/**
 * Terminals (admin: a wallet bound to a verified identity, a merchant's POS), merchants' distance policies
 * (admin), and the terminals' own signed calls: positions, opt-in/out, a payment start, peer answers, unlock.
 * Bodies never reach a log (the access log has route and status only).
 */
export function paymentRoutes(deps: { payments: PaymentsPlatform; adminToken: string; clock?: () => Date }): Router {
  const r = Router();
  const { service, terminals, policies } = deps.payments;
  const now = () => (deps.clock ?? (() => new Date()))();
  const expected = Buffer.from(`Bearer ${deps.adminToken}`);
  const requireAdmin: RequestHandler = (req, _res, next) => {
    const given = Buffer.from(req.get("authorization") ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return next(new AgentError("ERR_UNAUTHORIZED", "admin credentials required"));
    next();
  };

  r.post("/admin/payments/terminals", requireAdmin, requireJson, handle(async (req, res) => {
    const body = parseInput(registerSchema, req.body);
    let identityRef: string | undefined;
    if (body.kind === "first") {
      identityRef = await deps.payments.identityRefFor(body.idNumber);
      if (!identityRef) throw new AgentError("ERR_IDENTITY_NOT_FOUND", "no verified identity with this ID number");
    }
    const { idNumber: _id, ...rest } = body as typeof body & { idNumber?: string };
    const t = await terminals.register({ ...rest, identityRef }, now());
    res.status(201).json({ terminalId: t.terminalId, kind: t.kind, peerOptIn: t.peerOptIn });
  }));
  r.put("/admin/payments/policies/:merchantDid", requireAdmin, requireJson, handle(async (req, res) => {
    const did = parseInput(didSchema, req.params.merchantDid);
    const parsed = z.record(z.string(), z.unknown()).safeParse(req.body);
    if (!parsed.success) throw new AgentError("ERR_INVALID_INPUT", "a policy is a JSON object");
    res.json(await policies.set(did, parseInput(merchantPolicySchema, parsed.data)));
  }));

  // What terminals sign for (`aud`): the platform's identifier.
  r.get("/payments/platform", (_req, res) => void res.json({ audience: service.audience }));
  r.post("/payments/positions", requireJson, handle(async (req, res) => {
    const { report } = parseInput(z.object({ report: jws }).strict(), req.body);
    res.json(await service.reportPosition(report));
  }));
  r.post("/payments/opt-in", requireJson, handle(async (req, res) => {
    const { message } = parseInput(z.object({ message: jws }).strict(), req.body);
    res.json(await service.setOptIn(message));
  }));
  r.post("/payments/in-person", requireJson, handle(async (req, res) => {
    const { message } = parseInput(z.object({ message: jws }).strict(), req.body);
    res.status(201).json(await service.start(message));
  }));
  // Only the POS that started a payment reads it, by a signed status message (never by its id alone).
  r.post("/payments/in-person/status", requireJson, handle(async (req, res) => {
    const { message } = parseInput(z.object({ message: jws }).strict(), req.body);
    res.json(await service.statusFor(message));
  }));
  r.post("/payments/peer-answers", requireJson, handle(async (req, res) => {
    const { answer, image } = parseInput(z.object({ answer: jws, image: base64Image.optional() }).strict(), req.body);
    res.json(await service.answer(answer, image ? Buffer.from(image, "base64") : undefined));
  }));
  r.post("/payments/unlock", requireJson, handle(async (req, res) => {
    const { message, pin, portrait } = parseInput(z.object({ message: jws, pin: z.string().min(1).max(64), portrait: base64Image }).strict(), req.body);
    res.json(await service.unlock(message, pin, Buffer.from(portrait, "base64")));
  }));
  return r;
}
