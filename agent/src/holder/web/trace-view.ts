import { html, type SafeHtml } from "../../web/html.js";
import { notice } from "../../web/layout.js";
import { claimName, levelName } from "../../web/labels.js";
import { formatTime, type Translate } from "../../i18n/index.js";
import type { TraceView } from "../../issuer/trace-service.js";
import type { GrantLevel } from "../../sdjwt/identity-credential.js";

type Access = Extract<TraceView[number], { kind: "access" }> & { anchor?: { status: string; blockNumber?: number; txHash?: string } };

/**
 * The person's trace at the platform (认证留痕): who obtained it under a legal request, when and why, first;
 * then every grant the platform recorded (names and hashes only: it never holds the values).
 */
export function tracePage(t: Translate, args: { trace?: TraceView; problem?: string; fetched: boolean }): SafeHtml {
  if (!args.fetched) {
    return html`<h1>${t("wallet.trace.heading")}</h1>
<p>${t("wallet.trace.explainFetch")}</p>
<p><a class="button" href="/trace">${t("wallet.trace.fetch")}</a></p>`;
  }
  if (!args.trace) return html`<h1>${t("wallet.trace.heading")}</h1>${notice("error", args.problem ?? t("wallet.trace.unreachable"))}<p><a href="/trace">${t("wallet.trace.tryAgain")}</a></p>`;
  const grants = args.trace.filter((e) => e.kind === "grant");
  const accesses = args.trace.filter((e): e is Access => e.kind === "access");
  const names = (claims: readonly string[]) => claims.map((n) => claimName(t, n)).join(t("wallet.listSeparator"));
  return html`<h1>${t("wallet.trace.heading")}</h1>
<p>${t("wallet.trace.intro")}</p>
<section aria-labelledby="accesses"><h2 id="accesses">${t("wallet.trace.who")}</h2>
${accesses.length === 0
    ? html`<p data-accesses="0">${t("wallet.trace.nobody")}</p>`
    : html`<div data-accesses="${String(accesses.length)}">
${accesses.map((a) => html`<article class="card"><h3>${a.notary.name}</h3>
<dl class="facts">
<dt>${t("wallet.trace.when")}</dt><dd>${formatTime(a.accessedAt)}</dd>
<dt>${t("wallet.trace.legalBasis")}</dt><dd>${a.legalBasis}</dd>
<dt>${t("wallet.trace.case")}</dt><dd>${a.caseReference}</dd>
<dt>${t("wallet.trace.obtained")}</dt><dd>${a.scope === "grant" ? t("wallet.trace.scopeGrant") : t("wallet.trace.scopePerson")}</dd>
<dt>${t("wallet.trace.onChain")}</dt><dd>${a.anchor?.status === "anchored" ? t("wallet.trace.inBlock", { block: String(a.anchor.blockNumber) }) : a.anchor?.status ?? t("wallet.trace.queued")}</dd>
</dl></article>`)}
</div>`}
</section>
<section aria-labelledby="recorded"><h2 id="recorded">${t("wallet.trace.recorded")}</h2>
${grants.length === 0
    ? html`<p>${t("wallet.trace.noGrants")}</p>`
    : html`<div data-grants="${String(grants.length)}">
${grants.map((g) => html`<article class="card"><h3>${g.merchant.name}: ${levelName(t, g.level as GrantLevel)}</h3>
<dl class="facts">
<dt>${t("wallet.trace.when")}</dt><dd>${formatTime(g.grantedAt)}</dd>
<dt>${t("wallet.trace.sharedNames")}</dt><dd>${names(g.claimNames)}</dd>
<dt>${t("wallet.trace.state")}</dt><dd>${g.withdrawnAt ? t("wallet.trace.withdrawnOn", { when: formatTime(g.withdrawnAt) }) : g.anchors?.consent ? t("wallet.trace.anchoredIn", { block: String(g.anchors.consent.blockNumber ?? "?") }) : t("wallet.trace.recordedState")}</dd>
</dl></article>`)}
</div>`}
</section>`;
}
