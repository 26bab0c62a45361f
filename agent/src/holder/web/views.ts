import { html, raw, type SafeHtml } from "../../web/html.js";
import { notice } from "../../web/layout.js";
import { ANCHOR_STATE_WORDS, claimLabel, claimValue, LEVEL_LABELS, shortId } from "../../web/labels.js";
import { claimsForLevel, GRANT_LEVELS, IDENTITY_CLAIM_NAMES, type GrantLevel } from "../../sdjwt/identity-credential.js";
import { acceptableLevels } from "../../grants/choice.js";
import type { CheckedRequest } from "../request-check.js";
import type { AnswerPolicy, ConsentPreview, GrantEntry } from "../wallet.js";
import { LOW_BATCH_THRESHOLD } from "../wallet.js";

/** The wallet's pages as functions of plain data (no I/O): easy to read, easy to test. */

const csrfField = (csrf?: string) => (csrf ? html`<input type="hidden" name="csrf" value="${csrf}">` : "");

export function pinField(id: string, label = "Wallet PIN"): SafeHtml {
  return html`<label for="${id}">${label}</label>
<input type="password" id="${id}" name="pin" inputmode="numeric" autocomplete="off" required minlength="4" maxlength="64">`;
}

export function unlockForm(next = "/", message?: string): SafeHtml {
  return html`<form method="post" action="/unlock" class="card">
<h2>Unlock your wallet</h2>
${message ? notice("info", message) : ""}
<p class="hint">Your keys and credentials are sealed under your PIN. After 3 wrong PINs the wallet locks for a while.</p>
<input type="hidden" name="next" value="${next}">
${pinField("unlock-pin")}
<button type="submit">Unlock</button>
</form>`;
}

export function openLinkForm(csrf?: string): SafeHtml {
  return html`<form method="post" action="/open" class="card">${csrfField(csrf)}
<h2>Answer a merchant</h2>
<label for="link">Paste the link from the merchant's page or QR code</label>
<textarea id="link" name="link" required maxlength="4000" spellcheck="false" autocapitalize="off" placeholder="openid4vp://?client_id=…"></textarea>
<p class="hint">A request for your identity, or a member login link. Nothing is shared until you confirm with your PIN.</p>
<button type="submit">Open the link</button>
</form>`;
}

type CredentialView = { holderDid: string; receivedAt: string; usedWith: string[]; claims: Record<string, unknown> };

export function homePage(args: { credentials: CredentialView[]; issuerUrl?: string; csrf: string; refreshed?: number; canRegister?: boolean }): SafeHtml {
  const creds = args.credentials;
  const unused = creds.filter((c) => c.usedWith.length === 0).length;
  const claims = creds[0]?.claims ?? {};
  const masked = typeof claims.id_number === "string" ? claims.id_number.replace(/^(\d{4})\d+(\d{4})$/, "$1**********$2") : "";
  return html`<h1>Your identity wallet</h1>
${args.refreshed !== undefined ? notice("ok", `Received ${args.refreshed} fresh credentials from the issuer.`) : ""}
${openLinkForm(args.csrf)}
<section class="card" aria-labelledby="creds-h">
<h2 id="creds-h">Your credentials</h2>
${creds.length === 0
    ? args.canRegister
      ? html`<p>Your wallet holds no identity credential yet.</p><p><a class="button" href="/register">Register with the identity issuer</a></p>`
      : html`<p>Your wallet holds no identity credential yet. Register with the identity issuer first (<code>wallet register</code>).</p>`
    : html`<dl class="facts">
<dt>Name</dt><dd>${claims.full_name}</dd>
<dt>Resident ID number</dt><dd>${masked}</dd>
<dt>Date of birth</dt><dd>${claims.birth_date}</dd>
<dt>Issued by</dt><dd>${args.issuerUrl ?? ""}</dd>
<dt>Valid until</dt><dd>${typeof claims.exp === "number" ? new Date(claims.exp * 1000).toISOString().slice(0, 10) : ""}</dd>
<dt>In this wallet</dt><dd>${creds.length} credentials, ${unused} not yet shown to any merchant</dd>
</dl>
<p class="hint">Each credential has its own key. A merchant is always shown a credential no other merchant has seen, so merchants cannot link you.</p>
${unused < LOW_BATCH_THRESHOLD ? notice("warn", html`Only ${unused} unused credentials left. Get a fresh batch to keep answering new merchants privately.`) : ""}
<form method="post" action="/credentials/refresh">${csrfField(args.csrf)}<button type="submit" class="secondary">Get a fresh batch from the issuer</button></form>`}
</section>`;
}

/**
 * Where a merchant's page sent the person: the link and a button, nothing fetched yet (any website can
 * open this page; only the person's click on it makes the wallet contact the merchant).
 */
export function reviewRequestPage(args: { link: string; requestUri: string; csrf?: string }): SafeHtml {
  let from = args.requestUri;
  try {
    from = new URL(args.requestUri).host;
  } catch {
    /* shown as given */
  }
  return html`<h1>A merchant's request</h1>
<p>A page sent you here with a request for your identity from <strong>${from}</strong>. Your wallet has not contacted anyone yet.</p>
<form method="post" action="/authorize/review" class="card">
<input type="hidden" name="link" value="${args.link}">${csrfField(args.csrf)}
<p class="hint">Reviewing fetches the merchant's signed request and checks it against the identity platform's registry of merchants. Nothing is shared until you confirm with your PIN.</p>
<button type="submit">Review the request</button>
</form>
<details><summary>The link</summary><p><code>${args.link}</code></p></details>
<p><a href="/">Cancel</a></p>`;
}

/** A member login link, before anything is fetched: the link and a button. */
export function reviewLoginPage(args: { challenge: string; csrf?: string }): SafeHtml {
  return html`<h1>A member login link</h1>
<p>A page sent you here to log in at <strong>${new URL(args.challenge).host}</strong>. Your wallet has not contacted anyone yet.</p>
<form method="post" action="/login/review" class="card">
<input type="hidden" name="challenge" value="${args.challenge}">${csrfField(args.csrf)}
<p class="hint">Reviewing checks that this site is registered for the merchant it names. Nothing is signed until you confirm.</p>
<button type="submit">Review the login</button>
</form>
<p><a href="/">Cancel</a></p>`;
}

/** "What each level would share": the three levels side by side, the asked one marked. */
function levelTable(checked: CheckedRequest): SafeHtml {
  const r = checked.request;
  return html`<div class="table-wrap"><table>
<caption class="muted">What each level would share with ${checked.merchant.name}</caption>
<thead><tr><th scope="col">Level</th><th scope="col">Would leave your wallet</th></tr></thead>
<tbody>
${GRANT_LEVELS.map((level) => {
    const names = claimsForLevel(level, level === r.level ? { requestedClaims: r.claims, ageOver18: r.age_over_18 } : { requestedClaims: r.claims });
    const asked = level === r.level;
    return html`<tr${asked ? raw(' class="asked"') : ""}><th scope="row">${LEVEL_LABELS[level].name}${asked ? html`<br><strong>asked for</strong>` : ""}</th><td>${names.map(claimLabel).join(", ")}${level === "pseudonymous" ? ", a pseudonym for this merchant only" : ""}</td></tr>`;
  })}
</tbody></table></div>`;
}

/** The consent page's sentences, in one place (for a later translation). */
export const CONSENT_WORDS = {
  unlockToReview: "Unlock to review the values",
  unlockHint: "Your wallet is locked: unlock it to see the values themselves. Unlocking shares nothing; you decide on the next step.",
  unlockButton: "Unlock and review",
  choiceTitle: "What you share",
  choiceHint: (merchant: string) => `${merchant} accepts any of these. Pick one; only what you pick leaves your wallet.`,
  preferred: "asked for",
  optionalTitle: "Optional details (switch off what you do not want to share)",
  decisionTitle: "Your decision",
  confirmPin: "Confirm with your wallet PIN",
  remember: (merchant: string) => `Remember this choice for ${merchant} (it is pre-selected next time; you still confirm with your PIN)`,
  oneTap: (merchant: string) => `Answer ${merchant} with one tap next time, without the PIN (only for "Verified only"; never for your identity details)`,
  share: "Share exactly this",
  decline: "Decline",
  wrongPin: (left: number | undefined) => `The PIN is wrong. Nothing was shared; the request is still open.${left === undefined ? "" : left > 0 ? ` ${left} ${left === 1 ? "try remains" : "tries remain"} before the wallet locks for a while.` : " The wallet is now locked for a while."}`,
  remembered: "Pre-selected from the choice you remembered for this merchant.",
};

/** A remembered choice the consent form starts from: level and the optional claims switched off. */
export interface ChoiceDefaults {
  level: GrantLevel;
  without: string[];
  oneTap?: boolean;
}

export function consentPage(args: { checked: CheckedRequest; preview?: ConsentPreview; link: string; qrSvg: string; unlocked: boolean; csrf?: string; flash?: SafeHtml; defaults?: ChoiceDefaults }): SafeHtml {
  const { checked, preview } = args;
  const r = checked.request;
  const W = CONSENT_WORDS;
  // Who asks, and what it may ask for, as the issuer's signed registry has it: never the request's own words.
  const m = checked.merchant;
  const levels = acceptableLevels(r);
  const optional = r.optional_claims ?? [];
  const selected = args.defaults && levels.includes(args.defaults.level) ? args.defaults.level : r.level;
  const without = args.defaults?.without.filter((c) => optional.includes(c)) ?? [];
  const shareable = new Set(levels.flatMap((l) => claimsForLevel(l, { requestedClaims: r.claims, ageOver18: r.age_over_18 })));
  const stays = IDENTITY_CLAIM_NAMES.filter((n) => n !== "verification_commitment" && !shareable.has(n));
  const automatic = !!preview?.automatic && args.unlocked;
  const value = (n: string) => (preview ? html`: ${claimValue(preview.values[n])}` : "");
  const pseudonymItems = html`<li><strong>A pseudonym for ${m.name} only</strong>${preview?.pseudonym ? html`: <code title="${preview.pseudonym}">${shortId(preview.pseudonym)}</code>` : ""} (no other merchant ever sees it)</li>
${preview?.memberPseudonym ? html`<li><strong>Your member number there, from the platform</strong>: <code title="${preview.memberPseudonym}">${shortId(preview.memberPseudonym)}</code> (the same from any of your wallets, so you hold one account there; unrelated to your number anywhere else)</li>` : ""}`;
  /** What one level sends: the exact values (optional ones with a switch). */
  const itemsFor = (level: GrantLevel) => html`<ul>
${claimsForLevel(level, { requestedClaims: r.claims, ageOver18: r.age_over_18 }).map((n) =>
    level === "full" && optional.includes(n)
      ? html`<li><label class="check"><input type="checkbox" name="share_claim" value="${n}"${without.includes(n) ? "" : raw(" checked")}${args.unlocked ? "" : raw(" disabled")}> <span><strong>${claimLabel(n)}</strong>${value(n)} <em>(optional)</em></span></label></li>`
      : html`<li><strong>${claimLabel(n)}</strong>${value(n)}</li>`)}
${level === "pseudonymous" ? pseudonymItems : ""}
</ul>`;
  const whatLeaves = levels.length > 1
    ? html`<fieldset><legend>${W.choiceTitle}</legend><p class="hint">${W.choiceHint(m.name)}</p>
${levels.map((l) => html`<div class="choice"><label class="check"><input type="radio" name="level" value="${l}"${l === selected ? raw(" checked") : ""}> <span><strong>${LEVEL_LABELS[l].name}</strong>${l === r.level ? html` (${W.preferred})` : ""}: ${LEVEL_LABELS[l].explains}</span></label>${itemsFor(l)}</div>`)}
</fieldset>`
    : html`<input type="hidden" name="level" value="${r.level}">${itemsFor(r.level)}`;
  const header = html`<h1>${m.name} asks for: ${LEVEL_LABELS[r.level].name}</h1>
${args.flash ?? ""}
${notice("ok", html`This merchant is registered with the identity platform (checked against its signed list), and the request is signed by the merchant.`)}
<dl class="facts">
<dt>Registered as</dt><dd>${m.name}, for up to ${LEVEL_LABELS[m.maxLevel].name}${m.fullClaims.length ? html` (${m.fullClaims.map(claimLabel).join(", ")})` : ""}</dd>
<dt>Answer goes to</dt><dd><code>${new URL(r.response_uri).origin}</code></dd>
<dt>Purpose</dt><dd>${r.purpose}</dd>
<dt>Keeps the data</dt><dd>${r.retention_days === 0 ? "not at all after this answer" : `for ${r.retention_days} days`}</dd>
<dt>Request expires</dt><dd>${new Date(r.exp * 1000).toISOString().replace("T", " ").slice(0, 19)} UTC</dd>
<dt>Merchant identifier</dt><dd><code title="${r.iss}">${shortId(r.iss)}</code></dd>
</dl>`;
  const footer = html`<details><summary>The request as a QR code and link</summary>
<div class="qr" role="img" aria-label="QR code of this request">${raw(args.qrSvg)}</div>
<p><code>${args.link}</code></p>
<p class="hint">The request you reviewed: sha-256 <code>${checked.requestHash}</code>. Your answer is built from exactly this request.</p>
</details>`;
  const declineButton = html`<button type="submit" class="secondary" formaction="/authorize/decline" formnovalidate>${W.decline}</button>`;
  // Locked: the names only, and the PIN unlocks for review (it shares nothing); the values come before any share.
  if (!args.unlocked || !preview) {
    return html`${header}
<section class="card" aria-labelledby="share-h">
<h2 id="share-h">What would leave your wallet</h2>
${levels.map((l) => html`${levels.length > 1 ? html`<h3>${LEVEL_LABELS[l].name}${l === r.level ? html` (${W.preferred})` : ""}</h3>` : ""}${itemsFor(l)}`)}
<p>Stays in your wallet: ${stays.map(claimLabel).join(", ")}.</p>
${levelTable(checked)}
</section>
<form method="post" action="/authorize/unlock" class="card">
<h2>${W.unlockToReview}</h2>
<p class="hint">${W.unlockHint}</p>
<input type="hidden" name="request" value="${checked.requestHash}">${csrfField(args.csrf)}
${pinField("review-pin", "Wallet PIN")}
<div class="actions"><button type="submit">${W.unlockButton}</button>${declineButton}</div>
</form>
${footer}`;
  }
  return html`${header}
<form method="post" action="/authorize" class="consent"${automatic ? raw(" data-autosubmit") : ""}>
<input type="hidden" name="request" value="${checked.requestHash}">${csrfField(args.csrf)}<input type="hidden" name="choice" value="1">
<section class="card" aria-labelledby="share-h">
<h2 id="share-h">Exactly what would leave your wallet</h2>
${args.defaults ? notice("info", W.remembered) : ""}
${whatLeaves}
<p>Stays in your wallet: ${stays.map(claimLabel).join(", ")}.</p>
${levelTable(checked)}
</section>
${preview.credentialsLeft < LOW_BATCH_THRESHOLD ? notice("warn", `Only ${preview.credentialsLeft} unused credentials left in your wallet.`) : ""}
${automatic
    ? html`<div>
${notice("info", html`You chose to answer ${m.name} with one tap. (Undo under Remembered choices.)`)}
<div class="actions"><button type="submit">${W.share}</button>${declineButton}</div></div>`
    : html`<section class="card">
<h2>${W.decisionTitle}</h2>
${pinField("consent-pin", W.confirmPin)}
<label class="check"><input type="checkbox" name="remember" value="1"${args.defaults ? raw(" checked") : ""}> <span>${W.remember(m.name)}</span></label>
${levels.includes("verified") ? html`<label class="check"><input type="checkbox" name="one_tap" value="1"${args.defaults?.oneTap ? raw(" checked") : ""}> <span>${W.oneTap(m.name)}</span></label>` : ""}
<div class="actions"><button type="submit">${W.share}</button>${declineButton}</div>
</section>`}
</form>
${footer}`;
}

export function grantedPage(args: { grant: GrantEntry; automatic: boolean; credentialsLeft: number; csrf: string }): SafeHtml {
  const g = args.grant;
  return html`<h1>Shared with ${g.merchant.name}</h1>
${notice("ok", html`${args.automatic ? "Answered automatically, as you chose. " : ""}The merchant counter-signed your consent. Both receipts are being anchored on chain.`)}
<dl class="facts">
<dt>Level</dt><dd>${LEVEL_LABELS[g.level].name}</dd>
<dt>Shared</dt><dd>${g.claimNames.map(claimLabel).join(", ")}${g.pseudonym ? ", your pseudonym for this merchant" : ""}</dd>
<dt>Purpose</dt><dd>${g.purpose}</dd>
<dt>Grant</dt><dd><code>${g.grantId}</code></dd>
</dl>
${args.credentialsLeft < LOW_BATCH_THRESHOLD ? notice("warn", html`Only ${args.credentialsLeft} unused credentials left. <form method="post" action="/credentials/refresh" class="inline">${csrfField(args.csrf)}<button type="submit" class="link">Get a fresh batch</button></form>`) : ""}
${g.returnTo ? html`<p><a class="button" href="${g.returnTo}">Back to ${g.merchant.name}</a></p>` : html`<p>You can go back to the merchant's page now.</p>`}
<p><a href="/grants">See all your grants</a></p>`;
}

function anchorState(entry: GrantEntry, which: "consent" | "grant"): SafeHtml {
  const a = entry.anchors?.[which];
  const status = a?.status ?? "unknown";
  const onChain = a?.anchor as { blockNumber?: number; txHash?: string } | undefined;
  return html`<span class="state ${status}">${ANCHOR_STATE_WORDS[status] ?? status}</span>${onChain?.blockNumber ? html` in block ${onChain.blockNumber}, transaction <code title="${onChain.txHash}">${shortId(onChain.txHash ?? "", 10)}</code>` : ""}`;
}

export const isSettled = (g: GrantEntry): boolean => !!g.withdrawal || (g.anchors?.consent?.status === "anchored" && g.anchors?.grant?.status === "anchored");

export function grantsPage(args: { grants: GrantEntry[]; flash?: SafeHtml; unreachable: Set<string> }): SafeHtml {
  const grants = [...args.grants].sort((a, b) => b.grantedAt.localeCompare(a.grantedAt));
  const pending = grants.some((g) => !isSettled(g));
  return html`<h1>Your grants</h1>
${args.flash ?? ""}
${pending ? html`<p class="muted" data-poll="/grants/status" data-poll-while="pending" data-poll-ms="1500" aria-live="polite">Some receipts are still being anchored; this page updates by itself. <a href="/grants">Check again</a></p>` : ""}
${grants.length === 0 ? html`<p>No grants yet. When you share with a merchant, it appears here with its receipts.</p>` : ""}
${grants.map((g) => html`<article class="card" aria-labelledby="g-${g.grantId}">
<h2 id="g-${g.grantId}">${g.merchant.name}: ${LEVEL_LABELS[g.level].name}</h2>
${g.withdrawal ? html`<p><span class="state withdrawn">Withdrawn</span> on ${g.withdrawal.withdrawnAt.replace("T", " ").slice(0, 19)} UTC. The merchant confirmed, in a signed receipt, that it deleted its copy.</p>` : ""}
<dl class="facts">
<dt>When</dt><dd>${g.grantedAt.replace("T", " ").slice(0, 19)} UTC${g.automatic ? " (answered automatically)" : ""}</dd>
<dt>Shared</dt><dd>${g.claimNames.map(claimLabel).join(", ")}</dd>
${g.pseudonym ? html`<dt>Your pseudonym there</dt><dd><code title="${g.pseudonym}">${shortId(g.pseudonym)}</code></dd>` : ""}
<dt>Purpose</dt><dd>${g.purpose}</dd>
<dt>Your consent receipt</dt><dd>${args.unreachable.has(g.grantId) ? html`<span class="state pending">${ANCHOR_STATE_WORDS.unreachable}</span>` : anchorState(g, "consent")}</dd>
<dt>Merchant's receipt</dt><dd>${args.unreachable.has(g.grantId) ? "" : anchorState(g, "grant")}</dd>
<dt>Grant</dt><dd><code>${g.grantId}</code></dd>
</dl>
<p>
${g.anchors?.consent?.status === "anchored" && g.anchors?.grant?.status === "anchored" ? html`<a class="button secondary" href="/grants/${g.grantId}/evidence" download="evidence-${g.grantId}.json">Download evidence for a notary</a>` : ""}
${g.withdrawal ? "" : html`<a class="button secondary" href="/grants/${g.grantId}/withdraw">Withdraw…</a>`}
</p>
</article>`)}`;
}

export function withdrawConfirmPage(g: GrantEntry, csrf: string, hasRememberedChoice = false): SafeHtml {
  return html`<h1>Withdraw your grant to ${g.merchant.name}?</h1>
<p>${g.merchant.name} will delete what it holds from this grant${g.pseudonym ? " and close your member account" : ""}, and confirm it in a signed receipt. Both receipts are anchored on chain. This cannot be undone; you can grant again later.</p>
<dl class="facts"><dt>Level</dt><dd>${LEVEL_LABELS[g.level].name}</dd><dt>Shared</dt><dd>${g.claimNames.map(claimLabel).join(", ")}</dd><dt>When</dt><dd>${g.grantedAt.replace("T", " ").slice(0, 19)} UTC</dd></dl>
<form method="post" action="/grants/${g.grantId}/withdraw">${csrfField(csrf)}
${hasRememberedChoice ? html`<label class="check"><input type="checkbox" name="forget" value="1" checked> <span>Also forget the choice you remembered for ${g.merchant.name}</span></label>` : ""}
<button type="submit" class="danger">Withdraw this grant</button></form>
<p><a href="/grants">Keep it</a></p>`;
}

export function choicesPage(args: { choices: AnswerPolicy[]; csrf: string; flash?: string }): SafeHtml {
  return html`<h1>Remembered choices</h1>
${args.flash ? notice("ok", args.flash) : ""}
<p>Merchants whose choice your wallet pre-selects. Each answer still needs your PIN, except one-tap "Verified only" answers you turned on.</p>
${args.choices.length === 0
    ? html`<p>No remembered choices.</p>`
    : html`<div class="table-wrap"><table>
<thead><tr><th scope="col">Merchant</th><th scope="col">Level</th><th scope="col">Since</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
<tbody>${args.choices.map((p) => html`<tr><td>${p.merchantName}</td><td>${LEVEL_LABELS[p.level].name}</td><td>${p.createdAt.slice(0, 10)}</td><td>
<form method="post" action="/choices/forget">${csrfField(args.csrf)}<input type="hidden" name="merchantDid" value="${p.merchantDid}"><input type="hidden" name="level" value="${p.level}">
<button type="submit" class="secondary" aria-label="Forget ${p.merchantName}, ${LEVEL_LABELS[p.level].name}">Forget</button></form></td></tr>`)}</tbody>
</table></div>`}`;
}

export function loginPage(args: { merchantName: string; origin: string; login: string; unlocked: boolean; csrf?: string }): SafeHtml {
  return html`<h1>Log in to ${args.merchantName}</h1>
<p>Your wallet proves that you hold the member pseudonym you use at ${args.merchantName}. No identity data is shown, and no other merchant can recognise you.</p>
<p class="hint">At <code>${args.origin}</code>, a website the identity platform has registered for ${args.merchantName}.</p>
<form method="post" action="/login" class="card">
<input type="hidden" name="login" value="${args.login}">${csrfField(args.csrf)}
${args.unlocked ? "" : pinField("login-pin")}
<button type="submit">Log in</button>
</form>
<p><a href="/">Cancel</a></p>`;
}

/** The "start a grant" page's sentences, in one place (for a later translation). */
export const START_WORDS = {
  title: "Start a grant yourself",
  intro: "Pick a merchant registered with the identity platform. Your wallet asks it for a fresh request at the level you pick; you then review exactly what would leave and confirm with your PIN. Nothing is sent before that.",
  none: "No merchants are registered.",
  pseudonymous: (name: string) => `Open a pseudonymous account at ${name}`,
  verified: (name: string) => `Send "Verified only" to ${name}`,
};

export function merchantsPage(args: { merchants: ReadonlyArray<{ did: string; name: string; maxLevel: GrantLevel; purposes: readonly string[] }>; csrf: string }): SafeHtml {
  const W = START_WORDS;
  const can = (m: { maxLevel: GrantLevel }, level: GrantLevel) => GRANT_LEVELS.indexOf(level) <= GRANT_LEVELS.indexOf(m.maxLevel);
  return html`<h1>${W.title}</h1>
<p>${W.intro}</p>
${args.merchants.length === 0 ? html`<p>${W.none}</p>` : args.merchants.map((m) => html`<article class="card"><h2>${m.name}</h2>
<p class="hint">Registered for up to ${LEVEL_LABELS[m.maxLevel].name}: ${m.purposes.join("; ")}</p>
<form method="post" action="/merchants/start" class="actions">${csrfField(args.csrf)}<input type="hidden" name="merchant" value="${m.did}">
${can(m, "pseudonymous") ? html`<button type="submit" name="level" value="pseudonymous">${W.pseudonymous(m.name)}</button>` : ""}
<button type="submit" name="level" value="verified" class="secondary">${W.verified(m.name)}</button>
</form></article>`)}`;
}
