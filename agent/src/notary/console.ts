import { randomBytes } from "node:crypto";
import multer from "multer";
import type { Request, Response } from "express";
import { z } from "zod";
import { AgentError } from "../errors.js";
import { createServiceApp, handle, notFound, parseInput } from "../http/service-kit.js";
import type { AnchorRegistryClient } from "../anchoring/registry-contract.js";
import { connectTrustedRegistries, type TrustAnchors } from "./trust.js";
import { html, type SafeHtml } from "../web/html.js";
import { assets, notice, renderPage } from "../web/layout.js";
import { LEVEL_LABELS, claimLabel } from "../web/labels.js";
import { allowHosts, pageErrorHandler, sameOriginPost } from "../web/security.js";
import { evidenceBundleSchema, verifyEvidenceBundle, type EvidenceBundle, type EvidenceCheck, type EvidenceReport } from "./evidence.js";
import { renderEvidenceReport } from "./report.js";
import type { JwsSigner } from "../crypto/jws.js";
import { attestedPersonSchema, uploadIdentityAttestation } from "./identity-attestation.js";
import { MAX_PORTRAIT_BYTES } from "../issuer/portrait-input.js";

export interface NotaryConsoleDeps {
  /** The chain endpoint every bundle's roots are compared with. */
  rpcUrl: string;
  /** What this notary trusts (chain, registry contracts, issuers); bundles are checked against these, never their own. */
  trust: TrustAnchors;
  /** Host headers answered (the console's own address). */
  allowedHosts?: () => readonly string[];
  clock?: () => Date;
  log?: (line: string) => void;
  /** How many verified reports stay available (in memory only, never written to disk). */
  keepReports?: number;
  /** In-person identity uploads to this issuer, signed as this notary (the /attest page); absent: no such page. */
  attest?: { issuerUrl: string; notaryDid: string; signer: JwsSigner };
}

const BRAND = "Notary console";
const MAX_BUNDLE_BYTES = 2 * 1024 * 1024;

/** What each check means, in the words a notary writes in a report. */
export const CHECK_WORDS: Record<string, string> = {
  "bundle-format": "The file is an evidence bundle in the published format",
  "consent-receipt-signature": "The person's consent receipt is signed by the person's key and unaltered",
  "grant-receipt-signature": "The merchant's grant receipt is signed by the merchant and unaltered",
  "grant-countersigns-consent": "The merchant's receipt counter-signs exactly this consent",
  "consent-leaf": "The consent receipt is the leaf that was anchored",
  "grant-leaf": "The grant receipt is the leaf that was anchored",
  "consent-merkle-path": "The consent receipt belongs to the anchored batch",
  "grant-merkle-path": "The grant receipt belongs to the anchored batch",
  "consent-root-on-chain": "The trusted registry on chain shows the consent batch where the bundle says",
  "grant-root-on-chain": "The trusted registry on chain shows the grant batch where the bundle says",
  "trust-anchors": "The notary's own trust anchors (chain, registry contract, issuers) are configured",
  "consent-signed-by-holder": "The consent is signed by the holder key the merchant's receipt names",
  "merchant-registered": "The merchant is in the trusted issuer's signed registry it relied on",
  "times-consistent": "The consent and the grant are dated before the blocks that anchored them",
  "presentation-issuer-trusted": "The presented credential was issued by a trusted issuer to the consenting key",
  "registry-snapshot-merkle-path": "The merchant registry belongs to the issuer's anchored batch",
  "registry-snapshot-on-chain": "The trusted registry on chain shows the merchant registry's batch",
  "withdrawal-receipt": "The person's withdrawal is signed by the key that consented",
  "withdrawal-acknowledgement": "The merchant acknowledged the withdrawal",
  "withdrawal-leaf": "The withdrawal is the leaf that was anchored",
  "withdrawal-merkle-path": "The withdrawal belongs to the anchored batch",
  "withdrawal-acknowledgement-leaf": "The acknowledgement is the leaf that was anchored",
  "withdrawal-acknowledgement-merkle-path": "The acknowledgement belongs to the anchored batch",
  "withdrawal-root-on-chain": "The trusted registry on chain shows the withdrawal's batch",
  "withdrawal-acknowledgement-root-on-chain": "The trusted registry on chain shows the acknowledgement's batch",
  "presentation-matches-consent": "The included presentation is the one the person consented to send",
  "status-snapshot": "The issuer's status list the merchant relied on is authentic",
  "status-snapshot-merkle-path": "The status list belongs to the issuer's anchored batch",
  "status-snapshot-on-chain": "The chain shows the status list's batch where the bundle says",
};
const STATUS_WORDS = { pass: "passed", fail: "FAILED", "cannot-check": "could not be checked" } as const;

interface StoredReport {
  bundle: EvidenceBundle;
  report: EvidenceReport;
  verifiedAt: Date;
  fileName: string;
  chainNote?: string;
}

/**
 * The notary's console: upload an evidence bundle, read every check in words, see the anchoring
 * transaction and block, print the report. Reports are kept in memory for this console only.
 */
export function createNotaryConsoleApp(deps: NotaryConsoleDeps) {
  const clock = deps.clock ?? (() => new Date());
  const keep = deps.keepReports ?? 100;
  const reports = new Map<string, StoredReport>();
  const app = createServiceApp({ log: deps.log, rateLimit: { max: 300, windowMs: 60_000 } });
  if (deps.allowedHosts) app.use(allowHosts(deps.allowedHosts));
  app.use("/assets", assets());
  app.use(sameOriginPost);
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: MAX_BUNDLE_BYTES, files: 1, fields: 4, parts: 6 } }).single("bundle");
  const nav = [{ href: "/", label: "Verify a bundle" }, ...(deps.attest ? [{ href: "/attest", label: "Upload an identity" }] : [])];
  const send = (res: Response, title: string, main: SafeHtml, status = 200) =>
    res.status(status).type("html").send(renderPage({ title, brand: BRAND, nav, main }));

  app.get("/", (_req, res) => {
    send(res, "Verify an evidence bundle", html`<h1>Verify an evidence bundle</h1>
<p>A bundle holds a grant's two signed receipts, their Merkle proofs and where their batches were anchored. Every signature, hash and path is recomputed here, and each root is compared with the chain at <code>${deps.rpcUrl}</code>.</p>
${trustView(deps.trust)}
<form method="post" action="/verify" enctype="multipart/form-data" class="card">
<label for="bundle">Evidence bundle (a .json file)</label>
<input type="file" id="bundle" name="bundle" accept=".json,application/json" required>
<p class="hint">The file stays on this console's machine: it is checked in memory and not stored.</p>
<button type="submit">Verify</button>
</form>`);
  });

  app.post("/verify", (req, res, next) => upload(req, res, (error: unknown) => next(error ? uploadError(error) : undefined)), handle(async (req, res) => {
    const file = (req as Request & { file?: { buffer: Buffer; originalname: string } }).file;
    if (!file || file.buffer.length === 0) throw new AgentError("ERR_NO_FILE", "no file was uploaded");
    let input: unknown;
    try {
      input = JSON.parse(file.buffer.toString("utf8"));
    } catch {
      throw new AgentError("ERR_BUNDLE_NOT_JSON", "the file is not JSON");
    }
    const parsed = evidenceBundleSchema.safeParse(input);
    if (!parsed.success) throw new AgentError("ERR_NOT_A_BUNDLE", "the file is not an evidence bundle");
    const bundle = parsed.data;
    // Only the registries this notary trusts are asked, whatever contract the bundle names.
    let registries: AnchorRegistryClient[] = [];
    let chainNote: string | undefined;
    const trust = { ...deps.trust, rpcUrl: deps.rpcUrl };
    try {
      registries = await connectTrustedRegistries(trust);
    } catch {
      chainNote = `The chain at ${deps.rpcUrl} could not be reached, so the on-chain checks could not be made. Nothing here says the receipts were not anchored; check again when the chain answers.`;
    }
    let report: EvidenceReport;
    try {
      report = await verifyEvidenceBundle(bundle, { trust, registry: registries });
    } finally {
      for (const r of registries) r.close();
    }
    const id = randomBytes(16).toString("base64url");
    reports.set(id, { bundle, report, verifiedAt: clock(), fileName: file.originalname.slice(0, 200), chainNote });
    while (reports.size > keep) reports.delete(reports.keys().next().value!);
    deps.log?.(JSON.stringify({ t: clock().toISOString(), event: "bundle-verified", verified: report.verified, checks: report.checks.length }));
    res.redirect(303, `/reports/${id}`);
  }));

  if (deps.attest) {
    const attest = deps.attest;
    const portraitUpload = multer({ storage: multer.memoryStorage(), limits: { fileSize: MAX_PORTRAIT_BYTES, files: 1, fields: 6, parts: 8 } }).single("portrait");
    app.get("/attest", (_req, res) => {
      send(res, "Upload an identity verified in person", html`<h1>Upload an identity verified in person</h1>
<p>You checked the person's ID document and saw them. The issuer at <code>${attest.issuerUrl}</code> cross-checks the details and your portrait with its identity registry; an identity already verified by registry and face is never replaced (the upload goes to review instead).</p>
<form method="post" action="/attest" enctype="multipart/form-data" class="card">
<label for="idNumber">ID number</label><input id="idNumber" name="idNumber" required maxlength="18" autocomplete="off">
<label for="fullName">Full name</label><input id="fullName" name="fullName" required maxlength="64" autocomplete="off">
<label for="familyName">Family name</label><input id="familyName" name="familyName" required maxlength="32" autocomplete="off">
<label for="givenName">Given name</label><input id="givenName" name="givenName" required maxlength="32" autocomplete="off">
<label for="birthDate">Birth date</label><input id="birthDate" name="birthDate" type="date" required>
<label for="portrait">Portrait you took (PNG or JPEG)</label><input type="file" id="portrait" name="portrait" accept="image/png,image/jpeg" required>
<button type="submit">Sign and upload</button>
</form>`);
    });
    app.post("/attest", (req, res, next) => portraitUpload(req, res, (error: unknown) => next(error ? uploadError(error) : undefined)), handle(async (req, res) => {
      const file = (req as Request & { file?: { buffer: Buffer } }).file;
      if (!file || file.buffer.length === 0) throw new AgentError("ERR_NO_FILE", "no portrait was uploaded");
      const person = parseInput(attestedPersonSchema, req.body);
      const result = await uploadIdentityAttestation({ issuerUrl: attest.issuerUrl, notaryDid: attest.notaryDid, signer: attest.signer, person, portrait: file.buffer });
      deps.log?.(JSON.stringify({ t: clock().toISOString(), event: "identity-attested" }));
      send(res, "Identity uploaded", html`<h1>Identity uploaded</h1>
${notice("ok", "The issuer accepted the identity. Give the person this credential offer (their wallet scans it or opens the link).")}
<p><a href="${result.credentialOffer}" data-credential-offer>Open the credential offer</a> (valid until ${result.expiresAt})</p>
<pre class="qr" aria-label="Credential offer QR code">${result.qrText}</pre>
<p><a class="button secondary" href="/attest">Upload another identity</a></p>`, 201);
    }));
  }

  const reportOf = (req: Request): StoredReport => {
    const id = parseInput(z.string().regex(/^[A-Za-z0-9_-]{22}$/), req.params.id);
    const stored = reports.get(id);
    if (!stored) throw new AgentError("ERR_REPORT_NOT_FOUND", "no such report");
    return stored;
  };

  app.get("/reports/:id", handle(async (req, res) => {
    const stored = reportOf(req);
    send(res, stored.report.verified ? "Verified" : "Not verified", reportView(stored, req.params.id as string, deps.rpcUrl));
  }));

  /** The printable report: self-contained HTML (our existing report renderer), printable to paper or PDF. */
  app.get("/reports/:id/print", handle(async (req, res) => {
    const stored = reportOf(req);
    res.type("html").send(renderEvidenceReport(stored.bundle, stored.report, { generatedAt: stored.verifiedAt, rpcUrl: stored.chainNote ? undefined : deps.rpcUrl }));
  }));

  app.use(notFound);
  app.use(pageErrorHandler({ brand: BRAND, log: deps.log, back: { href: "/", label: "Verify a bundle" }, wording: consoleWords }));
  return app;
}

function uploadError(error: unknown): AgentError {
  const code = (error as { code?: string })?.code;
  if (code === "LIMIT_FILE_SIZE") return new AgentError("ERR_BODY_TOO_LARGE", "the file is too large");
  if (typeof code === "string" && code.startsWith("LIMIT_")) return new AgentError("ERR_INVALID_INPUT", "the upload has too many parts");
  return new AgentError("ERR_BAD_REQUEST", "the upload could not be read");
}

function consoleWords(error: AgentError): string | undefined {
  return {
    ERR_NO_FILE: "Choose a bundle file first.",
    ERR_BUNDLE_NOT_JSON: "This file is not JSON, so it cannot be an evidence bundle.",
    ERR_NOT_A_BUNDLE: "This file is not an evidence bundle (format realname-evidence-bundle, version 1). Ask for the bundle the wallet or the notary command line wrote.",
    ERR_BODY_TOO_LARGE: `This file is larger than an evidence bundle can be (${MAX_BUNDLE_BYTES / 1024 / 1024} MB).`,
    ERR_REPORT_NOT_FOUND: "This report is no longer kept by the console (reports live in memory only). Upload the bundle again.",
    ERR_INVALID_INPUT: "The upload could not be read, or a field is missing or malformed (for an identity: the ID number, names and birth date as on the document).",
    ERR_BAD_REQUEST: "The upload could not be read. Send one bundle file.",
    ERR_IDENTITY_CONFLICT: "This person's identity was already verified by the registry and a face check. Your upload does not replace it; it was sent to the issuer's review.",
    ERR_ATTESTATION_REGISTRY_MISMATCH: "The details or the portrait do not agree with the identity registry. Nothing was stored; the upload was sent to the issuer's review.",
    ERR_IMAGE_UNREADABLE: "The portrait cannot be read as an image. Upload a PNG or JPEG photo.",
  }[error.code];
}

function reportView(stored: StoredReport, id: string, rpcUrl: string): SafeHtml {
  const { report, bundle } = stored;
  const s = report.summary;
  const when = (t: number) => `${new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19)} UTC`;
  const anchorRows = [
    ...(bundle.anchors.consent ? [["The person's consent receipt", bundle.anchors.consent] as const] : []),
    ["The merchant's grant receipt", bundle.anchors.grant],
    ...(bundle.statusSnapshot ? [["The issuer's status list", bundle.statusSnapshot.anchor] as const] : []),
    ...(bundle.registrySnapshot ? [["The issuer's merchant registry", bundle.registrySnapshot.anchor] as const] : []),
    ...(bundle.withdrawal ? [["The person's withdrawal", bundle.withdrawal.anchors.receipt] as const, ["The merchant's acknowledgement", bundle.withdrawal.anchors.acknowledgement] as const] : []),
  ] as const;
  const failed = report.checks.filter((c) => c.status === "fail");
  return html`<h1>${report.verified ? "Verified: every check passed" : failed.length ? "Not verified: a check failed" : "Not verified: some checks could not be made"}</h1>
${report.verified
    ? s?.withdrawal
      ? notice("warn", `The receipts are authentic and unaltered, and the chain shows their batches anchored as stated below. The person WITHDREW this grant on ${s.withdrawal.withdrawnAt}${s.withdrawal.acknowledgedAt ? `; the merchant acknowledged it on ${s.withdrawal.acknowledgedAt}` : ""}. Neither side can deny the grant nor its withdrawal.`)
      : notice("ok", "The receipts are authentic and unaltered, and the chain shows their batches anchored as stated below. Neither side can deny this grant.")
    : failed.length
      ? notice("error", html`${failed.length === 1 ? "One check failed" : `${failed.length} checks failed`}: ${failed.map((c) => checkWords(c)).join("; ")}. This bundle does not prove what it claims.`)
      : notice("warn", "Nothing failed, but some checks could not be made (see below).")}
${stored.chainNote ? notice("warn", stored.chainNote) : ""}
<p class="muted">File ${stored.fileName}, checked ${stored.verifiedAt.toISOString().replace("T", " ").slice(0, 19)} UTC against ${rpcUrl}.</p>
<p><a class="button" href="/reports/${id}/print">Open the printable report</a> <a class="button secondary" href="/">Verify another bundle</a></p>
<section aria-labelledby="what-h"><h2 id="what-h">What was granted</h2>
${s
    ? html`<dl class="facts">
<dt>Merchant</dt><dd>${s.merchant}</dd>
<dt>Level</dt><dd>${LEVEL_LABELS[s.level as keyof typeof LEVEL_LABELS]?.name ?? s.level}</dd>
<dt>Shared (names only)</dt><dd>${s.claimNames.map(claimLabel).join(", ")}</dd>
<dt>Stated purpose</dt><dd>${s.purpose}</dd>
<dt>Consent given</dt><dd>${s.consentedAt}</dd>
<dt>Counter-signed</dt><dd>${s.grantedAt}</dd>
<dt>Person's key</dt><dd><code>${s.holder}</code></dd>
${s.registeredAs ? html`<dt>Registered as</dt><dd>${s.registeredAs}</dd>` : ""}
${s.withdrawal ? html`<dt>Withdrawn</dt><dd data-withdrawn="${s.withdrawal.withdrawnAt}">${s.withdrawal.withdrawnAt}${s.withdrawal.acknowledgedAt ? `, acknowledged by the merchant ${s.withdrawal.acknowledgedAt}` : ""}</dd>` : ""}
</dl>`
    : html`<p>The receipts could not be read.</p>`}
</section>
<section aria-labelledby="anchor-h"><h2 id="anchor-h">Where it was anchored</h2>
<p>The bundle names chain ${bundle.anchors.grant.chainId}, registry contract <code>${bundle.anchors.grant.contract}</code>.</p>
${anchorRows.map(([label, a]) => html`<div class="card"><h3>${label}</h3><dl class="facts">
<dt>Transaction</dt><dd><code>${a.txHash}</code></dd>
<dt>Block</dt><dd>${a.blockNumber} <span class="muted">(hash <code>${a.blockHash}</code>)</span></dd>
<dt>Time</dt><dd>${when(a.timestamp)}</dd>
<dt>Batch root</dt><dd><code>${a.root}</code></dd>
</dl></div>`)}
</section>
<section aria-labelledby="trust-h"><h2 id="trust-h">What this notary trusts</h2>
${trustView(report.trustAnchors)}
</section>
<section aria-labelledby="checks-h"><h2 id="checks-h">Every check</h2>
<div class="table-wrap"><table>
<thead><tr><th scope="col">What was checked</th><th scope="col">Result</th><th scope="col">Detail</th></tr></thead>
<tbody>${report.checks.map((c) => html`<tr data-check="${c.check}"><td>${checkWords(c)}</td><td><span class="state ${c.status}">${STATUS_WORDS[c.status]}</span></td><td>${c.detail}</td></tr>`)}</tbody>
</table></div>
</section>`;
}

/** The trust anchors a verdict rests on, in words. */
function trustView(t: { chainId?: string; rpcUrl?: string; contracts: string[]; issuers: string[]; source?: string; registrySnapshot?: { hash: string; issuer?: string; issuedAt?: string } }): SafeHtml {
  return html`<dl class="facts" data-trust-anchors>
<dt>Chain</dt><dd>${t.chainId ?? "the endpoint's"} at <code>${t.rpcUrl ?? "-"}</code></dd>
<dt>Registry contract</dt><dd>${t.contracts.map((c) => html`<code>${c}</code> `)}</dd>
<dt>Trusted issuers</dt><dd>${t.issuers.length ? t.issuers.map((d) => html`<code>${d}</code> `) : "none configured"}</dd>
${t.registrySnapshot ? html`<dt>Merchant registry relied on</dt><dd><code>${t.registrySnapshot.hash}</code>, issued ${t.registrySnapshot.issuedAt ?? "?"}</dd>` : ""}
${t.source ? html`<dt>Configured by</dt><dd>${t.source}</dd>` : ""}
</dl>`;
}

const checkWords = (c: EvidenceCheck): string => CHECK_WORDS[c.check] ?? c.check.replace(/-/g, " ");
