import { randomBytes } from "node:crypto";
import { Router, type Request, type Response } from "express";
import QRCode from "qrcode";
import cookieParser from "cookie-parser";
import { z } from "zod";
import {
  AgentError,
  claimLabel,
  claimValue,
  formBody,
  FULL_LEVEL_CLAIMS,
  GRANT_LEVELS,
  handle,
  html,
  LEVEL_LABELS,
  notice,
  pageErrorHandler,
  parseInput,
  raw,
  renderPage,
  sameOriginPost,
  sha256Hex,
  shortId,
  type DocumentStore,
  type SafeHtml,
} from "@realname/agent";
import type { LoginChallenge, RequestResult, Session } from "./app.js";

/** One thing the checkout can ask a customer for: a level, with the purpose the merchant is registered for. */
export const checkoutOfferSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]{1,40}$/),
    title: z.string().min(1).max(120),
    level: z.enum(GRANT_LEVELS),
    purpose: z.string().min(1).max(500),
    retentionDays: z.number().int().min(0).max(3650).default(30),
    claims: z.array(z.enum(FULL_LEVEL_CLAIMS as [string, ...string[]])).default([]),
    ageOver18: z.boolean().default(false),
  })
  .strict();
export type CheckoutOffer = z.infer<typeof checkoutOfferSchema>;
export const checkoutOffersSchema = z.array(checkoutOfferSchema).min(1).max(12);

export interface CheckoutConfig {
  offers: CheckoutOffer[];
  /** A web wallet's address: the page offers "open in your web wallet" (its OpenID4VP authorization endpoint). */
  walletUrl?: string;
}

/** What a small shop asks for; the platform must have registered these purposes for the merchant. */
export const DEFAULT_CHECKOUT_OFFERS: CheckoutOffer[] = [
  { id: "age-check", title: "Buy an age-restricted item", level: "verified", purpose: "Sell an age-restricted item to a real-name-verified adult", retentionDays: 0, claims: [], ageOver18: true },
  { id: "membership", title: "Join as a member (or come back as one)", level: "pseudonymous", purpose: "Open a member account without sharing identity", retentionDays: 365, claims: [], ageOver18: false },
  { id: "invoice", title: "Get an invoice in your legal name", level: "full", purpose: "Issue an invoice in the buyer's legal name", retentionDays: 180, claims: ["full_name"], ageOver18: false },
];

interface CheckoutDeps {
  merchant: { did: string; name: string };
  checkout: CheckoutConfig;
  challenges: DocumentStore<LoginChallenge>;
  accounts: DocumentStore<{ pseudonym: string; openedAt: string; visits: number }>;
  clock: () => Date;
  publicUrl: () => string;
  log?: (line: string) => void;
  openRequest(input: { level: CheckoutOffer["level"]; purpose: string; retentionDays: number; claims: string[]; ageOver18: boolean }, options: { fromCheckout?: boolean }): Promise<{ requestId: string; authorizationRequest: string; transactionSecret: string; expiresAt: string }>;
  resultOf(session: Session, options: { withValues: boolean }): Promise<RequestResult>;
  /** The wallet's one-time response code for this session: true once, within its validity. */
  redeemResponseCode(session: Session, code: string): Promise<boolean>;
  openChallenge(frontEndSecretHash?: string): Promise<{ challengeId: string; challengeUri: string; expiresAt: string }>;
  loadSession(id: string): Promise<Session>;
}

const idParam = z.string().regex(/^[0-9a-f-]{36}$/);
const cookieName = (kind: "request" | "login", id: string) => `checkout_${kind}_${id.replace(/-/g, "")}`;
const readCookie = (req: Request, name: string): string | undefined => (req.cookies as Record<string, string> | undefined)?.[name];

/**
 * The merchant's demo checkout: pick what to ask the customer for, show the request as a QR code and a
 * link, wait for the wallet's answer, show what arrived; and member login for pseudonymous accounts. The
 * page's browser holds the request's transaction secret in an HttpOnly cookie scoped to that checkout, so
 * only it sees the result.
 */
export function checkoutRouter(deps: CheckoutDeps): Router {
  const router = Router();
  const brand = deps.merchant.name;
  router.use(cookieParser());
  router.use(formBody);
  router.use(sameOriginPost);
  router.use((_req, res, next) => {
    res.set("cache-control", "no-store");
    next();
  });
  const send = (res: Response, title: string, main: SafeHtml, status = 200): void => {
    res.status(status).type("html").send(renderPage({ title, brand, nav: [{ href: "/checkout", label: "Checkout" }], main }));
  };
  const walletLink = (path: string, query: string) => (deps.checkout.walletUrl ? `${deps.checkout.walletUrl.replace(/\/$/, "")}${path}?${query}` : undefined);

  router.get("/", (_req, res) => {
    const offers = deps.checkout.offers;
    send(res, "Checkout", html`<h1>${brand}: checkout</h1>
<p>Instead of typing your details, let your identity wallet answer. You choose in the wallet exactly what to share; we receive only the level below.</p>
<form method="post" action="/checkout">
<fieldset><legend>What do you need to do?</legend>
${offers.map((o, i) => html`<div class="option"><label class="check"><input type="radio" name="offer" value="${o.id}"${i === 0 ? raw(" checked") : ""} required>
<span><strong>${o.title}</strong><br><span class="muted">We ask for: ${LEVEL_LABELS[o.level].name}: ${LEVEL_LABELS[o.level].explains}${o.level === "full" ? ` (${o.claims.map(claimLabel).join(", ")})` : o.ageOver18 ? " (and that you are over 18)" : ""}. ${o.retentionDays === 0 ? "Nothing is kept afterwards." : `Kept for ${o.retentionDays} days.`}</span></span></label></div>`)}
</fieldset>
<button type="submit">Ask my wallet</button>
</form>
${offers.some((o) => o.level === "pseudonymous") ? html`<form method="post" action="/checkout/login" class="card"><h2>Already a member?</h2><p>Log in with your wallet: it proves your member pseudonym, nothing else.</p><button type="submit" class="secondary">Member login</button></form>` : ""}`);
  });

  router.post("/", handle(async (req, res) => {
    const { offer: offerId } = parseInput(z.object({ offer: z.string().max(40) }), req.body);
    const offer = deps.checkout.offers.find((o) => o.id === offerId);
    if (!offer) throw new AgentError("ERR_INVALID_INPUT", "no such offer");
    const created = await deps.openRequest({ level: offer.level, purpose: offer.purpose, retentionDays: offer.retentionDays, claims: offer.claims, ageOver18: offer.ageOver18 }, { fromCheckout: true });
    res.cookie(cookieName("request", created.requestId), created.transactionSecret, { httpOnly: true, sameSite: "strict", path: `/checkout/${created.requestId}` });
    res.redirect(303, `/checkout/${created.requestId}`);
  }));

  /**
   * The session of this page. The browser the wallet sent back after answering (the redirect's one-time
   * response code, OpenID4VP same-device flow) sees what was shared, once; the browser that opened the
   * checkout (its cookie) sees the status and level only: it may not be the browser of the person who answered.
   */
  const ownSession = async (req: Request, options: { byCode: boolean }): Promise<{ session: Session; withValues: boolean }> => {
    const session = await deps.loadSession(req.params.id as string);
    const code = req.query.response_code;
    if (options.byCode && code !== undefined) {
      if (typeof code !== "string" || !(await deps.redeemResponseCode(session, code))) throw new AgentError("ERR_RESPONSE_CODE_INVALID", "this link was already used or has expired");
      return { session, withValues: true };
    }
    const secret = readCookie(req, cookieName("request", session.requestId));
    if (!secret || sha256Hex(secret) !== session.transactionSecretHash) throw new AgentError("ERR_FORBIDDEN", "this checkout belongs to another browser");
    return { session, withValues: false };
  };
  const stateOf = async (session: Session, withValues = false) => {
    const result = await deps.resultOf(session, { withValues });
    const expired = result.status === "pending" && session.request.exp <= Math.floor(deps.clock().getTime() / 1000);
    return { result, status: expired ? "expired" : result.status };
  };

  router.get("/login/:id", handle(async (req, res) => {
    const c = await ownChallenge(req);
    if (c.status === "logged-in") {
      const account = await deps.accounts.get(c.pseudonym!);
      return send(res, "Welcome back", html`<h1>Welcome back</h1>${notice("ok", html`Signed in as member <code title="${c.pseudonym}">${shortId(c.pseudonym!)}</code>${account ? html`, visit ${account.visits}, member since ${account.openedAt.slice(0, 10)}` : ""}. We did not receive any identity data.`)}<p><a href="/checkout">Back to the checkout</a></p>`);
    }
    if (c.expiresAt <= Math.floor(deps.clock().getTime() / 1000)) return send(res, "Expired", html`<h1>This login link has expired</h1><form method="post" action="/checkout/login"><button type="submit">Start again</button></form>`);
    const uri = `${deps.publicUrl()}/login/challenges/${c.challengeId}`;
    const qr = await QRCode.toDataURL(uri, { errorCorrectionLevel: "M", margin: 2, scale: 5 });
    const open = walletLink("/login", `challenge=${encodeURIComponent(uri)}`);
    send(res, "Member login", html`<h1>Member login</h1>
<div class="row"><div><img class="qr" src="${qr}" alt="QR code of the member login link"></div>
<div><p>Scan with your wallet, or paste this link into it:</p>
<p><code id="login-link">${uri}</code></p><button type="button" class="secondary" data-copy="#login-link" hidden>Copy the link</button>
${open ? html`<p><a class="button" href="${open}" target="_blank" rel="noopener">Open in your web wallet</a></p>` : ""}</div></div>
<p data-poll="/checkout/login/${c.challengeId}/status" data-poll-while="pending" aria-live="polite">Waiting for your wallet… <a href="/checkout/login/${c.challengeId}">Check again</a></p>`);
  }));

  router.get("/login/:id/status", handle(async (req, res) => {
    const c = await ownChallenge(req);
    res.json({ status: c.status === "logged-in" ? "logged-in" : c.expiresAt <= Math.floor(deps.clock().getTime() / 1000) ? "expired" : "pending" });
  }));

  router.post("/login", handle(async (_req, res) => {
    const secret = randomBytes(16).toString("base64url");
    const c = await deps.openChallenge(sha256Hex(secret));
    res.cookie(cookieName("login", c.challengeId), secret, { httpOnly: true, sameSite: "strict", path: `/checkout/login/${c.challengeId}` });
    res.redirect(303, `/checkout/login/${c.challengeId}`);
  }));

  router.get("/:id", handle(async (req, res) => {
    const { session, withValues } = await ownSession(req, { byCode: true });
    const { result, status } = await stateOf(session, withValues);
    const r = session.request;
    if (result.status === "accepted") return send(res, "Received", "claims" in result ? receivedView(brand, result) : answeredView(brand, result.level));
    if (result.status === "declined") return send(res, "Declined", html`<h1>You declined</h1><p>Your wallet said no to this request. Nothing was received.</p><p><a class="button" href="/checkout">Start again</a></p>`);
    if (status === "expired") return send(res, "Expired", html`<h1>This request has expired</h1><p>The wallet did not answer in time. Nothing was received.</p><p><a class="button" href="/checkout">Start again</a></p>`);
    const qr = await QRCode.toDataURL(session.authorizationRequest, { errorCorrectionLevel: "M", margin: 2, scale: 5 });
    const open = walletLink("/authorize", new URL(session.authorizationRequest.replace(/^openid4vp:\/\/\?/, "https://x/?")).searchParams.toString());
    send(res, "Waiting for your wallet", html`<h1>Answer with your wallet</h1>
<p>We ask for <strong>${LEVEL_LABELS[r.level].name}</strong>: ${LEVEL_LABELS[r.level].explains}. Purpose: ${r.purpose}.</p>
<div class="row"><div><img class="qr" src="${qr}" alt="QR code of this request for your wallet"></div>
<div><p>Scan the code with your wallet, or paste this link into it:</p>
<p><code id="request-link">${session.authorizationRequest}</code></p><button type="button" class="secondary" data-copy="#request-link" hidden>Copy the link</button>
${open ? html`<p><a class="button" href="${open}" target="_blank" rel="noopener">Open in your web wallet</a></p>` : ""}
<p class="muted">The request is valid until ${new Date(r.exp * 1000).toISOString().slice(11, 19)} UTC.</p></div></div>
<p data-poll="/checkout/${session.requestId}/status" data-poll-while="pending" aria-live="polite">Waiting for your wallet… <a href="/checkout/${session.requestId}">Check again</a></p>`);
  }));

  router.get("/:id/status", handle(async (req, res) => {
    const { status } = await stateOf((await ownSession(req, { byCode: false })).session);
    res.json({ status });
  }));

  router.use(pageErrorHandler({ brand, log: deps.log, back: { href: "/checkout", label: "Back to the checkout" }, wording: checkoutWords }));
  return router;

  async function ownChallenge(req: Request): Promise<LoginChallenge> {
    const id = parseInput(idParam, req.params.id);
    const c = await deps.challenges.get(id);
    if (!c || !c.frontEndSecretHash) throw new AgentError("ERR_CHALLENGE_NOT_FOUND", "no such login");
    const secret = readCookie(req, cookieName("login", id));
    if (!secret || sha256Hex(secret) !== c.frontEndSecretHash) throw new AgentError("ERR_FORBIDDEN", "this login belongs to another browser");
    return c;
  }
}

function receivedView(brand: string, result: Extract<RequestResult, { claims: Record<string, unknown> }>): SafeHtml {
  const account = result.account;
  return html`<h1>${account?.returning ? "Welcome back" : "Thank you"}</h1>
${notice("ok", html`Your wallet answered: <strong>${LEVEL_LABELS[result.level].name}</strong>. The answer was verified: a real-name-verified person, credential not revoked, consent signed.`)}
${account
    ? html`<p>${account.returning ? html`Signed in as member <code title="${account.pseudonym}">${shortId(account.pseudonym)}</code>: visit ${account.visits}, member since ${account.openedAt.slice(0, 10)}.` : html`New member account opened for <code title="${account.pseudonym}">${shortId(account.pseudonym)}</code>.`} ${brand} knows you only by this pseudonym.</p>`
    : ""}
<h2>What ${brand} received</h2>
<dl class="facts">${Object.entries(result.claims).map(([k, v]) => html`<dt>${claimLabel(k)}</dt><dd>${claimValue(v)}</dd>`)}</dl>
${result.retention ? notice("info", "The identity data has since been deleted (its retention period ended).") : ""}
${result.withdrawn ? notice("info", "The customer has since withdrawn this grant; its data was deleted.") : ""}
<p><a href="/checkout">Back to the checkout</a></p>`;
}

/** What the browser that opened the checkout sees after the answer: the level, never what was shared. */
function answeredView(brand: string, level: Extract<RequestResult, { status: "accepted" }>["level"]): SafeHtml {
  return html`<h1>Answer received</h1>
${notice("ok", html`The wallet answered: <strong>${LEVEL_LABELS[level].name}</strong>. The answer was verified: a real-name-verified person, credential not revoked, consent signed.`)}
<p>What was shared is shown once, only in the browser the wallet sent back here; ${brand} keeps it in its records.</p>
<p><a href="/checkout">Back to the checkout</a></p>`;
}

function checkoutWords(error: AgentError): string | undefined {
  return {
    ERR_FORBIDDEN: "This checkout page belongs to another browser. Start your own checkout.",
    ERR_RESPONSE_CODE_INVALID: "This link was already used or has expired. What you shared is kept by the merchant; it is not shown again here.",
    ERR_REQUEST_NOT_FOUND: "There is no such checkout. Start again.",
    ERR_CHALLENGE_NOT_FOUND: "There is no such member login. Start again.",
    ERR_INVALID_INPUT: "Choose what you need to do, then ask your wallet.",
    ERR_FORBIDDEN_ORIGIN: "This action came from another website, so it was refused.",
  }[error.code];
}
