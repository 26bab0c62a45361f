import { Router } from "express";
import { z } from "zod";
import { handle, parseInput, requireJson, traceReportSchema } from "@realname/agent";
import type { IssuerDeps } from "../deps.js";

const signedRequestBody = z.object({ request: z.string().min(1).max(16_384) }).strict();

/**
 * The platform's trace (认证留痕): grants reported by whoever holds their receipts (the wallet after each
 * grant), the person's own trace (a request signed by one of their holder keys), and registered notaries'
 * legal requests. Handlers are thin: TraceService checks, stores and logs; nothing personal is logged here.
 */
export function traceRoutes(deps: IssuerDeps): Router {
  const r = Router();
  r.post("/trace/grants", requireJson, handle(async (req, res) => {
    const { recorded } = await deps.trace.report(parseInput(traceReportSchema, req.body));
    res.status(201).json({ recorded: { consentReceiptHash: recorded.consentReceiptHash, level: recorded.level, merchant: recorded.merchant.did, anchored: Object.keys(recorded.anchors ?? {}), withdrawn: Boolean(recorded.withdrawnAt) } });
  }));
  r.post("/trace/mine", requireJson, handle(async (req, res) => {
    const { request } = parseInput(signedRequestBody, req.body);
    res.set("cache-control", "no-store").json(await deps.trace.ownTrace(request));
  }));
  r.post("/trace/legal-requests", requireJson, handle(async (req, res) => {
    const { request } = parseInput(signedRequestBody, req.body);
    res.set("cache-control", "no-store").json(await deps.trace.legalRequest(request));
  }));
  return r;
}
