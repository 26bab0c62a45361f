import type { Request, Response } from "express";
import cookieParser from "cookie-parser";
import QRCode from "qrcode";
import { z } from "zod";
import { AgentError } from "../../errors.js";
import { sha256Hex } from "../../encoding.js";
import { createServiceApp, handle, notFound, parseInput } from "../../http/service-kit.js";
import { html, type SafeHtml } from "../../web/html.js";
import { assets, notice, renderPage, type NavLink } from "../../web/layout.js";
import { languageSwitch, pageWords } from "../../web/lang.js";
import { formatDate, type Translate } from "../../i18n/index.js";
import { allowHosts, formBody, pageErrorHandler, sameOriginPost } from "../../web/security.js";
import { messageFor } from "../messages.js";
import { submitDecline } from "../../grants/openid4vp.js";
import { checkLoginChallenge, checkMerchantRequest, registeredMerchants, requestFromMerchant, type CheckedLogin, type CheckedRequest } from "../request-check.js";
import type { HolderWallet } from "../wallet.js";
import { PinnedReviews } from "./pinned.js";
import { nearbyRouter } from "./nearby.js";
import { WalletSessions, type UnlockedSession } from "./session.js";
import { tracePage } from "./trace-view.js";
import { GRANT_LEVELS } from "../../sdjwt/identity-credential.js";
import { wrongPinWords, choicesPage, consentPage, merchantsPage, grantedPage, grantsPage, homePage, isSettled, loginPage, openLinkForm, reviewLoginPage, reviewRequestPage, unlockForm, withdrawConfirmPage } from "./views.js";
import { mountRegistration, REGISTER_SUBMIT_PATH, type WebRegistrationConfig } from "./register.js";

export interface WalletWebDeps {
  /** The wallet folder (the same one the `wallet` command line uses). */
  dir: string;
  /** Host headers this server answers to (its loopback address and port); anything else is refused. */
  allowedHosts: () => readonly string[];
  /** Chain endpoint for evidence bundles (where the receipts' roots are read). */
  rpcUrl: string;
  /** The wallet locks itself after this long without use (default 5 minutes). */
  idleLockMs?: number;
  clock?: () => Date;
  log?: (line: string) => void;
  /** Opens the wallet (injectable for tests; by default `HolderWallet.open`). */
  openWallet?: (dir: string, pin: string, clock: () => Date) => Promise<HolderWallet>;
  /** In-person payments (seed 003): the payment platform this wallet's /nearby page reports to; absent: no page. */
  payments?: { platformUrl: () => string };
  /** Registration on the page (`/register`); absent: the person registers with `wallet register`. */
  registration?: WebRegistrationConfig;
}

const SESSION_COOKIE = "wallet_session";
/** A link may carry the signed request object itself (`request=`), a few kilobytes with its encryption key. */
const linkSchema = z.string().trim().min(1).max(16_000);
const pinSchema = z.string().min(1).max(64);
const grantIdSchema = z.string().regex(/^[0-9a-f-]{36}$/);
/** How long a reviewed request or login stays answerable, and how many are kept at once. */
const PIN_TTL_MS = 10 * 60_000;
const PIN_MAX = 32;
/** The consent form: the reviewed request's hash, the PIN, and the person's choice within what the merchant accepts. */
const choiceFormSchema = z.object({
  request: z.string().max(200).optional(),
  pin: pinSchema.optional(),
  remember: z.literal("1").optional(),
  one_tap: z.literal("1").optional(),
  choice: z.literal("1").optional(),
  level: z.enum(GRANT_LEVELS).optional(),
  share_claim: z.union([z.string().max(64), z.array(z.string().max(64)).max(16)]).optional(),
  csrf: z.string().max(100).optional(),
});
/** A reviewed request, with the link it came from (to show it again after an unlock or a wrong PIN). */
type PinnedRequest = CheckedRequest & { link: string };

/**
 * The person's wallet as web pages, served on loopback by the person's own machine: credentials, a
 * merchant's request with exactly what would be disclosed, the PIN, remembered choices, the grants with
 * their anchoring state, withdrawal and evidence export. Everything goes through `HolderWallet`, the same
 * object the command line uses.
 */
export function createWalletWebApp(deps: WalletWebDeps) {
  const clock = deps.clock ?? (() => new Date());
  const sessions = new WalletSessions(deps.dir, { idleMs: deps.idleLockMs ?? 5 * 60_000, clock, open: deps.openWallet });
  const app = createServiceApp({ log: deps.log, rateLimit: { max: 600, windowMs: 60_000 }, ownJsonBody: deps.registration ? [REGISTER_SUBMIT_PATH] : [] });
  app.use(allowHosts(deps.allowedHosts));
  app.use("/assets", assets());
  app.use(cookieParser());
  app.use(formBody);
  app.use(sameOriginPost);
  app.use((_req, res, next) => {
    res.set("cache-control", "no-store");
    next();
  });

  // What the person reviewed, kept here until they decide: the answer is built from it, never fetched again.
  const pinnedRequests = new PinnedReviews<PinnedRequest>({ max: PIN_MAX, ttlMs: PIN_TTL_MS, clock });
  const pinnedLogins = new PinnedReviews<CheckedLogin>({ max: PIN_MAX, ttlMs: PIN_TTL_MS, clock });
  const changed = () => new AgentError("ERR_REQUEST_CHANGED", messageFor("ERR_REQUEST_CHANGED", "the request changed; review it again"));

  const sessionOf = (req: Request) => sessions.find(req.cookies?.[SESSION_COOKIE]);
  const nav = (t: Translate, path: string, unlocked: boolean): NavLink[] =>
    unlocked
      ? [
          { href: "/", label: t("wallet.nav.wallet"), current: path === "/" },
          { href: "/grants", label: t("wallet.nav.grants"), current: path === "/grants" },
          { href: "/choices", label: t("wallet.nav.choices"), current: path === "/choices" },
          { href: "/merchants", label: t("wallet.nav.merchants"), current: path === "/merchants" },
          { href: "/trace", label: t("wallet.nav.trace"), current: path === "/trace" },
        ]
      : [];
  const lockButton = (t: Translate, s?: UnlockedSession): SafeHtml | undefined =>
    s ? html`<form method="post" action="/lock"><input type="hidden" name="csrf" value="${s.csrf}"><button type="submit" class="secondary">${t("wallet.lock")}</button></form>` : undefined;
  /** The page's words: Chinese unless the reader asked for English (?lang=, the cookie, Accept-Language). */
  const wordsFor = (req: Request, res?: Response): Translate => pageWords(req, res).t;
  const send = (req: Request, res: Response, title: string, main: SafeHtml, status = 200) => {
    const s = sessionOf(req);
    const { lang, t } = pageWords(req, res);
    res.status(status).type("html").send(renderPage({ title, brand: t("wallet.brand"), lang, nav: nav(t, req.path, !!s), headerEnd: html`${languageSwitch(req, lang)}${lockButton(t, s) ?? ""}`, main }));
  };
  const startSession = (res: Response, s: UnlockedSession) => res.cookie(SESSION_COOKIE, s.id, { httpOnly: true, sameSite: "strict", path: "/" });
  /** The unlocked session, or the unlock form (and `undefined`) for a locked wallet. */
  const requireUnlocked = (req: Request, res: Response): UnlockedSession | undefined => {
    const s = sessionOf(req);
    const t = wordsFor(req, res);
    if (!s) send(req, res, t("wallet.titles.unlock"), html`<h1>${t("wallet.lockedHeading")}</h1>${unlockForm(t, req.originalUrl)}`, 401);
    return s;
  };
  /** A post from an unlocked session must carry its token. */
  const requirePostSession = (req: Request): UnlockedSession => {
    const s = sessionOf(req);
    if (!s) throw new AgentError("ERR_SESSION_EXPIRED", "the wallet is locked");
    if (!sessions.checkCsrf(s, (req.body as Record<string, unknown>)?.csrf)) throw new AgentError("ERR_FORBIDDEN_ORIGIN", "the form's token does not belong to this session");
    return s;
  };
  /** For a consent or login: the PIN either confirms the open wallet or unlocks it. */
  const confirmWithPin = async (req: Request, res: Response, pin: string | undefined): Promise<UnlockedSession> => {
    const open = sessionOf(req);
    if (open) {
      if (!sessions.checkCsrf(open, (req.body as Record<string, unknown>)?.csrf)) throw new AgentError("ERR_FORBIDDEN_ORIGIN", "the form's token does not belong to this session");
      if (pin !== undefined) await open.wallet.checkPin(parseInput(pinSchema, pin));
      return open;
    }
    const s = await sessions.unlock(parseInput(pinSchema, pin));
    startSession(res, s);
    return s;
  };

  app.get("/", handle(async (req, res) => {
    const s = sessionOf(req);
    const t = wordsFor(req, res);
    if (!s) return send(req, res, t("wallet.titles.wallet"), html`<h1>${t("wallet.home.heading")}</h1>${openLinkForm(t)}${unlockForm(t, "/")}`);
    const [credentials, settings] = await sessions.use(s, async (w) => [await w.credentials(), await w.getSettings()] as const);
    send(req, res, t("wallet.titles.wallet"), homePage(t, { credentials, issuerUrl: settings.issuerUrl, csrf: s.csrf, canRegister: !!deps.registration }));
  }));

  app.post("/unlock", handle(async (req, res) => {
    const body = parseInput(z.object({ pin: pinSchema, next: z.string().max(4000).optional() }), req.body);
    const s = await sessions.unlock(body.pin);
    startSession(res, s);
    // Only a local path: never an open redirect.
    const next = body.next && /^\/(?!\/)[^\s\\]*$/.test(body.next) ? body.next : "/";
    res.redirect(303, next);
  }));

  app.post("/lock", handle(async (req, res) => {
    if (sessionOf(req)) await sessions.lock();
    res.clearCookie(SESSION_COOKIE, { path: "/" });
    res.redirect(303, "/");
  }));

  /**
   * The merchant's request, fetched once and checked (signature, expiry, the issuer's registry: name,
   * level, purpose, claims, origins), pinned under its hash, and shown. Only ever from a same-origin post.
   */
  const reviewRequest = async (req: Request, res: Response, link: string): Promise<void> => {
    const settings = await sessions.settings();
    if (!settings.issuerUrl || !settings.issuerDid) {
      // Seed 000, claim 3: no dead end; register here, then straight back to this request.
      if (registration) return registration.deferToRegistration(req, res, link);
      throw new AgentError("ERR_NO_CREDENTIAL", "register first");
    }
    const checked = await checkMerchantRequest({ requestUri: link, issuerUrl: settings.issuerUrl, issuerDid: settings.issuerDid, now: clock(), x509TrustAnchors: settings.platformCa ?? [] });
    pinnedRequests.pin(checked.requestHash, { ...checked, link }, new Date(checked.request.exp * 1000));
    await showConsent(req, res, { ...checked, link });
  };
  /** The consent page for a pinned request: the review (values, choices) when unlocked, else names and an unlock. */
  const showConsent = async (req: Request, res: Response, checked: PinnedRequest, flash?: SafeHtml, status = 200, session?: UnlockedSession) => {
    const s = session ?? sessionOf(req);
    const preview = s ? await sessions.use(s, (w) => w.preview(checked)) : undefined;
    const r = preview?.remembered;
    const defaults = r ? { level: r.level, without: r.without ?? [], oneTap: r.oneTap } : undefined;
    // A request carried by value may be longer than a QR code holds: then the page shows the link alone.
    const qrSvg = await QRCode.toString(checked.link, { type: "svg", errorCorrectionLevel: "M", margin: 2 }).catch(() => "");
    const t = wordsFor(req, res);
    send(req, res, t("wallet.titles.request", { merchant: checked.merchant.name }), consentPage(t, { checked, preview, link: checked.link, qrSvg, unlocked: !!s, csrf: s?.csrf, flash, defaults }), status);
  };
  /** A wrong PIN on the consent page: the request stays open, and the page says how many tries remain. */
  const wrongPin = (req: Request, error: unknown): SafeHtml | undefined => {
    if (!(error instanceof AgentError) || error.code !== "ERR_WRONG_PASSPHRASE") return undefined;
    const left = (error.details as { triesLeft?: number } | undefined)?.triesLeft;
    return notice("warn", html`<span data-error-code="ERR_WRONG_PASSPHRASE" data-tries-left="${String(left ?? "")}">${wrongPinWords(wordsFor(req), left)}</span>`);
  };
  const registration = deps.registration ? mountRegistration(app, { config: deps.registration, sessions, clock, send, requireUnlocked, requirePostSession, reviewRequest }) : undefined;

  /** A login challenge, fetched once and checked (the registry's merchant, its registered origins), pinned, and shown. */
  const reviewLogin = async (req: Request, res: Response, challengeUri: string) => {
    const settings = await sessions.settings();
    if (!settings.issuerUrl || !settings.issuerDid) throw new AgentError("ERR_NO_CREDENTIAL", "register first");
    const checked = await checkLoginChallenge({ challengeUri, issuerUrl: settings.issuerUrl, issuerDid: settings.issuerDid, now: clock() });
    const key = sha256Hex(JSON.stringify([checked.challengeUri, checked.nonce, checked.responseUri, checked.merchant.did]));
    pinnedLogins.pin(key, checked);
    const s = sessionOf(req);
    const t = wordsFor(req, res);
    send(req, res, t("wallet.titles.login", { merchant: checked.merchant.name }), loginPage(t, { merchantName: checked.merchant.name, origin: new URL(checked.challengeUri).origin, login: key, unlocked: !!s, csrf: s?.csrf }));
  };

  /** The pasted link: a merchant's request, or a member login link. A GET only redirects (nothing is fetched). */
  app.get("/open", handle(async (req, res) => {
    const link = parseInput(linkSchema, req.query.link);
    const target = classifyLink(link);
    res.redirect(303, target.kind === "request" ? `/authorize?${target.query}` : `/login?challenge=${encodeURIComponent(target.challenge)}`);
  }));
  /** The front page's form: a same-origin post, so the link is reviewed straight away. */
  app.post("/open", handle(async (req, res) => {
    const body = parseInput(z.object({ link: linkSchema, csrf: z.string().max(100).optional() }), req.body);
    const target = classifyLink(body.link);
    if (target.kind === "request") await reviewRequest(req, res, requestLinkFrom(Object.fromEntries(new URLSearchParams(target.query))));
    else await reviewLogin(req, res, target.challenge);
  }));

  /**
   * The wallet's OpenID4VP authorization endpoint (what a merchant's "open in your wallet" link points at).
   * Any page can send a browser here, so this fetches nothing: it shows the link and a button; the request
   * is fetched only when the person asks for it on this page (a same-origin post).
   */
  app.get("/authorize", handle(async (req, res) => {
    const link = requestLinkFrom(req.query);
    const s = sessionOf(req);
    // By value the link names no address: the page names the client identifier it claims (checked on review).
    const t = wordsFor(req, res);
    send(req, res, t("wallet.titles.review"), reviewRequestPage(t, { link, requestUri: typeof req.query.request_uri === "string" ? req.query.request_uri : String(req.query.client_id), csrf: s?.csrf }));
  }));

  app.post("/authorize/review", handle(async (req, res) => {
    const body = parseInput(z.object({ link: linkSchema, csrf: z.string().max(100).optional() }), req.body);
    const target = classifyLink(body.link);
    if (target.kind !== "request") throw new AgentError("ERR_LINK_UNRECOGNISED", "not a request link");
    await reviewRequest(req, res, requestLinkFrom(Object.fromEntries(new URLSearchParams(target.query))));
  }));

  /** Start a grant yourself (seed 000, user-initiated): the registered merchants, from the issuer's signed registry. */
  app.get("/merchants", handle(async (req, res) => {
    const s = requireUnlocked(req, res);
    if (!s) return;
    const settings = await sessions.settings();
    if (!settings.issuerUrl || !settings.issuerDid) throw new AgentError("ERR_NO_CREDENTIAL", "register first");
    const merchants = await registeredMerchants({ issuerUrl: settings.issuerUrl, issuerDid: settings.issuerDid, now: clock() });
    const t = wordsFor(req, res);
    send(req, res, t("wallet.titles.start"), merchantsPage(t, { merchants, csrf: s.csrf }));
  }));
  /** The person's pick: the merchant is asked for a fresh request at that level, then it is reviewed like any other. */
  app.post("/merchants/start", handle(async (req, res) => {
    const body = parseInput(z.object({ merchant: z.string().startsWith("did:key:").max(300), level: z.enum(["verified", "pseudonymous"]), csrf: z.string().max(100).optional() }), req.body);
    requirePostSession(req);
    const settings = await sessions.settings();
    if (!settings.issuerUrl || !settings.issuerDid) throw new AgentError("ERR_NO_CREDENTIAL", "register first");
    const { link, checked } = await requestFromMerchant({ merchantDid: body.merchant, level: body.level, issuerUrl: settings.issuerUrl, issuerDid: settings.issuerDid, now: clock(), x509TrustAnchors: settings.platformCa ?? [] });
    pinnedRequests.pin(checked.requestHash, { ...checked, link }, new Date(checked.request.exp * 1000));
    await showConsent(req, res, { ...checked, link });
  }));

  /** The locked consent page's PIN: unlocks the wallet for the review (values, choices); it shares nothing. */
  app.post("/authorize/unlock", handle(async (req, res) => {
    const body = parseInput(z.object({ request: z.string().max(200), pin: pinSchema, csrf: z.string().max(100).optional() }), req.body);
    const checked = pinnedRequests.get(body.request);
    if (!checked || checked.requestHash !== body.request) throw changed();
    let s: UnlockedSession;
    try {
      s = await sessions.unlock(body.pin);
    } catch (error) {
      const flash = wrongPin(req, error);
      if (!flash) throw error;
      return showConsent(req, res, checked, flash, 401);
    }
    startSession(res, s);
    await showConsent(req, res, checked, undefined, 200, s);
  }));

  /** Answers exactly the pinned request the form names (its hash); an unknown, expired or changed one is a new consent. */
  app.post("/authorize", handle(async (req, res) => {
    const body = parseInput(choiceFormSchema, req.body);
    const checked = body.request ? pinnedRequests.get(body.request) : undefined;
    if (!checked || checked.requestHash !== body.request) throw changed();
    // The person's choice from the form (level, optional claims kept); without the form's controls: the default.
    const shared = body.share_claim === undefined ? [] : ([] as string[]).concat(body.share_claim);
    const choice = body.choice === "1" ? { level: body.level ?? checked.request.level, without: (checked.request.optional_claims ?? []).filter((c) => !shared.includes(c)) } : undefined;
    // One tap (no PIN) only for a `verified` answer where the person turned it on; everything else needs the PIN.
    let s: UnlockedSession;
    try {
      s = sessionOf(req) && body.pin === undefined ? requirePostSession(req) : await confirmWithPin(req, res, body.pin ?? "");
    } catch (error) {
      const flash = wrongPin(req, error);
      if (!flash) throw error;
      return showConsent(req, res, checked, flash, 401);
    }
    const { grant, automatic, left } = await sessions.use(s, async (w) => {
      const preview = await w.preview(checked);
      const level = choice?.level ?? preview.remembered?.level ?? checked.request.level;
      const oneTap = preview.automatic && level === "verified";
      if (body.pin === undefined && !oneTap) throw new AgentError("ERR_PIN_REQUIRED", "enter your PIN to share");
      // Answered once, whatever the merchant says: of two posts of the same form, only the first answers.
      if (!pinnedRequests.take(checked.requestHash)) throw changed();
      const grant = await w.answer(preview, { remember: body.remember === "1", oneTap: body.one_tap === "1" && level === "verified", requestHash: body.request, ...(choice ? { choice } : {}) });
      return { grant, automatic: body.pin === undefined, left: await w.credentialsLeft() };
    });
    const t = wordsFor(req, res);
    send(req, res, t("wallet.titles.shared", { merchant: grant.merchant.name }), grantedPage(t, { grant, automatic, credentialsLeft: left, csrf: s.csrf }));
  }));

  /** The person says no: the merchant is told the standard way (`error=access_denied` with its state), nothing else leaves. */
  app.post("/authorize/decline", handle(async (req, res) => {
    const body = parseInput(z.object({ request: z.string().max(200).optional(), csrf: z.string().max(100).optional() }), req.body ?? {});
    const checked = body.request ? pinnedRequests.take(body.request) : undefined;
    if (checked) await submitDecline({ payload: checked.payload }).catch(() => undefined); // a merchant out of reach just is not told
    send(req, res, "Declined", html`<h1>Declined</h1>${notice("info", messageFor("ERR_DECLINED", "you declined"))}<p><a href="/">Back to your wallet</a></p>`);
  }));

  app.get("/grants", handle(async (req, res) => {
    const s = requireUnlocked(req, res);
    if (!s) return;
    const unreachable = new Set<string>();
    const refresh = browsedHere(req);
    const grants = await sessions.use(s, async (w) => {
      const all = await w.grants();
      // Another site sending the browser here makes the wallet contact nobody: the page shows what is stored.
      if (!refresh) return all;
      // Ask the merchants for the latest inclusion proofs of what is not settled yet (briefly; never blocks the page long).
      return Promise.all(all.map((g) => (isSettled(g) ? g : withTimeout(w.refreshAnchors(g.grantId), 3000).catch(() => (unreachable.add(g.grantId), g)))));
    });
    const t = wordsFor(req, res);
    const flash = typeof req.query.withdrawn === "string" ? notice("ok", t("wallet.grants.withdrawnFlash")) : undefined;
    send(req, res, t("wallet.titles.grants"), grantsPage(t, { grants, flash, unreachable }));
  }));

  /** For the page's script: are receipts still waiting for the chain? */
  app.get("/grants/status", handle(async (req, res) => {
    const s = sessionOf(req);
    if (!s) {
      res.json({ status: "locked" });
      return;
    }
    const refresh = browsedHere(req);
    const still = await sessions.use(s, async (w) => {
      const open = (await w.grants()).filter((g) => !isSettled(g));
      if (!refresh) return open.length;
      const refreshed = await Promise.all(open.map((g) => withTimeout(w.refreshAnchors(g.grantId), 3000).catch(() => g)));
      return refreshed.filter((g) => !isSettled(g)).length;
    });
    res.json({ status: still ? "pending" : "settled", pending: still });
  }));

  app.get("/grants/:id/withdraw", handle(async (req, res) => {
    const s = requireUnlocked(req, res);
    if (!s) return;
    const id = parseInput(grantIdSchema, req.params.id);
    const [grant, remembered] = await sessions.use(s, async (w) => [(await w.grants()).find((g) => g.grantId === id), await w.rememberedChoices()] as const);
    if (!grant) throw new AgentError("ERR_GRANT_NOT_FOUND", "no such grant");
    if (grant.withdrawal) throw new AgentError("ERR_CONFLICT", "already withdrawn");
    const t = wordsFor(req, res);
    send(req, res, t("wallet.titles.withdraw"), withdrawConfirmPage(t, grant, s.csrf, remembered.some((p) => p.merchantDid === grant.merchant.did)));
  }));

  /** Withdraws; with `forget=1` (the person ticked it) the remembered choice at that merchant goes too. */
  app.post("/grants/:id/withdraw", handle(async (req, res) => {
    const s = requirePostSession(req);
    const id = parseInput(grantIdSchema, req.params.id);
    const forget = parseInput(z.object({ forget: z.literal("1").optional() }).passthrough(), req.body ?? {}).forget === "1";
    await sessions.use(s, async (w) => {
      const g = await w.withdraw(id);
      if (forget) await w.forget(g.merchant.did);
    });
    res.redirect(303, `/grants?withdrawn=${id}`);
  }));

  /** The evidence bundle of a grant, for a notary: built from the merchant's proofs and the chain. */
  app.get("/grants/:id/evidence", handle(async (req, res) => {
    const s = sessionOf(req);
    if (!s) throw new AgentError("ERR_SESSION_EXPIRED", "the wallet is locked");
    // Building a bundle contacts the merchant and the chain: only for the wallet's own pages.
    if (!browsedHere(req)) throw new AgentError("ERR_FORBIDDEN_ORIGIN", "evidence is downloaded from the wallet's own page");
    const id = parseInput(grantIdSchema, req.params.id);
    const bundle = await sessions.use(s, (w) => w.evidence(id, { rpcUrl: deps.rpcUrl, includePresentation: req.query.presentation === "1" }));
    res.set("content-disposition", `attachment; filename="evidence-${id}.json"`).type("application/json").send(JSON.stringify(bundle, null, 2));
  }));

  /** The person's trace at the platform, and who obtained it; fetched only when browsed from the wallet's own pages. */
  app.get("/trace", handle(async (req, res) => {
    const s = requireUnlocked(req, res);
    if (!s) return;
    const t = wordsFor(req, res);
    if (!browsedHere(req)) return send(req, res, t("wallet.titles.trace"), tracePage(t, { fetched: false }));
    const result = await sessions.use(s, async (w) => {
      await withTimeout(w.reportPendingToPlatform(), 5000).catch(() => undefined);
      return w.platformTrace();
    }).then((trace) => ({ trace }), (error: AgentError) => ({ problem: `${messageFor(error.code ?? "ERR_UPSTREAM", "The platform could not be reached")} (${error.code ?? "ERR_UPSTREAM"})` }));
    send(req, res, t("wallet.titles.trace"), tracePage(t, { ...result, fetched: true }));
  }));

  app.get("/choices", handle(async (req, res) => {
    const s = requireUnlocked(req, res);
    if (!s) return;
    const choices = await sessions.use(s, (w) => w.rememberedChoices());
    const t = wordsFor(req, res);
    send(req, res, t("wallet.titles.choices"), choicesPage(t, { choices, csrf: s.csrf, flash: typeof req.query.forgot === "string" ? t("wallet.choices.forgotten") : undefined }));
  }));

  app.post("/choices/forget", handle(async (req, res) => {
    const s = requirePostSession(req);
    const body = parseInput(z.object({ merchantDid: z.string().startsWith("did:").max(300), level: z.enum(["verified", "pseudonymous", "full"]).optional(), csrf: z.string() }), req.body);
    await sessions.use(s, (w) => w.forget(body.merchantDid, body.level));
    res.redirect(303, "/choices?forgot=1");
  }));

  app.post("/credentials/refresh", handle(async (req, res) => {
    const s = requirePostSession(req);
    const r = await sessions.use(s, (w) => w.refreshBatch());
    const [credentials, settings] = await sessions.use(s, async (w) => [await w.credentials(), await w.getSettings()] as const);
    const t = wordsFor(req, res);
    send(req, res, t("wallet.titles.wallet"), homePage(t, { credentials, issuerUrl: settings.issuerUrl, csrf: s.csrf, refreshed: r.received }));
  }));

  /**
   * A member login link from a merchant where the person holds a pseudonymous account. Like /authorize, a
   * GET fetches nothing; the challenge is read and checked on the person's own post from this page.
   */
  app.get("/login", handle(async (req, res) => {
    const challenge = parseChallenge(req.query.challenge);
    const t = wordsFor(req, res);
    send(req, res, t("wallet.titles.reviewLogin"), reviewLoginPage(t, { challenge, csrf: sessionOf(req)?.csrf }));
  }));

  app.post("/login/review", handle(async (req, res) => {
    const body = parseInput(z.object({ challenge: z.string(), csrf: z.string().max(100).optional() }), req.body);
    await reviewLogin(req, res, parseChallenge(body.challenge));
  }));

  app.post("/login", handle(async (req, res) => {
    const body = parseInput(z.object({ login: z.string().max(200).optional(), pin: pinSchema.optional(), csrf: z.string().optional() }), req.body);
    const checked = body.login ? pinnedLogins.get(body.login) : undefined;
    if (!checked) throw changed();
    const s = sessionOf(req) ? requirePostSession(req) : await confirmWithPin(req, res, body.pin ?? "");
    if (!pinnedLogins.take(body.login!)) throw changed();
    const r = await sessions.use(s, (w) => w.login(checked));
    const account = r.account as { visits?: number; openedAt?: string };
    const t = wordsFor(req, res);
    send(req, res, t("wallet.titles.loggedIn"), html`<h1>${t("wallet.titles.loggedIn")}</h1>${notice("ok", t("wallet.login.done", { visits: account.visits ?? "?", since: account.openedAt ? formatDate(String(account.openedAt)) : "?" }))}<p>${t("wallet.granted.goBack")}</p>`);
  }));

  if (deps.payments) app.use("/nearby", nearbyRouter({ platformUrl: deps.payments.platformUrl }));
  app.use("/assets", notFound);
  app.use(notFound);
  app.use(pageErrorHandler({
    brand: (req) => wordsFor(req)("wallet.brand"),
    log: deps.log,
    back: (req) => ({ href: "/", label: wordsFor(req)("wallet.back") }),
    heading: (req) => {
      const { lang, t } = pageWords(req);
      return { title: t("checkout.notDone"), lang };
    },
    wording: (e, req) => {
      const { lang, t } = pageWords(req);
      return walletWords(e, t, lang);
    },
    chrome: (req) => {
      const { lang, t } = pageWords(req);
      return { nav: nav(t, req.path, !!sessionOf(req)), headerEnd: html`${languageSwitch(req, lang)}${lockButton(t, sessionOf(req)) ?? ""}` };
    },
  }));

  return Object.assign(app, { sessions, pinnedRequests, pinnedLogins });
}

/**
 * Whether a GET may make the wallet contact a merchant or the chain: only when the browser says the person
 * navigated here themselves or from the wallet's own page (Sec-Fetch-Site `none` or `same-origin`), never
 * when another site sent it (`cross-site`, or `same-site`: another port on loopback is the same site).
 * Clients that are not browsers send no such header and cannot be a cross-site page.
 */
function browsedHere(req: Request): boolean {
  const site = req.get("sec-fetch-site");
  return site === undefined || site === "same-origin" || site === "none";
}

/** The person's sentences for refusals, including the wallet-lock countdown. */
function walletWords(error: AgentError, t: Translate, lang: string): string | undefined {
  if (error.code === "ERR_WALLET_LOCKED" || (error.code === "ERR_WRONG_PASSPHRASE" && /locked/.test(error.message))) {
    const seconds = (error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
    const locked = seconds ? t("wallet.errors.lockedFor", { seconds }) : t("wallet.errors.locked");
    return `${error.code === "ERR_WRONG_PASSPHRASE" ? `${t("wallet.errors.wrongPin")} ` : ""}${locked}`;
  }
  // The wallet's own sentence for English readers; the catalogue's in the page's language otherwise.
  const known = (lang === "en" ? messageFor(error.code, "") : "") || t(`errors.${error.code}`, { defaultValue: "" }) || messageFor(error.code, "");
  if (known) return known;
  // A merchant's refusal of the answer: say what it means for the person.
  if (/^ERR_(SD_JWT|KB|VP|STATUS|RECEIPT|PAIRWISE)/.test(error.code) || error.code === "ERR_VERIFICATION_FAILED") return t("wallet.errors.merchantRefused");
  return undefined;
}

export type LinkTarget = { kind: "request"; query: string } | { kind: "login"; challenge: string };

/**
 * What a pasted link is: an OpenID4VP request (custom scheme or https, with the request object by reference,
 * `request_uri`, or by value, `request`: RFC 9101 §5), or a login challenge.
 */
export function classifyLink(text: string): LinkTarget {
  const link = text.trim();
  let url: URL;
  try {
    url = new URL(link.replace(/^([a-z0-9+.-]+):\/\/\?/i, "https://wallet.invalid/?"));
  } catch {
    throw new AgentError("ERR_LINK_UNRECOGNISED", "not a link");
  }
  const clientId = url.searchParams.get("client_id");
  const requestUri = url.searchParams.get("request_uri");
  const byValue = url.searchParams.get("request");
  // RFC 9101 §5: by reference or by value, never both.
  if (clientId && requestUri && byValue) throw new AgentError("ERR_REQUEST_MALFORMED", "the link carries both request and request_uri");
  if (clientId && requestUri) return { kind: "request", query: new URLSearchParams({ client_id: clientId, request_uri: requestUri }).toString() };
  if (clientId && byValue) return { kind: "request", query: new URLSearchParams({ client_id: clientId, request: byValue }).toString() };
  if (/^https?:$/.test(url.protocol) && /\/login\/challenges\/[0-9a-f-]{36}$/.test(url.pathname)) return { kind: "login", challenge: url.href };
  throw new AgentError("ERR_LINK_UNRECOGNISED", "neither a request nor a login link");
}

/** The request link from its parameters: by reference (`request_uri`) or by value (`request`, a compact JWS), exactly one. */
function requestLinkFrom(query: Request["query"]): string {
  const q = parseInput(
    z.object({ client_id: z.string().min(1).max(400), request_uri: z.string().url().max(2000).optional(), request: z.string().max(12_000).regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/).optional() })
      .passthrough()
      .refine((v) => (v.request_uri === undefined) !== (v.request === undefined), "a request link names request_uri or request, exactly one"),
    query,
  );
  return `openid4vp://?${new URLSearchParams({ client_id: q.client_id, ...(q.request_uri ? { request_uri: q.request_uri } : { request: q.request! }) })}`;
}

function parseChallenge(value: unknown): string {
  const link = parseInput(linkSchema, value);
  const target = classifyLink(link);
  if (target.kind !== "login") throw new AgentError("ERR_LINK_UNRECOGNISED", "not a login link");
  return target.challenge;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new AgentError("ERR_UPSTREAM", "timed out")), ms).unref())]);
}
