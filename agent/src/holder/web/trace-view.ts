import { html, type SafeHtml } from "../../web/html.js";
import { notice } from "../../web/layout.js";
import { claimLabel, LEVEL_LABELS } from "../../web/labels.js";
import type { TraceView } from "../../issuer/trace-service.js";

type Access = Extract<TraceView[number], { kind: "access" }> & { anchor?: { status: string; blockNumber?: number; txHash?: string } };
const utc = (iso: string) => `${iso.replace("T", " ").slice(0, 19)} UTC`;

/**
 * The person's trace at the platform (认证留痕): who obtained it under a legal request, when and why, first;
 * then every grant the platform recorded (names and hashes only: it never holds the values).
 */
export function tracePage(args: { trace?: TraceView; problem?: string; fetched: boolean }): SafeHtml {
  if (!args.fetched) {
    return html`<h1>Your trace at the platform</h1>
<p>The platform keeps a record of every grant you make and of every notary who obtained it. Your wallet fetches it only when you open this page from the wallet itself.</p>
<p><a class="button" href="/trace">Fetch my trace</a></p>`;
  }
  if (!args.trace) return html`<h1>Your trace at the platform</h1>${notice("error", args.problem ?? "The platform could not be reached.")}<p><a href="/trace">Try again</a></p>`;
  const grants = args.trace.filter((e) => e.kind === "grant");
  const accesses = args.trace.filter((e): e is Access => e.kind === "access");
  return html`<h1>Your trace at the platform</h1>
<p>What the platform records about your grants: the merchant, the level, the names of what was shared, when, and the receipts' fingerprints. Never the values themselves.</p>
<section aria-labelledby="accesses"><h2 id="accesses">Who obtained your trace</h2>
${accesses.length === 0
    ? html`<p data-accesses="0">No notary has obtained your trace or your identity behind a grant.</p>`
    : html`<div data-accesses="${String(accesses.length)}">
${accesses.map((a) => html`<article class="card"><h3>${a.notary.name}</h3>
<dl class="facts">
<dt>When</dt><dd>${utc(a.accessedAt)}</dd>
<dt>Legal basis</dt><dd>${a.legalBasis}</dd>
<dt>Case</dt><dd>${a.caseReference}</dd>
<dt>What they obtained</dt><dd>${a.scope === "grant" ? "your identity behind one grant, and this trace" : "this trace and your identity"}</dd>
<dt>Recorded on chain</dt><dd>${a.anchor?.status === "anchored" ? html`in block ${String(a.anchor.blockNumber)}` : a.anchor?.status ?? "queued"}</dd>
</dl></article>`)}
</div>`}
</section>
<section aria-labelledby="recorded"><h2 id="recorded">Grants the platform recorded</h2>
${grants.length === 0
    ? html`<p>No grants recorded yet.</p>`
    : html`<div data-grants="${String(grants.length)}">
${grants.map((g) => html`<article class="card"><h3>${g.merchant.name}: ${LEVEL_LABELS[g.level]?.name ?? g.level}</h3>
<dl class="facts">
<dt>When</dt><dd>${utc(g.grantedAt)}</dd>
<dt>Shared (names only)</dt><dd>${g.claimNames.map(claimLabel).join(", ")}</dd>
<dt>State</dt><dd>${g.withdrawnAt ? `withdrawn on ${utc(g.withdrawnAt)}` : g.anchors?.consent ? html`anchored in block ${String(g.anchors.consent.blockNumber ?? "?")}` : "recorded"}</dd>
</dl></article>`)}
</div>`}
</section>`;
}
