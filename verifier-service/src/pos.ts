import { Router } from "express";
import { html, languageSwitch, pageWords, platformRelay, POS_CALLS, renderPage } from "@realname/agent";

export interface PosConfig {
  /** The payment platform (the issuer) the POS reports to. */
  platformUrl: () => string;
}

/**
 * The merchant's point-of-sale page (seed 003's "second terminal"): the browser holds the terminal's device
 * key, signs its position and the payment start, and shows the platform's decision; opted in, it also confirms
 * payers at other tills nearby when no wallet near them takes part. The merchant's server only relays to the
 * platform; it never sees a peer's image (the platform never sends one). Chinese by default, English on request.
 */
export function posRouter(config: PosConfig & { merchantName: string }): Router {
  const r = Router();
  r.use("/api", platformRelay(config.platformUrl, POS_CALLS));
  r.get("/", (req, res) => {
    const { lang, t } = pageWords(req, res);
    // The script's messages, in the page's language (the script holds no text of its own).
    const words = { ...(t("terminal", { returnObjects: true }) as object), ...(t("pos", { returnObjects: true }) as object) };
    const [terminalBefore, terminalAfter] = t("pos.terminal", { id: "\u0000" }).split("\u0000");
    res.type("html").send(renderPage({
      title: t("pos.title"),
      brand: config.merchantName,
      lang,
      headerEnd: languageSwitch(req, lang),
      main: html`<h1>${t("pos.title")}</h1>
<section id="pos" data-api="/pos/api" data-words="${JSON.stringify(words)}" aria-labelledby="pos-terminal-h">
<h2 id="pos-terminal-h">${t("pos.thisTill")}</h2>
<p>${terminalBefore}<code id="pos-terminal-id">…</code>${terminalAfter}</p>
<pre id="pos-terminal-jwk" class="wrap"></pre>
<form id="pos-form">
<p><label for="pos-floor">${t("pos.floor")}</label> <input id="pos-floor" name="floor" type="number" step="1" value="0"></p>
<p><label for="pos-payer">${t("pos.payer")}</label> <input id="pos-payer" name="payer" required autocomplete="off"></p>
<p><button type="submit">${t("pos.start")}</button></p>
</form>
<div id="pos-decision" role="status" aria-live="polite"></div>
</section>
<section aria-labelledby="pos-peer-h">
<h2 id="pos-peer-h">${t("pos.peerHeading")}</h2>
<p class="hint">${t("pos.peerExplain")}</p>
<p id="pos-reporting" role="status">${t("terminal.notReporting")}</p>
<p><button type="button" id="pos-optin">${t("pos.optIn")}</button> <button type="button" id="pos-optout" class="secondary">${t("pos.optOut")}</button></p>
<p id="pos-optstate" role="status"></p>
<ul id="pos-requests"></ul>
<video id="pos-video" playsinline muted hidden aria-label="${t("terminal.camera")}"></video>
<p id="pos-answer-state" role="status"></p>
</section>
<script src="/assets/terminal.js" defer></script>
<script src="/assets/pos.js" defer></script>`,
    }));
  });
  return r;
}
