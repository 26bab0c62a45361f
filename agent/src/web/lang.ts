import type { Request, Response } from "express";
import { DEFAULT_LANG, langFromAcceptLanguage, parseLang, translator, type Lang, type Translate } from "../i18n/index.js";
import { html, type SafeHtml } from "./html.js";

const COOKIE = "lang";

/**
 * The language of a page: `?lang=` (remembered in a cookie for the next pages), else the cookie, else the
 * browser's Accept-Language, else Chinese. Needs cookie-parser before it for the cookie.
 */
export function pageLang(req: Request, res?: Response): Lang {
  const asked = typeof req.query.lang === "string" ? parseLang(req.query.lang) : undefined;
  if (asked && res) res.cookie(COOKIE, asked, { sameSite: "lax", httpOnly: true, maxAge: 365 * 24 * 3600 * 1000, path: "/" });
  const fromCookie = parseLang((req.cookies as Record<string, string> | undefined)?.[COOKIE]);
  return asked ?? fromCookie ?? langFromAcceptLanguage(req.get("accept-language")) ?? DEFAULT_LANG;
}

/** The page's language and a translate function bound to it. */
export function pageWords(req: Request, res?: Response): { lang: Lang; t: Translate } {
  const lang = pageLang(req, res);
  return { lang, t: translator(lang) };
}

/** A link to this same page in the other language (kept in the header). */
export function languageSwitch(req: Request, lang: Lang): SafeHtml {
  const other: Lang = lang === "zh-CN" ? "en" : "zh-CN";
  const url = new URL(req.originalUrl, "http://page.invalid");
  url.searchParams.set("lang", other);
  // A one-time code in the address (the wallet's redirect) is spent by now: the switched page must not reuse it.
  url.searchParams.delete("response_code");
  return html`<a class="lang-switch" href="${url.pathname}${url.search}" hreflang="${other}" lang="${other}">${other === "en" ? "English" : "中文"}</a>`;
}
