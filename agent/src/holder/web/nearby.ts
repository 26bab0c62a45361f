import { Router } from "express";
import { platformRelay, WALLET_CALLS } from "../../payments/relay.js";
import { html } from "../../web/html.js";
import { languageSwitch, pageWords } from "../../web/lang.js";
import { renderPage } from "../../web/layout.js";

/**
 * The wallet as a payment terminal (seed 003's "first terminal"): this browser's device key reports the
 * phone's position to the platform, takes part (or not) in verifying payers nearby (camera capture, signed
 * answer, or decline), and unlocks the person's own payment function after a refusal (PIN + fresh face).
 * The key, the position and the camera stay in the browser; this server only relays to the platform.
 */
export function nearbyRouter(config: { platformUrl: () => string }): Router {
  const r = Router();
  r.use("/api", platformRelay(config.platformUrl, WALLET_CALLS));
  r.get("/", (req, res) => {
    const { lang, t } = pageWords(req, res);
    const words = t("terminal", { returnObjects: true }) as object;
    const [terminalBefore, terminalAfter] = t("nearby.terminal", { id: "\u0000" }).split("\u0000");
    res.type("html").send(renderPage({
      title: t("nearby.title"),
      brand: t("wallet.brand"),
      lang,
      headerEnd: languageSwitch(req, lang),
      nav: [{ href: "/", label: t("nearby.navWallet") }, { href: "/nearby", label: t("nearby.title"), current: true }],
      main: html`<h1>${t("nearby.title")}</h1>
<section id="nearby" data-api="/nearby/api" data-words="${JSON.stringify(words)}" aria-labelledby="nearby-h">
<h2 id="nearby-h">${t("nearby.thisPhone")}</h2>
<p>${terminalBefore}<code id="nearby-terminal-id">…</code>${terminalAfter}</p>
<pre id="nearby-terminal-jwk" class="wrap"></pre>
<p><label for="nearby-floor">${t("nearby.floor")}</label> <input id="nearby-floor" type="number" step="1" value="0"></p>
<p id="nearby-reporting" role="status">${t("terminal.notReporting")}</p>
<p><button type="button" id="nearby-optin">${t("nearby.optIn")}</button> <button type="button" id="nearby-optout" class="secondary">${t("nearby.optOut")}</button></p>
<p id="nearby-optstate" role="status"></p>
</section>
<section aria-labelledby="requests-h">
<h2 id="requests-h">${t("nearby.requestsHeading")}</h2>
<ul id="nearby-requests"></ul>
<video id="nearby-video" playsinline muted hidden aria-label="${t("terminal.camera")}"></video>
<p id="nearby-answer-state" role="status"></p>
</section>
<section aria-labelledby="unlock-h">
<h2 id="unlock-h">${t("nearby.unlockHeading")}</h2>
<p>${t("nearby.unlockExplain")}</p>
<form id="nearby-unlock">
<p><label for="nearby-pin">${t("nearby.pin")}</label> <input id="nearby-pin" type="password" inputmode="numeric" autocomplete="off" required></p>
<p><button type="submit">${t("nearby.unlock")}</button></p>
</form>
<p id="nearby-unlock-state" role="status"></p>
</section>
<script src="/assets/terminal.js" defer></script>
<script src="/assets/nearby.js" defer></script>`,
    }));
  });
  return r;
}
