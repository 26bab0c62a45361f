import { html, raw, type SafeHtml } from "../../web/html.js";
import { notice } from "../../web/layout.js";
import { anchorWord, claimName, claimValueIn, levelExplains, levelName, merchantMark, shortId } from "../../web/labels.js";
import { formatDate, formatTime, type Translate } from "../../i18n/index.js";
import { claimsForLevel, GRANT_LEVELS, IDENTITY_CLAIM_NAMES, type GrantLevel } from "../../sdjwt/identity-credential.js";
import { acceptableLevels } from "../../grants/choice.js";
import type { CheckedRequest } from "../request-check.js";
import type { AnswerPolicy, ConsentPreview, GrantEntry } from "../wallet.js";
import { LOW_BATCH_THRESHOLD } from "../wallet.js";

/**
 * The wallet's pages as functions of plain data (no I/O): easy to read, easy to test. Every word comes from the
 * catalogues through `t` (the page's language: Chinese unless the reader asks for English); times are shown in
 * the reader's zone in one format.
 */

/** Names in a sentence, joined as the language joins them (", " or "、"). */
const list = (t: Translate, items: readonly string[]) => items.join(t("wallet.listSeparator"));

const csrfField = (csrf?: string) => (csrf ? html`<input type="hidden" name="csrf" value="${csrf}">` : "");

export function pinField(id: string, label: string): SafeHtml {
  return html`<label for="${id}">${label}</label>
<input type="password" id="${id}" name="pin" inputmode="numeric" autocomplete="off" required minlength="4" maxlength="64">`;
}

export function unlockForm(t: Translate, next = "/", message?: string): SafeHtml {
  return html`<form method="post" action="/unlock" class="card">
<h2>${t("wallet.unlock.heading")}</h2>
${message ? notice("info", message) : ""}
<p class="hint">${t("wallet.unlock.hint")}</p>
<input type="hidden" name="next" value="${next}">
${pinField("unlock-pin", t("wallet.pinLabel"))}
<button type="submit">${t("wallet.unlock.button")}</button>
</form>`;
}

export function openLinkForm(t: Translate, csrf?: string): SafeHtml {
  return html`<form method="post" action="/open" class="card">${csrfField(csrf)}
<h2>${t("wallet.open.heading")}</h2>
<label for="link">${t("wallet.open.label")}</label>
<textarea id="link" name="link" required maxlength="4000" spellcheck="false" autocapitalize="off" placeholder="openid4vp://?client_id=…"></textarea>
<p class="hint">${t("wallet.open.hint")}</p>
<button type="submit">${t("wallet.open.button")}</button>
</form>`;
}

type CredentialView = { holderDid: string; receivedAt: string; usedWith: string[]; claims: Record<string, unknown> };

export function homePage(t: Translate, args: { credentials: CredentialView[]; issuerUrl?: string; csrf: string; refreshed?: number; canRegister?: boolean }): SafeHtml {
  const creds = args.credentials;
  const unused = creds.filter((c) => c.usedWith.length === 0).length;
  const claims = creds[0]?.claims ?? {};
  const masked = typeof claims.id_number === "string" ? claims.id_number.replace(/^(\d{4})\d+(\d{4})$/, "$1**********$2") : "";
  return html`<h1>${t("wallet.home.heading")}</h1>
${args.refreshed !== undefined ? notice("ok", t("wallet.home.refreshed", { count: args.refreshed })) : ""}
${openLinkForm(t, args.csrf)}
<section class="card" aria-labelledby="creds-h">
<h2 id="creds-h">${t("wallet.home.credentials")}</h2>
${creds.length === 0
    ? args.canRegister
      ? html`<p>${t("wallet.home.none")}</p><p><a class="button" href="/register">${t("wallet.home.registerButton")}</a></p>`
      : html`<p>${t("wallet.home.noneCli")}</p>`
    : html`<dl class="facts">
<dt>${t("wallet.home.name")}</dt><dd>${claims.full_name}</dd>
<dt>${t("wallet.home.idNumber")}</dt><dd>${masked}</dd>
<dt>${t("wallet.home.birthDate")}</dt><dd>${claims.birth_date}</dd>
<dt>${t("wallet.home.issuedBy")}</dt><dd>${args.issuerUrl ?? ""}</dd>
<dt>${t("wallet.home.validUntil")}</dt><dd>${typeof claims.exp === "number" ? formatDate(claims.exp * 1000) : ""}</dd>
<dt>${t("wallet.home.inWallet")}</dt><dd>${t("wallet.home.counts", { count: creds.length, unused })}</dd>
</dl>
<p class="hint">${t("wallet.home.unlinkable")}</p>
${unused < LOW_BATCH_THRESHOLD ? notice("warn", t("wallet.home.low", { count: unused })) : ""}
<form method="post" action="/credentials/refresh">${csrfField(args.csrf)}<button type="submit" class="secondary">${t("wallet.home.refresh")}</button></form>`}
</section>`;
}

/**
 * Where a merchant's page sent the person: the link and a button, nothing fetched yet (any website can
 * open this page; only the person's click on it makes the wallet contact the merchant).
 */
export function reviewRequestPage(t: Translate, args: { link: string; requestUri: string; csrf?: string }): SafeHtml {
  let from = args.requestUri;
  try {
    from = new URL(args.requestUri).host;
  } catch {
    /* shown as given */
  }
  return html`<h1>${t("wallet.review.heading")}</h1>
<p>${t("wallet.review.sentFrom", { from })}</p>
<form method="post" action="/authorize/review" class="card">
<input type="hidden" name="link" value="${args.link}">${csrfField(args.csrf)}
<p class="hint">${t("wallet.review.hint")}</p>
<button type="submit">${t("wallet.review.button")}</button>
</form>
<details><summary>${t("wallet.review.link")}</summary><p><code>${args.link}</code></p></details>
<p><a href="/">${t("wallet.review.cancel")}</a></p>`;
}

/** A member login link, before anything is fetched: the link and a button. */
export function reviewLoginPage(t: Translate, args: { challenge: string; csrf?: string }): SafeHtml {
  return html`<h1>${t("wallet.review.loginHeading")}</h1>
<p>${t("wallet.review.loginSentFrom", { host: new URL(args.challenge).host })}</p>
<form method="post" action="/login/review" class="card">
<input type="hidden" name="challenge" value="${args.challenge}">${csrfField(args.csrf)}
<p class="hint">${t("wallet.review.loginHint")}</p>
<button type="submit">${t("wallet.review.loginButton")}</button>
</form>
<p><a href="/">${t("wallet.review.cancel")}</a></p>`;
}

/** "What each level would share": the three levels side by side, the asked one marked. */
function levelTable(t: Translate, checked: CheckedRequest): SafeHtml {
  const r = checked.request;
  return html`<div class="table-wrap"><table>
<caption class="muted">${t("wallet.table.caption", { merchant: checked.merchant.name })}</caption>
<thead><tr><th scope="col">${t("wallet.table.level")}</th><th scope="col">${t("wallet.table.leaves")}</th></tr></thead>
<tbody>
${GRANT_LEVELS.map((level) => {
    const names = claimsForLevel(level, level === r.level ? { requestedClaims: r.claims, ageOver18: r.age_over_18 } : { requestedClaims: r.claims });
    const asked = level === r.level;
    return html`<tr${asked ? raw(' class="asked"') : ""}><th scope="row">${levelName(t, level)}${asked ? html`<br><strong>${t("wallet.table.askedFor")}</strong>` : ""}</th><td>${list(t, [...names.map((n) => claimName(t, n)), ...(level === "pseudonymous" ? [t("wallet.table.pseudonym")] : [])])}</td></tr>`;
  })}
</tbody></table></div>`;
}

/** A remembered choice the consent form starts from: level and the optional claims switched off. */
export interface ChoiceDefaults {
  level: GrantLevel;
  without: string[];
  oneTap?: boolean;
}

export function consentPage(t: Translate, args: { checked: CheckedRequest; preview?: ConsentPreview; link: string; qrSvg: string; unlocked: boolean; csrf?: string; flash?: SafeHtml; defaults?: ChoiceDefaults }): SafeHtml {
  const { checked, preview } = args;
  const r = checked.request;
  // Who asks, and what it may ask for, as the issuer's signed registry has it: never the request's own words.
  const m = checked.merchant;
  const levels = acceptableLevels(r);
  const optional = r.optional_claims ?? [];
  const selected = args.defaults && levels.includes(args.defaults.level) ? args.defaults.level : r.level;
  const without = args.defaults?.without.filter((c) => optional.includes(c)) ?? [];
  const shareable = new Set(levels.flatMap((l) => claimsForLevel(l, { requestedClaims: r.claims, ageOver18: r.age_over_18 })));
  const stays = IDENTITY_CLAIM_NAMES.filter((n) => n !== "verification_commitment" && !shareable.has(n));
  const automatic = !!preview?.automatic && args.unlocked;
  const value = (n: string) => (preview ? html`: ${claimValueIn(t, preview.values[n])}` : "");
  const pseudonymItems = html`<li><strong>${t("wallet.consent.pseudonymFor", { merchant: m.name })}</strong>${preview?.pseudonym ? html`: <code title="${preview.pseudonym}">${shortId(preview.pseudonym)}</code>` : ""} ${t("wallet.consent.pseudonymNote")}</li>
${preview?.memberPseudonym ? html`<li><strong>${t("wallet.consent.memberNumber")}</strong>: <code title="${preview.memberPseudonym}">${shortId(preview.memberPseudonym)}</code> ${t("wallet.consent.memberNote")}</li>` : ""}`;
  /** What one level sends: the exact values (optional ones with a switch). */
  const itemsFor = (level: GrantLevel) => html`<ul>
${claimsForLevel(level, { requestedClaims: r.claims, ageOver18: r.age_over_18 }).map((n) =>
    level === "full" && optional.includes(n)
      ? html`<li><label class="check"><input type="checkbox" name="share_claim" value="${n}"${without.includes(n) ? "" : raw(" checked")}${args.unlocked ? "" : raw(" disabled")}> <span><strong>${claimName(t, n)}</strong>${value(n)} <em>(${t("wallet.consent.optional")})</em></span></label></li>`
      : html`<li><strong>${claimName(t, n)}</strong>${value(n)}</li>`)}
${level === "pseudonymous" ? pseudonymItems : ""}
</ul>`;
  const whatLeaves = levels.length > 1
    ? html`<fieldset><legend>${t("wallet.consent.choiceTitle")}</legend><p class="hint">${t("wallet.consent.choiceHint", { merchant: m.name })}</p>
${levels.map((l) => html`<div class="choice"><label class="check"><input type="radio" name="level" value="${l}"${l === selected ? raw(" checked") : ""}> <span><strong>${levelName(t, l)}</strong>${l === r.level ? html` (${t("wallet.consent.preferred")})` : ""}: ${levelExplains(t, l)}</span></label>${itemsFor(l)}</div>`)}
</fieldset>`
    : html`<input type="hidden" name="level" value="${r.level}">${itemsFor(r.level)}`;
  const header = html`<h1>${merchantMark(m.name)} ${t("wallet.consent.asksFor", { merchant: m.name, level: levelName(t, r.level) })}</h1>
${args.flash ?? ""}
${notice("ok", t("wallet.consent.registered"))}
<dl class="facts">
<dt>${t("wallet.consent.registeredAs")}</dt><dd>${t("wallet.consent.registeredFor", { merchant: m.name, level: levelName(t, m.maxLevel) })}${m.fullClaims.length ? html` (${list(t, m.fullClaims.map((n) => claimName(t, n)))})` : ""}</dd>
<dt>${t("wallet.consent.answerGoesTo")}</dt><dd><code>${new URL(r.response_uri).origin}</code></dd>
<dt>${t("wallet.consent.purpose")}</dt><dd>${r.purpose}</dd>
<dt>${t("wallet.consent.keeps")}</dt><dd>${r.retention_days === 0 ? t("wallet.consent.keepsNot") : t("wallet.consent.keepsDays", { count: r.retention_days })}</dd>
</dl>`;
  const staysLine = html`<p>${t("wallet.consent.stays", { claims: list(t, stays.map((n) => claimName(t, n))) })}</p>`;
  // After the decision: what the person may want to look up, not what they decide on (a phone shows the
  // decision without scrolling past it): the other levels, the request's expiry and identifier, its QR code.
  const footer = html`${staysLine}
<details class="levels"><summary>${t("wallet.table.caption", { merchant: m.name })}</summary>${levelTable(t, checked)}</details>
<dl class="facts">
<dt>${t("wallet.consent.expires")}</dt><dd>${formatTime(r.exp * 1000)}</dd>
<dt>${t("wallet.consent.merchantId")}</dt><dd><code title="${r.iss}">${shortId(r.iss)}</code></dd>
</dl>
<details><summary>${t("wallet.consent.qrSummary")}</summary>
<div class="qr" role="img" aria-label="${t("wallet.consent.qrLabel")}">${raw(args.qrSvg)}</div>
<p><code>${args.link}</code></p>
<p class="hint">${t("wallet.consent.reviewedHash", { hash: checked.requestHash })}</p>
</details>`;
  const declineButton = html`<button type="submit" class="secondary" formaction="/authorize/decline" formnovalidate>${t("wallet.consent.decline")}</button>`;
  // Locked: the names only, and the PIN unlocks for review (it shares nothing); the values come before any share.
  if (!args.unlocked || !preview) {
    return html`${header}
<section class="card" aria-labelledby="share-h">
<h2 id="share-h">${t("wallet.consent.wouldLeave")}</h2>
${levels.map((l) => html`${levels.length > 1 ? html`<h3>${levelName(t, l)}${l === r.level ? html` (${t("wallet.consent.preferred")})` : ""}</h3>` : ""}${itemsFor(l)}`)}
</section>
<form method="post" action="/authorize/unlock" class="card">
<h2>${t("wallet.consent.unlockToReview")}</h2>
<p class="hint">${t("wallet.consent.unlockHint")}</p>
<input type="hidden" name="request" value="${checked.requestHash}">${csrfField(args.csrf)}
${pinField("review-pin", t("wallet.pinLabel"))}
<div class="actions"><button type="submit">${t("wallet.consent.unlockButton")}</button>${declineButton}</div>
</form>
${footer}`;
  }
  return html`${header}
<form method="post" action="/authorize" class="consent"${automatic ? raw(" data-autosubmit") : ""}>
<input type="hidden" name="request" value="${checked.requestHash}">${csrfField(args.csrf)}<input type="hidden" name="choice" value="1">
<section class="card" aria-labelledby="share-h">
<h2 id="share-h">${t("wallet.consent.exactlyLeaves")}</h2>
${args.defaults ? notice("info", t("wallet.consent.remembered")) : ""}
${whatLeaves}
</section>
${preview.credentialsLeft < LOW_BATCH_THRESHOLD ? notice("warn", t("wallet.consent.lowCredentials", { count: preview.credentialsLeft })) : ""}
${automatic
    ? html`<div>
${notice("info", t("wallet.consent.oneTapChosen", { merchant: m.name }))}
<div class="actions"><button type="submit">${t("wallet.consent.share")}</button>${declineButton}</div></div>`
    : html`<section class="card">
<h2>${t("wallet.consent.decisionTitle")}</h2>
${pinField("consent-pin", t("wallet.consent.confirmPin"))}
<label class="check"><input type="checkbox" name="remember" value="1"${args.defaults ? raw(" checked") : ""}> <span>${t("wallet.consent.remember", { merchant: m.name })}</span></label>
${levels.includes("verified") ? html`<label class="check"><input type="checkbox" name="one_tap" value="1"${args.defaults?.oneTap ? raw(" checked") : ""}> <span>${t("wallet.consent.oneTap", { merchant: m.name })}</span></label>` : ""}
<div class="actions"><button type="submit">${t("wallet.consent.share")}</button>${declineButton}</div>
</section>`}
</form>
${footer}`;
}

/** The consent form's answer to a wrong PIN: nothing shared, and how many tries are left. */
export function wrongPinWords(t: Translate, left: number | undefined): string {
  const tail = left === undefined ? "" : left > 0 ? ` ${t("wallet.consent.triesLeft", { count: left })}` : ` ${t("wallet.consent.nowLocked")}`;
  return `${t("wallet.consent.wrongPin")}${tail}`;
}

export function grantedPage(t: Translate, args: { grant: GrantEntry; automatic: boolean; credentialsLeft: number; csrf: string }): SafeHtml {
  const g = args.grant;
  return html`<h1>${t("wallet.granted.heading", { merchant: g.merchant.name })}</h1>
${notice("ok", `${args.automatic ? `${t("wallet.granted.automatic")} ` : ""}${t("wallet.granted.receipts")}`)}
<dl class="facts">
<dt>${t("wallet.granted.level")}</dt><dd>${levelName(t, g.level)}</dd>
<dt>${t("wallet.granted.shared")}</dt><dd>${list(t, [...g.claimNames.map((n) => claimName(t, n)), ...(g.pseudonym ? [t("wallet.granted.yourPseudonym")] : [])])}</dd>
<dt>${t("wallet.granted.purpose")}</dt><dd>${g.purpose}</dd>
<dt>${t("wallet.granted.grant")}</dt><dd><code>${g.grantId}</code></dd>
</dl>
${args.credentialsLeft < LOW_BATCH_THRESHOLD ? notice("warn", html`${t("wallet.granted.low", { count: args.credentialsLeft })} <form method="post" action="/credentials/refresh" class="inline">${csrfField(args.csrf)}<button type="submit" class="link">${t("wallet.granted.refresh")}</button></form>`) : ""}
${g.returnTo ? html`<p><a class="button" href="${g.returnTo}">${t("wallet.granted.backTo", { merchant: g.merchant.name })}</a></p>` : html`<p>${t("wallet.granted.goBack")}</p>`}
<p><a href="/grants">${t("wallet.granted.allGrants")}</a></p>`;
}

function anchorState(t: Translate, entry: GrantEntry, which: "consent" | "grant"): SafeHtml {
  const a = entry.anchors?.[which];
  const status = a?.status ?? "unknown";
  const onChain = a?.anchor as { blockNumber?: number; txHash?: string } | undefined;
  return html`<span class="state ${status}">${anchorWord(t, status)}</span>${onChain?.blockNumber ? html` ${t("wallet.anchor.where", { block: onChain.blockNumber })} <code title="${onChain.txHash}">${shortId(onChain.txHash ?? "", 10)}</code>` : ""}`;
}

export const isSettled = (g: GrantEntry): boolean => !!g.withdrawal || (g.anchors?.consent?.status === "anchored" && g.anchors?.grant?.status === "anchored");

export function grantsPage(t: Translate, args: { grants: GrantEntry[]; flash?: SafeHtml; unreachable: Set<string> }): SafeHtml {
  const grants = [...args.grants].sort((a, b) => b.grantedAt.localeCompare(a.grantedAt));
  const pending = grants.some((g) => !isSettled(g));
  return html`<h1>${t("wallet.grants.heading")}</h1>
${args.flash ?? ""}
${pending ? html`<p class="muted" data-poll="/grants/status" data-poll-while="pending" data-poll-ms="1500" aria-live="polite">${t("wallet.grants.pending")} <a href="/grants">${t("wallet.grants.checkAgain")}</a></p>` : ""}
${grants.length === 0 ? html`<p>${t("wallet.grants.none")}</p>` : ""}
${grants.map((g) => html`<article class="card" aria-labelledby="g-${g.grantId}">
<h2 id="g-${g.grantId}">${g.merchant.name}: ${levelName(t, g.level)}</h2>
${g.withdrawal ? html`<p><span class="state withdrawn">${t("wallet.grants.withdrawn")}</span> ${t("wallet.grants.withdrawnOn", { when: formatTime(g.withdrawal.withdrawnAt) })}</p>` : ""}
<dl class="facts">
<dt>${t("wallet.grants.when")}</dt><dd>${formatTime(g.grantedAt)}${g.automatic ? ` ${t("wallet.grants.automatic")}` : ""}</dd>
<dt>${t("wallet.grants.shared")}</dt><dd>${list(t, g.claimNames.map((n) => claimName(t, n)))}</dd>
${g.pseudonym ? html`<dt>${t("wallet.grants.pseudonymThere")}</dt><dd><code title="${g.pseudonym}">${shortId(g.pseudonym)}</code></dd>` : ""}
<dt>${t("wallet.grants.purpose")}</dt><dd>${g.purpose}</dd>
<dt>${t("wallet.grants.consentReceipt")}</dt><dd>${args.unreachable.has(g.grantId) ? html`<span class="state pending">${anchorWord(t, "unreachable")}</span>` : anchorState(t, g, "consent")}</dd>
<dt>${t("wallet.grants.merchantReceipt")}</dt><dd>${args.unreachable.has(g.grantId) ? "" : anchorState(t, g, "grant")}</dd>
<dt>${t("wallet.grants.grant")}</dt><dd><code>${g.grantId}</code></dd>
</dl>
<p>
${g.anchors?.consent?.status === "anchored" && g.anchors?.grant?.status === "anchored" ? html`<a class="button secondary" href="/grants/${g.grantId}/evidence" download="evidence-${g.grantId}.json">${t("wallet.grants.evidence")}</a>` : ""}
${g.withdrawal ? "" : html`<a class="button secondary" href="/grants/${g.grantId}/withdraw">${t("wallet.grants.withdraw")}</a>`}
</p>
</article>`)}`;
}

export function withdrawConfirmPage(t: Translate, g: GrantEntry, csrf: string, hasRememberedChoice = false): SafeHtml {
  return html`<h1>${t("wallet.withdraw.heading", { merchant: g.merchant.name })}</h1>
<p>${t(g.pseudonym ? "wallet.withdraw.explainAccount" : "wallet.withdraw.explain", { merchant: g.merchant.name })}</p>
<dl class="facts"><dt>${t("wallet.granted.level")}</dt><dd>${levelName(t, g.level)}</dd><dt>${t("wallet.grants.shared")}</dt><dd>${list(t, g.claimNames.map((n) => claimName(t, n)))}</dd><dt>${t("wallet.grants.when")}</dt><dd>${formatTime(g.grantedAt)}</dd></dl>
<form method="post" action="/grants/${g.grantId}/withdraw">${csrfField(csrf)}
${hasRememberedChoice ? html`<label class="check"><input type="checkbox" name="forget" value="1" checked> <span>${t("wallet.withdraw.forget", { merchant: g.merchant.name })}</span></label>` : ""}
<button type="submit" class="danger">${t("wallet.withdraw.button")}</button></form>
<p><a href="/grants">${t("wallet.withdraw.keep")}</a></p>`;
}

export function choicesPage(t: Translate, args: { choices: AnswerPolicy[]; csrf: string; flash?: string }): SafeHtml {
  return html`<h1>${t("wallet.choices.heading")}</h1>
${args.flash ? notice("ok", args.flash) : ""}
<p>${t("wallet.choices.intro")}</p>
${args.choices.length === 0
    ? html`<p>${t("wallet.choices.none")}</p>`
    : html`<div class="table-wrap"><table>
<thead><tr><th scope="col">${t("wallet.choices.merchant")}</th><th scope="col">${t("wallet.choices.level")}</th><th scope="col">${t("wallet.choices.since")}</th><th scope="col"><span class="muted">${t("wallet.choices.action")}</span></th></tr></thead>
<tbody>${args.choices.map((p) => html`<tr><td>${p.merchantName}</td><td>${levelName(t, p.level)}</td><td>${formatDate(p.createdAt)}</td><td>
<form method="post" action="/choices/forget">${csrfField(args.csrf)}<input type="hidden" name="merchantDid" value="${p.merchantDid}"><input type="hidden" name="level" value="${p.level}">
<button type="submit" class="secondary" aria-label="${t("wallet.choices.forgetLabel", { merchant: p.merchantName, level: levelName(t, p.level) })}">${t("wallet.choices.forget")}</button></form></td></tr>`)}</tbody>
</table></div>`}`;
}

export function loginPage(t: Translate, args: { merchantName: string; origin: string; login: string; unlocked: boolean; csrf?: string }): SafeHtml {
  return html`<h1>${t("wallet.login.heading", { merchant: args.merchantName })}</h1>
<p>${t("wallet.login.explain", { merchant: args.merchantName })}</p>
<p class="hint">${t("wallet.login.where", { origin: args.origin, merchant: args.merchantName })}</p>
<form method="post" action="/login" class="card">
<input type="hidden" name="login" value="${args.login}">${csrfField(args.csrf)}
${args.unlocked ? "" : pinField("login-pin", t("wallet.pinLabel"))}
<button type="submit">${t("wallet.login.button")}</button>
</form>
<p><a href="/">${t("wallet.review.cancel")}</a></p>`;
}

export function merchantsPage(t: Translate, args: { merchants: ReadonlyArray<{ did: string; name: string; maxLevel: GrantLevel; purposes: readonly string[] }>; csrf: string }): SafeHtml {
  const can = (m: { maxLevel: GrantLevel }, level: GrantLevel) => GRANT_LEVELS.indexOf(level) <= GRANT_LEVELS.indexOf(m.maxLevel);
  return html`<h1>${t("wallet.start.title")}</h1>
<p>${t("wallet.start.intro")}</p>
${args.merchants.length === 0 ? html`<p>${t("wallet.start.none")}</p>` : args.merchants.map((m) => html`<article class="card"><h2>${m.name}</h2>
<p class="hint">${t("wallet.start.registeredFor", { level: levelName(t, m.maxLevel), purposes: m.purposes.join("; ") })}</p>
<form method="post" action="/merchants/start" class="actions">${csrfField(args.csrf)}<input type="hidden" name="merchant" value="${m.did}">
${can(m, "pseudonymous") ? html`<button type="submit" name="level" value="pseudonymous">${t("wallet.start.pseudonymous", { merchant: m.name })}</button>` : ""}
<button type="submit" name="level" value="verified" class="secondary">${t("wallet.start.verified", { merchant: m.name })}</button>
</form></article>`)}`;
}
