import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import { AgentError, httpStatusFor } from "../errors.js";
import { messageFor } from "../holder/messages.js";
import { html } from "./html.js";
import { renderPage, type PageOptions } from "./layout.js";

/**
 * Content-Security-Policy for the pages: our own scripts, styles and images only (QR codes may be data:
 * URLs), forms post only back to the same origin, no framing. No `upgrade-insecure-requests`: the demo
 * serves plain http on loopback, where the browser treats the origin as secure anyway.
 */
export const PAGE_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    imgSrc: ["'self'", "data:"],
    objectSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    connectSrc: ["'self'"],
  },
};

/** Form posts (urlencoded), small: a PIN, a link, a few choices. */
export const formBody = express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 });

/**
 * Cross-site request forgery guard for state-changing page posts: the browser's `Origin` (or, failing
 * that, `Referer`) must be this very origin. Together with SameSite=Strict cookies this keeps another
 * website from making the person's browser share, withdraw or log in.
 */
export const sameOriginPost: RequestHandler = (req, _res, next) => {
  if (req.method !== "POST") return next();
  const own = `${req.protocol}://${req.get("host")}`;
  const origin = req.get("origin") ?? (req.get("referer") ? safeOrigin(req.get("referer")!) : undefined);
  if (origin !== own) return next(new AgentError("ERR_FORBIDDEN_ORIGIN", "a page post must come from this origin"));
  next();
};

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * DNS-rebinding guard for a server that holds secrets on loopback (the wallet): only the names it was
 * started under are answered, so a hostile website whose name resolves to 127.0.0.1 gets nothing.
 */
export function allowHosts(hosts: () => readonly string[]): RequestHandler {
  return (req, _res, next) => {
    const host = (req.get("host") ?? "").toLowerCase();
    if (!hosts().includes(host)) return next(new AgentError("ERR_FORBIDDEN_HOST", `unexpected Host header ${host}`));
    next();
  };
}

/** What a person reads for a refusal: a sentence (from `messageFor`, else the caller's own words). */
export type Wording = (error: AgentError, req: Parameters<ErrorRequestHandler>[1]) => string | undefined;

/**
 * The pages' error middleware: a refusal becomes a page with a sentence a person understands and a way
 * on; the stable code travels only in a data attribute (for scripts and support). Unknown errors are
 * logged (without request data) and shown as a plain apology.
 */
export function pageErrorHandler(opts: {
  /** Whose page this is; a function for a brand said in the reader's language. */
  brand: string | ((req: Parameters<ErrorRequestHandler>[1]) => string);
  log?: (line: string) => void;
  wording?: Wording;
  back?: { href: string; label: string } | ((req: Parameters<ErrorRequestHandler>[1]) => { href: string; label: string });
  /** The page's title and heading in the page's language ("Not done" unless given). */
  heading?: (req: Parameters<ErrorRequestHandler>[1]) => { title: string; lang: string };
  /** The page's usual header (navigation, a lock button) for this request, so an error page is not a dead end. */
  chrome?: (req: Parameters<ErrorRequestHandler>[1]) => Pick<PageOptions, "nav" | "headerEnd">;
}): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let code = "ERR_INTERNAL";
    let words = "Something went wrong on our side. Nothing was changed. Please try again.";
    if (error instanceof AgentError) {
      code = error.code;
      words = opts.wording?.(error, req) ?? messageFor(code, "");
      if (!words) words = fallbackWords(error);
    } else if (error?.type === "entity.too.large") {
      code = "ERR_BODY_TOO_LARGE";
      words = "What was sent is too large.";
    } else if (typeof error?.status === "number" && error.status >= 400 && error.status < 500) {
      code = "ERR_BAD_REQUEST";
      words = "The form could not be read. Please try again.";
    } else {
      opts.log?.(JSON.stringify({ t: new Date().toISOString(), level: "error", route: req.route?.path ?? "(page)", error: String(error?.stack ?? error).slice(0, 2000) }));
    }
    const status = code === "ERR_INTERNAL" ? 500 : httpStatusFor(code);
    const back = (typeof opts.back === "function" ? opts.back(req) : opts.back) ?? { href: "/", label: "Back to the start" };
    const heading = opts.heading?.(req) ?? { title: "Not done", lang: "en" };
    res
      .status(status)
      .type("html")
      .send(
        renderPage({
          ...opts.chrome?.(req),
          title: heading.title,
          lang: heading.lang,
          brand: typeof opts.brand === "function" ? opts.brand(req) : opts.brand,
          errorCode: code,
          main: html`<h1>${heading.title}</h1><div class="notice error" role="alert"><p>${words}</p></div><p><a href="${back.href}">${back.label}</a></p>`,
        }),
      );
  };
}

/** A refusal without a prepared sentence: the error's own message, first letter capitalised, as a sentence. */
function fallbackWords(error: AgentError): string {
  const m = error.message.trim();
  if (!m) return "This could not be done.";
  return `${m[0]!.toUpperCase()}${m.slice(1)}${/[.!?]$/.test(m) ? "" : "."}`;
}
