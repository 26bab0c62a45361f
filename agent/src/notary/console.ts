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
import { claimName, levelName } from "../web/labels.js";
import { languageSwitch, pageWords } from "../web/lang.js";
import { formatTime, translator, type Translate } from "../i18n/index.js";
import type { GrantLevel } from "../sdjwt/identity-credential.js";
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

const MAX_BUNDLE_BYTES = 2 * 1024 * 1024;

/** What each check means, in the words a notary writes in a report (English; the pages use the reader's language). */
export const CHECK_WORDS: Record<string, string> = translator("en")("console.checks", { returnObjects: true }) as Record<string, string>;

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
  const nav = (t: Translate) => [{ href: "/", label: t("console.nav.verify") }, ...(deps.attest ? [{ href: "/attest", label: t("console.nav.attest") }] : [])];
  // Chinese unless the reader asks for English (?lang=, Accept-Language), like every page of the project.
  const send = (req: Request, res: Response, title: string, main: SafeHtml, status = 200) => {
    const { lang, t } = pageWords(req, res);
    res.status(status).type("html").send(renderPage({ title, brand: t("console.brand"), lang, nav: nav(t), headerEnd: languageSwitch(req, lang), main }));
  };

  app.get("/", (req, res) => {
    const { t } = pageWords(req, res);
    send(req, res, t("console.verifyTitle"), html`<h1>${t("console.verifyTitle")}</h1>
<p>${t("console.verifyIntro", { rpcUrl: deps.rpcUrl })}</p>
${trustView(t, deps.trust)}
<form method="post" action="/verify" enctype="multipart/form-data" class="card">
<label for="bundle">${t("console.bundleLabel")}</label>
<input type="file" id="bundle" name="bundle" accept=".json,application/json" required>
<p class="hint">${t("console.bundleHint")}</p>
<button type="submit">${t("console.verifyButton")}</button>
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
      chainNote = pageWords(req).t("console.chainNote", { rpcUrl: deps.rpcUrl });
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
    app.get("/attest", (req, res) => {
      const { t } = pageWords(req, res);
      send(req, res, t("console.attestTitle"), html`<h1>${t("console.attestTitle")}</h1>
<p>${t("console.attestIntro", { issuerUrl: attest.issuerUrl })}</p>
<form method="post" action="/attest" enctype="multipart/form-data" class="card">
<label for="idNumber">${t("console.idNumber")}</label><input id="idNumber" name="idNumber" required maxlength="18" autocomplete="off">
<label for="fullName">${t("console.fullName")}</label><input id="fullName" name="fullName" required maxlength="64" autocomplete="off">
<label for="familyName">${t("console.familyName")}</label><input id="familyName" name="familyName" required maxlength="32" autocomplete="off">
<label for="givenName">${t("console.givenName")}</label><input id="givenName" name="givenName" required maxlength="32" autocomplete="off">
<label for="birthDate">${t("console.birthDate")}</label><input id="birthDate" name="birthDate" type="date" required>
<label for="portrait">${t("console.portrait")}</label><input type="file" id="portrait" name="portrait" accept="image/png,image/jpeg" required>
<button type="submit">${t("console.attestButton")}</button>
</form>`);
    });
    app.post("/attest", (req, res, next) => portraitUpload(req, res, (error: unknown) => next(error ? uploadError(error) : undefined)), handle(async (req, res) => {
      const file = (req as Request & { file?: { buffer: Buffer } }).file;
      if (!file || file.buffer.length === 0) throw new AgentError("ERR_NO_FILE", "no portrait was uploaded");
      const person = parseInput(attestedPersonSchema, req.body);
      const result = await uploadIdentityAttestation({ issuerUrl: attest.issuerUrl, notaryDid: attest.notaryDid, signer: attest.signer, person, portrait: file.buffer });
      deps.log?.(JSON.stringify({ t: clock().toISOString(), event: "identity-attested" }));
      const { t } = pageWords(req, res);
      send(req, res, t("console.uploadedTitle"), html`<h1>${t("console.uploadedTitle")}</h1>
${notice("ok", t("console.uploadedNotice"))}
<p><a href="${result.credentialOffer}" data-credential-offer>${t("console.openOffer")}</a> ${t("console.validUntil", { when: formatTime(result.expiresAt) })}</p>
<pre class="qr" aria-label="${t("console.offerQr")}">${result.qrText}</pre>
<p><a class="button secondary" href="/attest">${t("console.uploadAnother")}</a></p>`, 201);
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
    const { t } = pageWords(req, res);
    send(req, res, t(stored.report.verified ? "console.verifiedTitle" : "console.notVerifiedTitle"), reportView(t, stored, req.params.id as string, deps.rpcUrl));
  }));

  /** The printable report: self-contained HTML (our existing report renderer), printable to paper or PDF. */
  app.get("/reports/:id/print", handle(async (req, res) => {
    const stored = reportOf(req);
    res.type("html").send(renderEvidenceReport(stored.bundle, stored.report, { generatedAt: stored.verifiedAt, rpcUrl: stored.chainNote ? undefined : deps.rpcUrl }));
  }));

  app.use(notFound);
  app.use(pageErrorHandler({
    brand: (req) => pageWords(req).t("console.brand"),
    log: deps.log,
    back: (req) => ({ href: "/", label: pageWords(req).t("console.nav.verify") }),
    heading: (req) => {
      const { lang, t } = pageWords(req);
      return { title: t("checkout.notDone"), lang };
    },
    wording: (error, req) => consoleWords(pageWords(req).t, error),
  }));
  return app;
}

function uploadError(error: unknown): AgentError {
  const code = (error as { code?: string })?.code;
  if (code === "LIMIT_FILE_SIZE") return new AgentError("ERR_BODY_TOO_LARGE", "the file is too large");
  if (typeof code === "string" && code.startsWith("LIMIT_")) return new AgentError("ERR_INVALID_INPUT", "the upload has too many parts");
  return new AgentError("ERR_BAD_REQUEST", "the upload could not be read");
}

function consoleWords(t: Translate, error: AgentError): string | undefined {
  return t(`console.errors.${error.code}`, { defaultValue: "", mb: MAX_BUNDLE_BYTES / 1024 / 1024 }) || undefined;
}

function reportView(t: Translate, stored: StoredReport, id: string, rpcUrl: string): SafeHtml {
  const { report, bundle } = stored;
  const s = report.summary;
  const when = (seconds: number) => formatTime(seconds * 1000);
  const anchorRows = [
    ...(bundle.anchors.consent ? [[t("console.rows.consent"), bundle.anchors.consent] as const] : []),
    [t("console.rows.grant"), bundle.anchors.grant],
    ...(bundle.statusSnapshot ? [[t("console.rows.status"), bundle.statusSnapshot.anchor] as const] : []),
    ...(bundle.registrySnapshot ? [[t("console.rows.registry"), bundle.registrySnapshot.anchor] as const] : []),
    ...(bundle.withdrawal ? [[t("console.rows.withdrawal"), bundle.withdrawal.anchors.receipt] as const, [t("console.rows.acknowledgement"), bundle.withdrawal.anchors.acknowledgement] as const] : []),
  ] as const;
  const failed = report.checks.filter((c) => c.status === "fail");
  const words = (c: EvidenceCheck) => checkWords(t, c);
  const sep = t("wallet.listSeparator");
  return html`<h1>${report.verified ? t("console.headingVerified") : failed.length ? t("console.headingFailed") : t("console.headingUnchecked")}</h1>
${report.verified
    ? s?.withdrawal
      ? notice("warn", t("console.verifiedWithdrawn", { withdrawnAt: s.withdrawal.withdrawnAt, acknowledged: s.withdrawal.acknowledgedAt ? t("console.acknowledgedOn", { when: s.withdrawal.acknowledgedAt }) : "" }))
      : notice("ok", t("console.verifiedPlain"))
    : failed.length
      ? notice("error", t("console.failed", { count: failed.length, list: failed.map(words).join("; ") }))
      : notice("warn", t("console.unchecked"))}
${stored.chainNote ? notice("warn", stored.chainNote) : ""}
<p class="muted">${t("console.fileChecked", { file: stored.fileName, when: formatTime(stored.verifiedAt), rpcUrl })}</p>
<p><a class="button" href="/reports/${id}/print">${t("console.printable")}</a> <a class="button secondary" href="/">${t("console.verifyAnother")}</a></p>
<section aria-labelledby="what-h"><h2 id="what-h">${t("console.whatGranted")}</h2>
${s
    ? html`<dl class="facts">
<dt>${t("console.merchant")}</dt><dd>${s.merchant}</dd>
<dt>${t("console.level")}</dt><dd>${["verified", "pseudonymous", "full"].includes(s.level) ? levelName(t, s.level as GrantLevel) : s.level}</dd>
<dt>${t("console.sharedNames")}</dt><dd>${s.claimNames.map((n) => claimName(t, n)).join(sep)}</dd>
<dt>${t("console.purpose")}</dt><dd>${s.purpose}</dd>
<dt>${t("console.consentGiven")}</dt><dd>${s.consentedAt}</dd>
<dt>${t("console.counterSigned")}</dt><dd>${s.grantedAt}</dd>
<dt>${t("console.personKey")}</dt><dd><code>${s.holder}</code></dd>
${s.registeredAs ? html`<dt>${t("console.registeredAs")}</dt><dd>${s.registeredAs}</dd>` : ""}
${s.withdrawal ? html`<dt>${t("console.withdrawn")}</dt><dd data-withdrawn="${s.withdrawal.withdrawnAt}">${s.withdrawal.withdrawnAt}${s.withdrawal.acknowledgedAt ? t("console.acknowledgedBy", { when: s.withdrawal.acknowledgedAt }) : ""}</dd>` : ""}
</dl>`
    : html`<p>${t("console.unreadable")}</p>`}
</section>
<section aria-labelledby="anchor-h"><h2 id="anchor-h">${t("console.whereAnchored")}</h2>
<p>${t("console.bundleNames", { chainId: bundle.anchors.grant.chainId, contract: bundle.anchors.grant.contract })}</p>
${anchorRows.map(([label, a]) => html`<div class="card"><h3>${label}</h3><dl class="facts">
<dt>${t("console.transaction")}</dt><dd><code>${a.txHash}</code></dd>
<dt>${t("console.block")}</dt><dd>${a.blockNumber} <span class="muted">${t("console.blockHash", { hash: a.blockHash })}</span></dd>
<dt>${t("console.time")}</dt><dd>${when(a.timestamp)}</dd>
<dt>${t("console.batchRoot")}</dt><dd><code>${a.root}</code></dd>
</dl></div>`)}
</section>
<section aria-labelledby="trust-h"><h2 id="trust-h">${t("console.trustHeading")}</h2>
${trustView(t, report.trustAnchors)}
</section>
<section aria-labelledby="checks-h"><h2 id="checks-h">${t("console.everyCheck")}</h2>
<div class="table-wrap"><table>
<thead><tr><th scope="col">${t("console.whatChecked")}</th><th scope="col">${t("console.result")}</th><th scope="col">${t("console.detail")}</th></tr></thead>
<tbody>${report.checks.map((c) => html`<tr data-check="${c.check}"><td>${words(c)}</td><td><span class="state ${c.status}">${t(`console.status.${c.status}`)}</span></td><td>${c.detail}</td></tr>`)}</tbody>
</table></div>
</section>`;
}

/** The trust anchors a verdict rests on, in words. */
function trustView(t: Translate, a: { chainId?: string; rpcUrl?: string; contracts: string[]; issuers: string[]; source?: string; registrySnapshot?: { hash: string; issuer?: string; issuedAt?: string } }): SafeHtml {
  return html`<dl class="facts" data-trust-anchors>
<dt>${t("console.trust.chain")}</dt><dd>${t("console.trust.chainAt", { chainId: a.chainId ?? t("console.trust.endpointChain"), rpcUrl: a.rpcUrl ?? "-" })}</dd>
<dt>${t("console.trust.registryContract")}</dt><dd>${a.contracts.map((c) => html`<code>${c}</code> `)}</dd>
<dt>${t("console.trust.issuers")}</dt><dd>${a.issuers.length ? a.issuers.map((d) => html`<code>${d}</code> `) : t("console.trust.none")}</dd>
${a.registrySnapshot ? html`<dt>${t("console.trust.registryRelied")}</dt><dd><code>${a.registrySnapshot.hash}</code>, ${t("console.trust.issued", { when: a.registrySnapshot.issuedAt ?? "?" })}</dd>` : ""}
${a.source ? html`<dt>${t("console.trust.configuredBy")}</dt><dd>${a.source}</dd>` : ""}
</dl>`;
}

const checkWords = (t: Translate, c: EvidenceCheck): string => t(`console.checks.${c.check}`, { defaultValue: c.check.replace(/-/g, " ") });
