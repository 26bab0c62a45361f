import express, { type ErrorRequestHandler, type Express, type Request, type Response } from "express";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { AgentError, httpStatusFor } from "../../errors.js";
import { messageFor } from "../messages.js";
import { parseInput, handle } from "../../http/service-kit.js";
import type { SafeHtml } from "../../web/html.js";
import { validateResidentIdNumber } from "../../registry/identity-registry.js";
import type { LivenessChallenge } from "../../issuer/face/liveness.js";
import { requestLivenessChallenge } from "../capture.js";
import { PinnedReviews } from "./pinned.js";
import type { UnlockedSession, WalletSessions } from "./session.js";
import { registerPage } from "./register-view.js";
import { pageWords } from "../../web/lang.js";

/** Where this wallet registers and under which capture-device id its device key is enrolled with the issuer. */
export interface WebRegistrationConfig {
  issuerUrl: () => string;
  deviceId: string;
  batchSize?: number;
  /**
   * Send the filmed frames for the issuer's active liveness challenge (set it where the issuer has
   * `REQUIRE_LIVENESS=1`). Off: only the first, neutral frame goes, as the portrait; an issuer checks any
   * frames it is sent, and a camera that films a still picture fails that check, as it should.
   */
  sendFrames?: boolean;
}

const PENDING_COOKIE = "wallet_pending";
/** The one route that takes camera frames: it parses its own JSON body, up to 12 MB (the app's default is 100 kB). */
export const REGISTER_SUBMIT_PATH = "/register/submit";
/** A JPEG frame in base64: at most ~1.5 MB each (the page sends 320 px frames, tens of kilobytes). */
const imageSchema = z.string().min(1).max(2_000_000).regex(/^[A-Za-z0-9+/]+=*$/);
const submitSchema = z.object({
  csrf: z.string().max(100),
  // Both empty: face-first (the issuer looks for the person by the face, on a device it trusts).
  fullName: z.string().trim().max(100),
  idNumber: z.string().trim().toUpperCase().max(18),
  portrait: imageSchema,
  challengeId: z.string().max(100).optional(),
  frames: z.array(imageSchema).max(16).optional(),
});

/**
 * The web wallet's registration: the page films the person doing the issuer's challenge, the wallet's server
 * signs the materials with this installation's capture-device key (the same key and path as
 * `wallet register`) and submits them; the person confirms the masked identity; the offer is redeemed into
 * the wallet. A merchant's request that brought a person without credentials is kept (a cookie names it,
 * the link stays here) and reviewed straight after.
 */
export function mountRegistration(app: Express, ctx: {
  config: WebRegistrationConfig;
  sessions: WalletSessions;
  clock: () => Date;
  send: (req: Request, res: Response, title: string, main: SafeHtml, status?: number) => void;
  requireUnlocked: (req: Request, res: Response) => UnlockedSession | undefined;
  requirePostSession: (req: Request) => UnlockedSession;
  reviewRequest: (req: Request, res: Response, link: string) => Promise<void>;
}) {
  const pendingLinks = new PinnedReviews<string>({ max: 32, ttlMs: 30 * 60_000, clock: ctx.clock });
  // The registration the person is confirming, per session: its id never comes from the page.
  // Bounded like the reviews: a few sessions, 10 minutes (the issuer's confirmation window is shorter anyway).
  const submitted = new PinnedReviews<{ registrationId: string; masked: { name: string; idNumber: string } }>({ max: 8, ttlMs: 10 * 60_000, clock: ctx.clock });

  /** Keeps the merchant's link and sends the person to register (instead of a "register first" dead end). */
  const deferToRegistration = (req: Request, res: Response, link: string) => {
    const key = randomBytes(18).toString("base64url");
    pendingLinks.pin(key, link);
    res.cookie(PENDING_COOKIE, key, { httpOnly: true, sameSite: "lax", path: "/" });
    res.redirect(303, "/register");
  };
  const pendingOf = (req: Request) => {
    const key = req.cookies?.[PENDING_COOKIE];
    return typeof key === "string" ? pendingLinks.get(key) : undefined;
  };

  app.get("/register", handle(async (req, res) => {
    const s = ctx.requireUnlocked(req, res);
    if (!s) return;
    const challenge: LivenessChallenge = await requestLivenessChallenge(ctx.config.issuerUrl());
    const { t } = pageWords(req, res);
    ctx.send(req, res, t("wallet.titles.register"), registerPage(t, { csrf: s.csrf, challenge, fromMerchant: !!pendingOf(req) }));
  }));

  app.post(REGISTER_SUBMIT_PATH, express.json({ limit: "12mb" }), handle(async (req, res) => {
    const s = ctx.requirePostSession(req);
    const body = parseInput(submitSchema, req.body);
    const faceFirst = body.fullName === "" && body.idNumber === "";
    if (!faceFirst && (body.fullName === "" || body.idNumber === "")) throw new AgentError("ERR_INVALID_INPUT", "give both your name and your ID number, or neither (then your face is looked for)");
    const id = faceFirst ? undefined : validateResidentIdNumber(body.idNumber, ctx.clock());
    if (id && !id.valid) throw new AgentError("ERR_ID_NUMBER_INVALID", id.problem ?? "not a resident identity number", { problem: id.code });
    const frames = body.frames?.map((f) => Buffer.from(f, "base64"));
    const liveness = ctx.config.sendFrames && body.challengeId && frames?.length ? { challenge: { challengeId: body.challengeId } as LivenessChallenge, frames } : undefined;
    const result = await ctx.sessions.use(s, (w) =>
      w.submitRegistration(ctx.config.issuerUrl(), { ...(faceFirst ? {} : { fullName: body.fullName, idNumber: body.idNumber }), portrait: Buffer.from(body.portrait, "base64"), ...(liveness ? { liveness } : {}) }, ctx.config.deviceId),
    );
    submitted.pin(s.id, result);
    res.json({ masked: result.masked });
  }), jsonRefusal);

  /** The person's yes to the masked identity: the offer is redeemed, then back to the merchant's request if one brought them. */
  app.post("/register/confirm", handle(async (req, res) => {
    const s = ctx.requirePostSession(req);
    // Taken in one step: of two posts of the same form, only the first confirms.
    const pending = submitted.take(s.id);
    if (!pending) throw new AgentError("ERR_NOT_FOUND", "no registration is waiting for your confirmation");
    await ctx.sessions.use(s, (w) => w.confirmRegistration(ctx.config.issuerUrl(), pending.registrationId, true, ctx.config.batchSize ?? 10));
    const link = pendingOf(req);
    if (link) {
      pendingLinks.take(req.cookies[PENDING_COOKIE]);
      res.clearCookie(PENDING_COOKIE, { path: "/" });
      return ctx.reviewRequest(req, res, link);
    }
    res.redirect(303, "/");
  }));

  return { deferToRegistration };
}

/** The page's script posts JSON and reads the refusal's code (shown in words, kept in a data attribute). */
const jsonRefusal: ErrorRequestHandler = (error, req, res, _next) => {
  const code = error instanceof AgentError ? error.code : error?.type === "entity.too.large" ? "ERR_BODY_TOO_LARGE" : typeof error?.status === "number" && error.status < 500 ? "ERR_BAD_REQUEST" : "ERR_INTERNAL";
  // In the page's language where the catalogue has the sentence; the wallet's own English words otherwise.
  const { lang, t } = pageWords(req);
  const catalogued = t(`errors.${code}`, { defaultValue: "" });
  const english = error instanceof AgentError ? messageFor(code, error.message) : code === "ERR_INTERNAL" ? "Something went wrong on our side. Nothing was changed." : "What was sent could not be read.";
  const message = lang === "en" ? english : catalogued || english;
  res.status(code === "ERR_INTERNAL" ? 500 : httpStatusFor(code)).json({ error: { code, message } });
};
