import { translator } from "../i18n/index.js";
import { join } from "node:path";
import { REPO_ROOT } from "../repo-root.js";
import express, { type RequestHandler } from "express";
import { html, raw, type SafeHtml } from "./html.js";

export interface NavLink {
  href: string;
  label: string;
  current?: boolean;
}

export interface PageOptions {
  /** The document title (also the first heading unless `main` brings its own). */
  title: string;
  /** Whose page this is: "Wallet", the merchant's name, "Notary console". */
  brand: string;
  nav?: NavLink[];
  /** Extra header content (a lock button, say). */
  headerEnd?: SafeHtml;
  main: SafeHtml;
  /** The page's language (BCP 47), for the html element; English unless given. */
  lang?: string;
  /** A refusal's stable code, kept out of sight for scripts and support (people read the words). */
  errorCode?: string;
}

/** The one page shell all three web faces share: skip link, landmarks, our own CSS and script, nothing external. */
export function renderPage(p: PageOptions): string {
  return html`<!doctype html>
<html lang="${p.lang ?? "en"}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${p.title} · ${p.brand}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/site.css">
<script src="/assets/page.js" defer></script>
</head>
<body>
<a class="skip" href="#main">${translator(p.lang === "zh-CN" ? "zh-CN" : "en")("page.skip")}</a>
<header class="top">
<p class="brand">${p.brand}</p>
${p.nav?.length ? html`<nav aria-label="Main"><ul>${p.nav.map((l) => html`<li><a href="${l.href}"${l.current ? raw(' aria-current="page"') : ""}>${l.label}</a></li>`)}</ul></nav>` : ""}
${p.headerEnd ?? ""}
</header>
<main id="main" tabindex="-1"${p.errorCode ? html` data-error-code="${p.errorCode}"` : ""}>
${p.main}
</main>
</body>
</html>
`.value;
}

// From the repository root, not this module's URL: bundled, this code runs from dist/.
const ASSETS = join(REPO_ROOT, "agent", "src", "web", "assets");

/** Serves the shared CSS and script under /assets (immutable within a release, so cached briefly). */
export function assets(): RequestHandler {
  return express.static(ASSETS, { index: false, maxAge: "10m", fallthrough: false });
}

/** A labelled notice: `kind` sets its colour and role (alerts are announced by screen readers). */
export function notice(kind: "ok" | "warn" | "error" | "info", body: SafeHtml | string): SafeHtml {
  return html`<div class="notice ${kind}" role="${kind === "error" || kind === "warn" ? "alert" : "status"}">${body}</div>`;
}
