import { html, type SafeHtml } from "../../web/html.js";
import { notice } from "../../web/layout.js";
import type { Translate } from "../../i18n/index.js";
import type { LivenessChallenge } from "../../issuer/face/liveness.js";

/**
 * The registration page: the camera with the issuer's challenge, the person's details, then (filled in by
 * /assets/register.js) the masked identity to confirm. Without script nothing can be filmed, so the page says so.
 * The script's own words come from the page (data-words), in its language.
 */
export function registerPage(t: Translate, args: { csrf: string; challenge: LivenessChallenge; fromMerchant: boolean }): SafeHtml {
  const c = args.challenge;
  const words = t("wallet.register.script", { returnObjects: true }) as object;
  return html`<h1>${t("wallet.register.heading")}</h1>
${args.fromMerchant ? notice("info", t("wallet.register.fromMerchant")) : ""}
<section id="register" class="card" data-csrf="${args.csrf}" data-challenge-id="${c.challengeId}" data-min-frames="${c.minFrames}" data-max-frames="${c.maxFrames}" data-words="${JSON.stringify(words)}">
<h2>${t("wallet.register.film")}</h2>
<p class="hint">${t("wallet.register.filmHint")}</p>
<ol id="register-actions">${c.actions.map((a) => html`<li data-action="${a}">${t(`wallet.register.prompts.${a}`)}</li>`)}</ol>
<video id="register-video" playsinline muted aria-label="${t("wallet.register.preview")}"></video>
<p id="register-prompt" aria-live="polite"></p>
<button type="button" id="register-film">${t("wallet.register.filmButton")}</button>
<p id="register-filmed" class="muted" aria-live="polite"></p>
<h2>${t("wallet.register.details")}</h2>
<p class="hint">${t("wallet.register.detailsHint")}</p>
<label for="register-name">${t("wallet.register.fullName")}</label>
<input id="register-name" name="fullName" autocomplete="name" maxlength="100">
<label for="register-id">${t("wallet.register.idNumber")}</label>
<input id="register-id" name="idNumber" autocomplete="off" maxlength="18" spellcheck="false">
<button type="button" id="register-submit" disabled>${t("wallet.register.send")}</button>
<p id="register-error" role="alert" data-code=""></p>
</section>
<form id="register-confirm" method="post" action="/register/confirm" class="card" hidden>
<h2>${t("wallet.register.confirmHeading")}</h2>
<p>${t("wallet.register.confirmExplain")}</p>
<dl class="facts"><dt>${t("wallet.register.name")}</dt><dd id="register-masked-name"></dd><dt>${t("wallet.home.idNumber")}</dt><dd id="register-masked-id"></dd></dl>
<input type="hidden" name="csrf" value="${args.csrf}">
<button type="submit">${t("wallet.register.confirmButton")}</button>
</form>
<p><a href="/">${t("wallet.register.cancel")}</a></p>
<script src="/assets/register.js" defer></script>`;
}
