import { randomBytes } from "node:crypto";
import canonicalize from "canonicalize";
import { createVerifiableCredentialJwt, validateJwtCredentialPayload } from "did-jwt-vc";
import { z } from "zod";
import { verifyJwt } from "../crypto/algorithms.js";
import { decodeJws, type JwsSigner } from "../crypto/jws.js";
import { sha256Hex } from "../encoding.js";
import { AgentError } from "../errors.js";
import { algForDidKey } from "../identity/did-key.js";
import { buildMerkleBatch, newLeafSalt, receiptLeaf, verifyMerkleInclusion } from "../merkle/merkle.js";
import type { AnchorRegistryClient } from "../anchoring/registry-contract.js";
import { evidenceBundleSchema, verifyEvidenceBundle, type CheckStatus, type EvidenceBundle, type EvidenceCheck, type EvidenceReport, type EvidenceSummary, type TrustAnchorsUsed } from "./evidence.js";
import type { TrustAnchors } from "./trust.js";
import { DEFAULT_REPORT_TIME_ZONE } from "./report-words.js";

export const NOTARY_REPORT_TYPE = "NotaryEvidenceReport";
export const NOTARY_REPORT_FORMAT = "realname-notary-report";

/** What the notary signs: the verdict over one bundle, with everything a reader needs to re-check it. */
export interface NotaryReportSubject {
  id: string;
  reportNumber: string;
  generatedAt: string;
  timeZone: string;
  /** sha-256 (hex) of the bundle's canonical JSON (RFC 8785): the report covers exactly that bundle. */
  bundleHash: string;
  verified: boolean;
  grant?: EvidenceSummary;
  anchors: EvidenceBundle["anchors"];
  withdrawalAnchors?: NonNullable<EvidenceBundle["withdrawal"]>["anchors"];
  checks: Array<{ check: string; status: CheckStatus; detail: string }>;
  trustAnchors: TrustAnchorsUsed;
}

/** Where the report's own hash was anchored (a one-leaf batch: its salted leaf is the root). */
export interface ReportAnchor {
  salt: string;
  proof: string[];
  root: string;
  chainId: string;
  contract: string;
  txHash: string;
  blockNumber: number;
  timestamp: number;
}

export interface NotaryReportFile {
  format: typeof NOTARY_REPORT_FORMAT;
  version: 1;
  /** The signed report (W3C VC-JWT by the notary's did:key). */
  report: string;
  bundle: EvidenceBundle;
  anchor?: ReportAnchor;
}

const anchorSchema = z.object({ salt: z.string(), proof: z.array(z.string()).max(64), root: z.string(), chainId: z.string(), contract: z.string(), txHash: z.string(), blockNumber: z.number().int(), timestamp: z.number().int() }).strict();
export const notaryReportFileSchema = z.object({ format: z.literal(NOTARY_REPORT_FORMAT), version: z.literal(1), report: z.string().max(1_000_000), bundle: z.unknown(), anchor: anchorSchema.optional() }).strict();

export const bundleHash = (bundle: unknown): string => sha256Hex(canonicalize(bundle) ?? "");
export const reportHash = (reportJwt: string): string => sha256Hex(reportJwt);

/** A report number a clerk can quote: the day in the reader's zone and a random suffix. */
export function newReportNumber(now: Date, timeZone = DEFAULT_REPORT_TIME_ZONE): string {
  const day = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now).replace(/-/g, "");
  return `NR-${day}-${randomBytes(4).toString("hex").toUpperCase()}`;
}

/** Signs the verdict over a bundle as a VC-JWT by the notary's did:key (EdDSA or ES256 by its curve). */
export async function signNotaryReport(args: { bundle: EvidenceBundle; report: EvidenceReport; notary: { did: string; signer: JwsSigner }; now: Date; timeZone?: string; reportNumber?: string }): Promise<{ jwt: string; subject: NotaryReportSubject }> {
  const timeZone = args.timeZone ?? DEFAULT_REPORT_TIME_ZONE;
  const reportNumber = args.reportNumber ?? newReportNumber(args.now, timeZone);
  const subject: NotaryReportSubject = {
    id: `urn:realname:notary-report:${reportNumber}`,
    reportNumber,
    generatedAt: args.now.toISOString(),
    timeZone,
    bundleHash: bundleHash(args.bundle),
    verified: args.report.verified,
    ...(args.report.summary ? { grant: args.report.summary } : {}),
    anchors: args.bundle.anchors,
    ...(args.bundle.withdrawal ? { withdrawalAnchors: args.bundle.withdrawal.anchors } : {}),
    checks: args.report.checks.map((c) => ({ check: c.check, status: c.status, detail: c.detail })),
    trustAnchors: args.report.trustAnchors,
  };
  const payload = {
    sub: subject.id,
    nbf: Math.floor(args.now.getTime() / 1000),
    jti: subject.id,
    vc: { "@context": ["https://www.w3.org/2018/credentials/v1"], type: ["VerifiableCredential", NOTARY_REPORT_TYPE], credentialSubject: subject },
  };
  const signer = (data: string | Uint8Array) => args.notary.signer(typeof data === "string" ? data : Buffer.from(data).toString("utf8"));
  const jwt = await createVerifiableCredentialJwt(payload, { did: args.notary.did, signer, alg: algForDidKey(args.notary.did) });
  return { jwt, subject };
}

/** Anchors the report's hash (salted, a one-leaf batch) with a client that may anchor; the block dates the report. */
export async function anchorReport(reportJwt: string, registry: AnchorRegistryClient): Promise<ReportAnchor> {
  const salt = newLeafSalt();
  const leaf = receiptLeaf(reportHash(reportJwt), salt);
  const batch = buildMerkleBatch([leaf]);
  const anchor = await registry.anchor(batch.root, 1);
  return { salt, proof: batch.proofs.get(leaf) ?? [], root: batch.root, chainId: anchor.chainId, contract: anchor.contract, txHash: anchor.txHash, blockNumber: anchor.blockNumber, timestamp: anchor.timestamp };
}

export interface ReportCheckResult {
  verified: boolean;
  checks: EvidenceCheck[];
  notary?: string;
  subject?: NotaryReportSubject;
  /** The bundle's own checks, made again now with the reader's trust anchors. */
  bundleReport?: EvidenceReport;
}

/**
 * Checks a report file as anyone can: the notary's signature over the report, that it covers exactly the
 * bundle in the file (hash) and that the bundle still verifies with the reader's own trust anchors, and that
 * the report's hash is anchored on a trusted registry where the file says. Reports, never throws on bad input.
 */
export async function checkNotaryReport(file: unknown, options: { trust: TrustAnchors; registry?: AnchorRegistryClient | AnchorRegistryClient[] }): Promise<ReportCheckResult> {
  const checks: EvidenceCheck[] = [];
  const add = (check: string, status: CheckStatus, detail: string, code?: string) => void checks.push({ check, status, detail, ...(code ? { code } : {}) });
  const done = (extra: Partial<ReportCheckResult> = {}): ReportCheckResult => ({ verified: checks.length > 0 && checks.every((c) => c.status === "pass"), checks, ...extra });
  const parsed = notaryReportFileSchema.safeParse(file);
  if (!parsed.success) {
    add("report-format", "fail", "not a notary report file", "ERR_REPORT_MALFORMED");
    return done();
  }
  const f = parsed.data;
  const iss = decodeJws(f.report)?.payload.iss;
  const sig = typeof iss === "string" && iss.startsWith("did:key:") ? verifyJwt(f.report, iss) : undefined;
  let subject: NotaryReportSubject | undefined;
  if (!sig?.verified) add("report-signature", "fail", "the report is not signed by the notary it names", "ERR_REPORT_SIGNATURE");
  else {
    try {
      validateJwtCredentialPayload(sig.payload as never);
      const vc = sig.payload!.vc as { type?: unknown; credentialSubject?: NotaryReportSubject };
      if (!Array.isArray(vc.type) || !vc.type.includes(NOTARY_REPORT_TYPE) || !vc.credentialSubject?.bundleHash) throw new Error("not a notary evidence report");
      subject = vc.credentialSubject;
      add("report-signature", "pass", `signed by the notary ${iss}`);
    } catch (error) {
      add("report-signature", "fail", `the signed content is not a notary evidence report: ${(error as Error).message.slice(0, 120)}`, "ERR_REPORT_MALFORMED");
    }
  }
  if (!subject) return done();
  const bundleOk = evidenceBundleSchema.safeParse(f.bundle).success;
  if (!bundleOk || bundleHash(f.bundle) !== subject.bundleHash) add("report-covers-bundle", "fail", "the bundle in the file is not the one the report covers", "ERR_REPORT_BUNDLE_MISMATCH");
  else add("report-covers-bundle", "pass", `the report covers exactly this bundle (sha-256 ${subject.bundleHash})`);
  let bundleReport: EvidenceReport | undefined;
  if (bundleOk) {
    bundleReport = await verifyEvidenceBundle(f.bundle, { trust: options.trust, registry: options.registry });
    const failed = bundleReport.checks.some((c) => c.status === "fail");
    if (bundleReport.verified) add("bundle-verifies", "pass", `every check of the bundle passes again with the reader's trust anchors${subject.verified ? "" : " (the report said otherwise)"}`);
    else add("bundle-verifies", failed ? "fail" : "cannot-check", `the bundle's checks do not all pass now: ${bundleReport.checks.filter((c) => c.status !== "pass").map((c) => c.check).join(", ")}`, failed ? "ERR_REPORT_BUNDLE_FAILS" : undefined);
  }
  const a = f.anchor;
  if (!a) add("report-anchored", "cannot-check", "the report's hash was not anchored");
  else if (!verifyMerkleInclusion(a.root, receiptLeaf(reportHash(f.report), a.salt), a.proof)) add("report-anchored", "fail", "the anchor's leaf is not this report's salted hash", "ERR_REPORT_ANCHOR_MISMATCH");
  else if (!options.trust.contracts.includes(a.contract.toLowerCase())) add("report-anchored", "fail", `anchored on ${a.contract}, which the reader does not trust`, "ERR_EVIDENCE_UNTRUSTED_CONTRACT");
  else {
    const registries = options.registry ? (Array.isArray(options.registry) ? options.registry : [options.registry]) : [];
    const r = registries.find((x) => x.address.toLowerCase() === a.contract.toLowerCase());
    if (!r) add("report-anchored", "cannot-check", "no chain endpoint for the trusted registry");
    else {
      try {
        const found = await r.findAnchor(a.root);
        if (!found) add("report-anchored", "fail", "the trusted registry does not show the report's root", "ERR_EVIDENCE_NOT_ANCHORED");
        else if (found.blockNumber !== a.blockNumber || found.txHash.toLowerCase() !== a.txHash.toLowerCase()) add("report-anchored", "fail", `the root is anchored in block ${found.blockNumber}, not where the file says`, "ERR_EVIDENCE_ANCHOR_MISMATCH");
        else add("report-anchored", "pass", `the report's hash is anchored in block ${found.blockNumber} at ${new Date(found.timestamp * 1000).toISOString()} (tx ${found.txHash}): the report existed then`);
      } catch (error) {
        add("report-anchored", "cannot-check", `the chain could not be asked: ${(error as Error).message.slice(0, 120)}`);
      }
    }
  }
  return done({ notary: String(iss), subject, bundleReport });
}

export function assertReportFile(value: unknown): asserts value is NotaryReportFile {
  if (!notaryReportFileSchema.safeParse(value).success) throw new AgentError("ERR_INVALID_INPUT", "not a notary report file");
}
