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
  merchantMark,
  FULL_LEVEL_CLAIMS,
  GRANT_LEVELS,
  handle,
  html,
  formatDate,
  formatTime,
  languageSwitch,
  notice,
  pageErrorHandler,
  parseInput,
  raw,
  renderPage,
  sameOriginPost,
  sha256Hex,
  pageWords,
  type DocumentStore,
  type Lang,
  type Translate,
  type SafeHtml,
} from "@realname/agent";
import type { LoginChallenge, RequestResult, Session, VerifierCore } from "./core.js";

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
  /** The shop's logo (an https or same-origin URL); absent: a monogram of its name. */
  logoUrl?: string;
  /** What is being bought, shown beside the request (the demo shows an example order). */
  order?: { items: Array<{ name: string; price: string }>; total: string };
}

/** The demo's example order: what a customer at a small shop would be checking out. */
export const EXAMPLE_ORDER: NonNullable<CheckoutConfig["order"]> = {
  items: [
    { name: "Cabernet 750 ml × 1", price: "¥168.00" },
    { name: "《三体》× 1", price: "¥59.00" },
  ],
  total: "¥227.00",
};

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
  publicUrl: () => string;
  log?: (line: string) => void;
  /** The verifier's core: the checkout opens requests and reads results through it, like the API does. */
  core: VerifierCore;
  /** The request sessions: the checkout records a cancel on them. */
  sessions: DocumentStore<Session>;
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
  const now = () => Math.floor(deps.core.clock().getTime() / 1000);
  /** Renders a page in the reader's language, with the shop's name and logo and a switch to the other language. */
  const send = (req: Request, res: Response, title: (t: Translate) => string, main: (t: Translate, lang: Lang) => SafeHtml, status = 200): void => {
    const { lang, t } = pageWords(req, res);
    res.status(status).type("html").send(renderPage({ title: title(t), brand, lang, nav: [{ href: "/checkout", label: t("checkout.nav") }], headerEnd: html`${merchantMark(brand, deps.checkout.logoUrl)}${languageSwitch(req, lang)}`, main: main(t, lang) }));
  };
  const walletLink = (path: string, query: string) => (deps.checkout.walletUrl ? `${deps.checkout.walletUrl.replace(/\/$/, "")}${path}?${query}` : undefined);
  const levelWords = (t: Translate, level: CheckoutOffer["level"]) => ({ name: t(`checkout.levels.${level}.name`), explains: t(`checkout.levels.${level}.explains`) });
  const offerTitle = (t: Translate, o: CheckoutOffer) => t(`checkout.offers.${o.id}`, { defaultValue: o.title });
  const orderView = (t: Translate): SafeHtml => {
    const order = deps.checkout.order;
    if (!order) return html``;
    return html`<section class="card order" aria-labelledby="order-h"><h2 id="order-h">${t("checkout.order")}</h2>
<dl class="facts">${order.items.map((i) => html`<dt>${i.name}</dt><dd>${i.price}</dd>`)}<dt><strong>${t("checkout.orderTotal")}</strong></dt><dd><strong>${order.total}</strong></dd></dl></section>`;
  };

  router.get("/", (req, res) => {
    const offers = deps.checkout.offers;
    send(req, res, (t) => t("checkout.title"), (t) => html`<h1>${t("checkout.heading", { shop: brand })}</h1>
${orderView(t)}
<p>${t("checkout.intro")}</p>
<form method="post" action="/checkout">
<fieldset><legend>${t("checkout.whatToDo")}</legend>
${offers.map((o, i) => {
      const l = levelWords(t, o.level);
      return html`<div class="option"><label class="check"><input type="radio" name="offer" value="${o.id}"${i === 0 ? raw(" checked") : ""} required>
<span><strong>${offerTitle(t, o)}</strong><br><span class="muted">${t("checkout.weAskFor", { level: l.name, explains: l.explains })}${o.level === "full" ? ` (${o.claims.map((c) => t(`claims.${c}`, { defaultValue: claimLabel(c) })).join(", ")})` : o.ageOver18 ? t("checkout.andOver18") : ""}. ${o.retentionDays === 0 ? t("checkout.keptNothing") : t("checkout.keptDays", { count: o.retentionDays })}</span></span></label></div>`;
    })}
</fieldset>
<button type="submit">${t("checkout.askWallet")}</button>
</form>
${offers.some((o) => o.level === "pseudonymous") ? html`<form method="post" action="/checkout/login" class="card"><h2>${t("checkout.memberQuestion")}</h2><p>${t("checkout.memberExplain")}</p><button type="submit" class="secondary">${t("checkout.memberLogin")}</button></form>` : ""}`);
  });

  router.post("/", handle(async (req, res) => {
    const { offer: offerId } = parseInput(z.object({ offer: z.string().max(40) }), req.body);
    const offer = deps.checkout.offers.find((o) => o.id === offerId);
    if (!offer) throw new AgentError("ERR_INVALID_INPUT", "no such offer");
    const created = await deps.core.openRequest({ level: offer.level, purpose: offer.purpose, retentionDays: offer.retentionDays, claims: offer.claims, ageOver18: offer.ageOver18, acceptLevels: [], optionalClaims: [] }, { fromCheckout: true });
    res.cookie(cookieName("request", created.requestId), created.transactionSecret, { httpOnly: true, sameSite: "strict", path: `/checkout/${created.requestId}` });
    res.redirect(303, `/checkout/${created.requestId}`);
  }));

  /**
   * The session of this page. The browser the wallet sent back after answering (the redirect's one-time
   * response code, OpenID4VP same-device flow) sees what was shared, once; the browser that opened the
   * checkout (its cookie) sees the status and level only: it may not be the browser of the person who answered.
   */
  const ownSession = async (req: Request, options: { byCode: boolean }): Promise<{ session: Session; withValues: boolean }> => {
    const session = await deps.core.loadSession(req.params.id as string);
    const code = req.query.response_code;
    if (options.byCode && code !== undefined) {
      if (typeof code !== "string" || !(await deps.core.redeemResponseCode(session, code))) throw new AgentError("ERR_RESPONSE_CODE_INVALID", "this link was already used or has expired");
      return { session, withValues: true };
    }
    const secret = readCookie(req, cookieName("request", session.requestId));
    if (!secret || sha256Hex(secret) !== session.transactionSecretHash) throw new AgentError("ERR_FORBIDDEN", "this checkout belongs to another browser");
    return { session, withValues: false };
  };
  /** What the page shows: pending, scanned (a wallet fetched the request), accepted, declined, cancelled or expired. */
  const stateOf = async (session: Session, withValues = false) => {
    const result = await deps.core.resultOf(session, { withValues });
    const pending = result.status === "pending";
    const status = pending && session.cancelledAt ? "cancelled" : pending && session.request.exp <= now() ? "expired" : pending && session.fetchedAt ? "scanned" : result.status;
    return { result, status };
  };
  /** The offer a session was opened for (to make a new request like it after an expiry). */
  const offerOf = (session: Session) => deps.checkout.offers.find((o) => o.level === session.request.level && o.purpose === session.request.purpose);
  const againForm = (t: Translate, session: Session) => {
    const offer = offerOf(session);
    return offer
      ? html`<form method="post" action="/checkout"><input type="hidden" name="offer" value="${offer.id}"><button type="submit">${t("checkout.newRequest")}</button></form><p><a href="/checkout">${t("checkout.startAgain")}</a></p>`
      : html`<p><a class="button" href="/checkout">${t("checkout.startAgain")}</a></p>`;
  };

  router.get("/login/:id", handle(async (req, res) => {
    const c = await ownChallenge(req);
    if (c.status === "logged-in") {
      const account = await deps.accounts.get(c.pseudonym!);
      return send(req, res, (t) => t("checkout.loginWelcome"), (t) => html`<h1>${t("checkout.loginWelcome")}</h1>${notice("ok", t("checkout.loginSignedIn", { visit: account ? t("checkout.loginVisit", { visits: account.visits, since: formatDate(account.openedAt) }) : "" }))}<p><a href="/checkout">${t("checkout.startAgain")}</a></p>`);
    }
    if (c.expiresAt <= now()) return send(req, res, (t) => t("checkout.expiredTitle"), (t) => html`<h1>${t("checkout.loginExpired")}</h1><form method="post" action="/checkout/login"><button type="submit">${t("checkout.newRequest")}</button></form>`);
    const uri = `${deps.publicUrl()}/login/challenges/${c.challengeId}`;
    const qr = await QRCode.toDataURL(uri, { errorCorrectionLevel: "M", margin: 2, scale: 5 });
    const open = walletLink("/login", `challenge=${encodeURIComponent(uri)}`);
    send(req, res, (t) => t("checkout.loginTitle"), (t) => html`<h1>${t("checkout.loginTitle")}</h1>
<div class="row"><div><img class="qr" src="${qr}" alt="${t("checkout.loginQrAlt")}"></div>
<div><p>${t("checkout.loginScan")}</p>
<p><code id="login-link">${uri}</code></p><button type="button" class="secondary" data-copy="#login-link" data-copied="${t("checkout.copied")}" hidden>${t("checkout.copy")}</button>
${open ? html`<p><a class="button" href="${open}" target="_blank" rel="noopener">${t("checkout.openWebWallet")}</a></p>` : ""}</div></div>
<p data-poll="/checkout/login/${c.challengeId}/status" data-poll-while="pending" data-poll-max-ms="${Math.max(0, c.expiresAt - now()) * 1000 + 2000}" aria-live="polite">${t("checkout.stateWaiting")} <a href="/checkout/login/${c.challengeId}">${t("checkout.checkAgain")}</a></p>`);
  }));

  router.get("/login/:id/status", handle(async (req, res) => {
    const c = await ownChallenge(req);
    res.json({ status: c.status === "logged-in" ? "logged-in" : c.expiresAt <= now() ? "expired" : "pending" });
  }));

  router.post("/login", handle(async (_req, res) => {
    const secret = randomBytes(16).toString("base64url");
    const c = await deps.core.openChallenge(sha256Hex(secret));
    res.cookie(cookieName("login", c.challengeId), secret, { httpOnly: true, sameSite: "strict", path: `/checkout/login/${c.challengeId}` });
    res.redirect(303, `/checkout/login/${c.challengeId}`);
  }));

  router.get("/:id", handle(async (req, res) => {
    const { session, withValues } = await ownSession(req, { byCode: true });
    const { result, status } = await stateOf(session, withValues);
    const r = session.request;
    if (result.status === "accepted") return send(req, res, (t) => t("checkout.receivedTitle"), (t) => ("claims" in result ? receivedView(t, brand, result) : answeredView(t, brand, result.level)));
    if (status === "declined") return send(req, res, (t) => t("checkout.declinedTitle"), (t) => html`<h1 data-state="declined">${t("checkout.declinedHeading")}</h1><p>${t("checkout.declinedBody")}</p>${againForm(t, session)}`);
    if (status === "cancelled") return send(req, res, (t) => t("checkout.cancelledTitle"), (t) => html`<h1 data-state="cancelled">${t("checkout.cancelledHeading")}</h1><p>${t("checkout.cancelledBody")}</p>${againForm(t, session)}`);
    if (status === "expired") return send(req, res, (t) => t("checkout.expiredTitle"), (t) => html`<h1 data-state="expired">${t("checkout.expiredHeading")}</h1><p>${t("checkout.expiredBody")}</p>${againForm(t, session)}`);
    const qr = await QRCode.toDataURL(session.authorizationRequest, { errorCorrectionLevel: "M", margin: 2, scale: 5 });
    const web = walletLink("/authorize", new URL(session.authorizationRequest.replace(/^openid4vp:\/\/\?/, "https://x/?")).searchParams.toString());
    const left = Math.max(0, r.exp - now());
    send(req, res, (t) => t("checkout.waitingTitle"), (t) => {
      const l = levelWords(t, r.level);
      return html`<h1>${t("checkout.answerHeading")}</h1>
<p>${t("checkout.asking", { level: l.name, explains: l.explains, purpose: r.purpose })}</p>
<div class="answer-ways">
<section class="way-open card"><p><a class="button" id="open-wallet" href="${session.authorizationRequest}">${t("checkout.openWallet")}</a></p><p class="muted">${t("checkout.openWalletExplain")}</p>
${web ? html`<p><a class="button secondary" href="${web}" target="_blank" rel="noopener">${t("checkout.openWebWallet")}</a></p>` : ""}</section>
<section class="way-qr card"><p>${t("checkout.scanExplain")}</p><img class="qr" src="${qr}" alt="${t("checkout.qrAlt")}">
<details><summary>${t("checkout.orPaste")}</summary><p><code id="request-link">${session.authorizationRequest}</code></p><button type="button" class="secondary" data-copy="#request-link" data-copied="${t("checkout.copied")}" hidden>${t("checkout.copy")}</button></details></section>
</div>
<p class="countdown" data-countdown="${left}" data-template="${t("checkout.validFor", { left: "{left}", until: formatTime(r.exp * 1000).slice(11) })}">${t("checkout.validFor", { left: clockWords(left), until: formatTime(r.exp * 1000).slice(11) })}</p>
<p id="checkout-state" data-state="${status}" data-poll="/checkout/${session.requestId}/status" data-poll-while="pending,scanned" data-poll-max-ms="${left * 1000 + 2000}" data-scanned-text="${t("checkout.stateScanned")}" aria-live="polite">${status === "scanned" ? t("checkout.stateScanned") : t("checkout.stateWaiting")} <a href="/checkout/${session.requestId}">${t("checkout.checkAgain")}</a></p>
<form method="post" action="/checkout/${session.requestId}/cancel"><button type="submit" class="secondary" id="cancel">${t("checkout.cancel")}</button></form>
${orderView(t)}`;
    });
  }));

  router.get("/:id/status", handle(async (req, res) => {
    const { session } = await ownSession(req, { byCode: false });
    const { status } = await stateOf(session);
    res.json({ status, expiresAt: session.request.exp });
  }));

  /** The customer gives up: the request is no longer served and no answer is taken for it. */
  router.post("/:id/cancel", handle(async (req, res) => {
    const { session } = await ownSession(req, { byCode: false });
    if (session.status === "pending" && !session.cancelledAt) await deps.sessions.put(session.requestId, { ...session, cancelledAt: deps.core.clock().toISOString() });
    res.redirect(303, `/checkout/${session.requestId}`);
  }));

  router.use(pageErrorHandler({
    brand,
    log: deps.log,
    back: (req) => ({ href: "/checkout", label: pageWords(req).t("checkout.startAgain") }),
    heading: (req) => {
      const { lang, t } = pageWords(req);
      return { title: t("checkout.notDone"), lang };
    },
    wording: (error, req) => {
      const { t } = pageWords(req);
      const key = `checkout.errors.${error.code}`;
      return t(key, { defaultValue: "" }) || undefined;
    },
  }));
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

/** "14:59" (minutes and seconds) for the countdown; the script keeps it current. */
function clockWords(seconds: number): string {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function receivedView(t: Translate, brand: string, result: Extract<RequestResult, { claims: Record<string, unknown> }>): SafeHtml {
  const account = result.account;
  return html`<h1 data-state="accepted">${account?.returning ? t("checkout.welcomeMember") : t("checkout.thanks")}</h1>
${notice("ok", t("checkout.answered", { level: t(`checkout.levels.${result.level}.name`) }))}
${account ? html`<p class="member">${account.returning ? t("checkout.memberVisit", { visits: account.visits, since: formatDate(account.openedAt), shop: brand }) : t("checkout.newMember", { shop: brand })}</p>` : ""}
${checkedList(t)}
${Object.keys(result.claims).length ? html`<h2>${t("checkout.receivedHeading", { shop: brand })}</h2>
<dl class="facts">${Object.entries(result.claims).map(([k, v]) => html`<dt>${t(`claims.${k}`, { defaultValue: claimLabel(k) })}</dt><dd>${v === true ? t("values.yes") : v === false ? t("values.no") : claimValue(v)}</dd>`)}</dl>` : ""}
${result.retention ? notice("info", t("checkout.retentionEnded")) : ""}
${result.withdrawn ? notice("info", t("checkout.withdrawnNote")) : ""}
<p><a href="/checkout">${t("checkout.startAgain")}</a></p>`;
}

/** What the verifier checked before accepting, in words. */
function checkedList(t: Translate): SafeHtml {
  return html`<h2>${t("checkout.checkedHeading")}</h2><ul class="checked">${["issuer", "status", "holder", "consent"].map((k) => html`<li>${t(`checkout.checks.${k}`)}</li>`)}</ul>`;
}

/** What the browser that opened the checkout sees after the answer: the level, never what was shared. */
function answeredView(t: Translate, brand: string, level: Extract<RequestResult, { status: "accepted" }>["level"]): SafeHtml {
  return html`<h1 data-state="accepted">${t("checkout.answeredHeading")}</h1>
${notice("ok", t("checkout.answered", { level: t(`checkout.levels.${level}.name`) }))}
${checkedList(t)}
<p>${t("checkout.answeredElsewhere", { shop: brand })}</p>
<p><a href="/checkout">${t("checkout.startAgain")}</a></p>`;
}
