import type { EvidenceBundle, EvidenceReport } from "./evidence.js";

const esc = (s: unknown) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/**
 * A human-readable evidence report (self-contained HTML, printable to PDF): who granted what to whom,
 * when, at which level, and how each fact was checked. No external resources.
 */
export function renderEvidenceReport(bundle: EvidenceBundle, report: EvidenceReport, meta: { generatedAt: Date; notary?: string; rpcUrl?: string }): string {
  const s = report.summary;
  const a = bundle.anchors;
  const t = report.trustAnchors;
  const row = (k: string, v: string) => `<tr><th scope="row">${esc(k)}</th><td>${v}</td></tr>`;
  const badge = (status: string) => `<span class="s ${esc(status)}">${esc(status === "pass" ? "passed" : status === "fail" ? "FAILED" : "could not be checked")}</span>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evidence report: ${esc(s?.level ?? "grant")} grant to ${esc(s?.merchant ?? "unknown merchant")}</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #111; }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid #eee; }
  th[scope=row] { width: 14rem; font-weight: 600; } code { font-size: .85em; word-break: break-all; }
  .verdict { padding: .75rem 1rem; border: 2px solid; font-weight: 700; } .ok { border-color: #1a7f37; color: #1a7f37; } .bad { border-color: #b42318; color: #b42318; }
  .s { font-weight: 600; } .s.pass { color: #1a7f37; } .s.fail { color: #b42318; } .s.cannot-check { color: #9a6700; }
  @media print { body { margin: 0; } a { color: inherit; } }
</style>
</head>
<body>
<h1>Evidence report on a graded identity grant</h1>
<p class="verdict ${report.verified ? "ok" : "bad"}">${report.verified ? "Every check passed: the receipts are authentic, unaltered, and were anchored on chain as stated below." : "Not verified: at least one check failed or could not be made (see below)."}</p>
${s?.withdrawal ? `<p class="verdict bad" data-withdrawn>This grant was WITHDRAWN by the person on ${esc(s.withdrawal.withdrawnAt)}${s.withdrawal.acknowledgedAt ? `; the merchant acknowledged the withdrawal on ${esc(s.withdrawal.acknowledgedAt)}${s.withdrawal.dataDeleted ? " and deleted its copy of the data" : ""}` : ""}. The consent below held only until then.</p>` : ""}
<h2>What was granted</h2>
<table>
${s ? [
    row("Merchant (data controller)", esc(s.merchant)),
    row("Person (consenting key)", `<code>${esc(s.holder)}</code>`),
    row("Level", esc(s.level)),
    row("Claims disclosed (names only)", esc(s.claimNames.join(", "))),
    row("Stated purpose", esc(s.purpose)),
    row("Consent given", esc(s.consentedAt)),
    row("Grant counter-signed", esc(s.grantedAt)),
    ...(s.registeredAs ? [row("Registered with the issuer as", esc(s.registeredAs))] : []),
    ...(s.withdrawal ? [row("Withdrawn", `${esc(s.withdrawal.withdrawnAt)}${s.withdrawal.acknowledgedAt ? `, acknowledged by the merchant ${esc(s.withdrawal.acknowledgedAt)}` : ""}`)] : []),
  ].join("\n") : row("Receipts", "could not be read")}
</table>
<h2>Where it was anchored</h2>
<table>
${row("Chain id", esc(a.grant.chainId))}
${row("Registry contract", `<code>${esc(a.grant.contract)}</code>`)}
${a.consent ? row("Consent receipt root", `<code>${esc(a.consent.root)}</code> in block ${esc(a.consent.blockNumber)} at ${esc(new Date(a.consent.timestamp * 1000).toISOString())}, transaction <code>${esc(a.consent.txHash)}</code>`) : row("Consent", "no consent receipt: the person's signed presentation (key-binding JWT over the grant terms) is the consent")}
${row("Grant receipt root", `<code>${esc(a.grant.root)}</code> in block ${esc(a.grant.blockNumber)} at ${esc(new Date(a.grant.timestamp * 1000).toISOString())}, transaction <code>${esc(a.grant.txHash)}</code>`)}
${bundle.withdrawal ? row("Withdrawal root", `<code>${esc(bundle.withdrawal.anchors.receipt.root)}</code> in block ${esc(bundle.withdrawal.anchors.receipt.blockNumber)} at ${esc(new Date(bundle.withdrawal.anchors.receipt.timestamp * 1000).toISOString())}`) : ""}
</table>
<h2>What this notary trusts</h2>
<table>
${row("Trusted chain", `${esc(t.chainId ?? "the endpoint's")} at <code>${esc(t.rpcUrl ?? "-")}</code>`)}
${row("Trusted registry contract", t.contracts.map((c) => `<code>${esc(c)}</code>`).join(", ") || "none")}
${row("Trusted issuers", t.issuers.map((d) => `<code>${esc(d)}</code>`).join(", ") || "none configured")}
${t.registrySnapshot ? row("Merchant registry relied on", `<code>${esc(t.registrySnapshot.hash)}</code>, signed by <code>${esc(t.registrySnapshot.issuer)}</code>, issued ${esc(t.registrySnapshot.issuedAt)}`) : ""}
${t.source ? row("Configured by", esc(t.source)) : ""}
</table>
<h2>How each fact was checked</h2>
<table>
<thead><tr><th>Check</th><th>Result</th><th>Detail</th></tr></thead>
<tbody>
${report.checks.map((c) => `<tr><td>${esc(c.check)}</td><td>${badge(c.status)}</td><td>${c.code ? `<code>${esc(c.code)}</code> ` : ""}${esc(c.detail)}</td></tr>`).join("\n")}
</tbody>
</table>
<h2>About this report</h2>
<table>
${row("Generated", esc(meta.generatedAt.toISOString()))}
${meta.notary ? row("Notary", `<code>${esc(meta.notary)}</code>`) : ""}
${row("Chain endpoint consulted", esc(meta.rpcUrl ?? "none (offline checks only)"))}
${row("Bundle format", `${esc(bundle.format)} v${esc(bundle.version)}, created ${esc(bundle.createdAt)}`)}
</table>
<p>The receipts are W3C Verifiable Credentials (JWT) signed by the person's key and the merchant's key; each is hashed with a
secret salt into a Merkle tree whose root is written to the registry contract, so no personal data is on chain. The
checks above recompute every signature, hash and Merkle path from the bundle and compare the roots with the registry contract
this notary trusts (never one the bundle names); the merchant must be in the signed registry of a trusted issuer.</p>
</body>
</html>
`;
}
