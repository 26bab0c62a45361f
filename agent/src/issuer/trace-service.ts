import { randomUUID } from "node:crypto";
import { z } from "zod";
import canonicalize from "canonicalize";
import type { AnchorRecord } from "../anchoring/anchor-queue.js";
import { sha256Hex } from "../encoding.js";
import { AgentError } from "../errors.js";
import { receiptLeaf, verifyMerkleInclusion } from "../merkle/merkle.js";
import {
  CONSENT_RECEIPT_TYPE,
  GRANT_RECEIPT_TYPE,
  receiptHash,
  verifyReceipt,
  WITHDRAWAL_RECEIPT_TYPE,
  type ConsentRecord,
  type GrantRecord,
  type WithdrawalRecord,
} from "../receipts/receipts.js";
import type { SpentTokens } from "../stores/spent-tokens.js";
import type { HolderKeyIndex } from "./holder-keys.js";
import type { IdentityVault } from "./identity-vault.js";
import type { PlatformTrace, TraceAccess, TraceAnchor, TraceEntry, TraceGrant } from "./platform-trace.js";
import { checkSignedRequest, LEGAL_REQUEST_TYP, TRACE_REQUEST_TYP } from "./signed-request.js";
import type { TrustRegistry } from "./trust-registry.js";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const anchorReportSchema = z
  .object({
    salt: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
    proof: z.array(z.string().regex(/^0x[0-9a-fA-F]{64}$/)).max(64),
    root: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
    chainId: z.coerce.number().int().positive().optional(),
    contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/).optional(),
    blockNumber: z.number().int().nonnegative().optional(),
    txHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/).optional(),
  })
  .strict();
/** What a wallet (or anyone holding the receipts) reports after a grant: receipts and proofs, no claim values. */
export const traceReportSchema = z
  .object({
    consentReceipt: z.string().min(1).max(32_768),
    grantReceipt: z.string().min(1).max(32_768).optional(),
    merchantGrantId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/).optional(),
    anchors: z.object({ consent: anchorReportSchema.optional(), grant: anchorReportSchema.optional() }).strict().optional(),
    withdrawalReceipt: z.string().min(1).max(32_768).optional(),
  })
  .strict();
export type TraceReport = z.infer<typeof traceReportSchema>;

/** What a legal request may name: one grant (a receipt hash, or a merchant's grant id) or one person. */
const legalSubjectSchema = z.union([
  z.object({ receipt_hash: hex64 }).strict(),
  z.object({ merchant: z.string().startsWith("did:key:").max(200), grant_id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/) }).strict(),
  z.object({ id_number: z.string().trim().toUpperCase().regex(/^\d{17}[\dX]$/) }).strict(),
]);

/** An access entry as the person sees it: with where the platform anchored the record. */
export type TraceView = Array<TraceEntry | (TraceAccess & { anchor?: { status: string; root?: string; txHash?: string; blockNumber?: number; chainId?: string; contract?: string } })>;

export interface LegalAnswer {
  /** Exactly the identity behind the grant (or the person named): no photo, no evidence, no keys. */
  identity: { fullName: string; idNumber: string; birthDate: string };
  trace: TraceView;
  access: { accessId: string; recordHash: string; accessedAt: string };
}

/**
 * The platform's side of the trace: takes grant reports, answers the person (signed by a holder key) and
 * registered notaries (signed legal requests), and logs and anchors every legal access. Everything is
 * checked before anything is stored; a refused request leaves nothing behind (its jti is spent last).
 */
export class TraceService {
  constructor(
    private readonly deps: {
      platformDid: string;
      trace: PlatformTrace;
      holderKeys: HolderKeyIndex;
      vault: IdentityVault;
      trust: Pick<TrustRegistry, "notary" | "merchant">;
      spent: SpentTokens;
      /** Anchors an access record's hash (the issuer's anchoring queue). */
      anchor: { enqueue(hash: string): Promise<unknown>; get(hash: string): Promise<AnchorRecord | undefined> };
      clock?: () => Date;
    },
  ) {}

  private now(): Date {
    return (this.deps.clock ?? (() => new Date()))();
  }

  /**
   * A grant reported to the platform. The consent receipt is signed by a holder key: the platform knows whose
   * (it bound it at issuance), and nobody else does. A grant receipt must be the named merchant's
   * counter-signature of exactly that consent; a withdrawal must be signed by the consenting key.
   */
  async report(input: unknown): Promise<{ recorded: TraceGrant }> {
    const r = traceReportSchema.safeParse(input);
    if (!r.success) throw new AgentError("ERR_INVALID_INPUT", "a report holds consentReceipt and optionally grantReceipt, merchantGrantId, anchors, withdrawalReceipt");
    const report = r.data;
    const consent = await verifyReceipt<ConsentRecord>(report.consentReceipt, CONSENT_RECEIPT_TYPE, { now: this.now() });
    if (!consent.verified) throw new AgentError(consent.errors[0]!.code, consent.errors[0]!.message);
    const c = consent.record!;
    const holder = consent.issuer!;
    const ref = await this.deps.holderKeys.personOf(holder);
    if (!ref) throw new AgentError("ERR_HOLDER_KEY_NOT_FOUND", "the consent is not signed by a key this platform issued a credential to");
    const consentHash = receiptHash(report.consentReceipt);
    let grantHash: string | undefined;
    if (report.grantReceipt) {
      const g = await verifyReceipt<GrantRecord>(report.grantReceipt, GRANT_RECEIPT_TYPE, { now: this.now() });
      if (!g.verified || g.issuer !== c.controller.id || g.record!.consentReceiptHash !== consentHash) {
        throw new AgentError("ERR_GRANT_RECEIPT_INVALID", "the grant receipt is not the merchant's counter-signature of this consent");
      }
      grantHash = receiptHash(report.grantReceipt);
    }
    const anchors: NonNullable<TraceGrant["anchors"]> = {};
    for (const which of ["consent", "grant"] as const) {
      const a = report.anchors?.[which];
      if (!a) continue;
      const hash = which === "consent" ? consentHash : grantHash;
      // Only a proof that leads from this receipt's salted leaf to the root is kept (the chain is the notary's to ask).
      if (!hash || !verifyMerkleInclusion(a.root, receiptLeaf(hash, a.salt), a.proof)) throw new AgentError("ERR_MERKLE_PROOF_INVALID", `the ${which} receipt's inclusion proof does not lead to its root`);
      anchors[which] = { root: a.root, status: "anchored", chainId: a.chainId, contract: a.contract, blockNumber: a.blockNumber, txHash: a.txHash } satisfies TraceAnchor;
    }
    let withdrawnAt: string | undefined;
    if (report.withdrawalReceipt) {
      const w = await verifyReceipt<WithdrawalRecord>(report.withdrawalReceipt, WITHDRAWAL_RECEIPT_TYPE, { now: this.now() });
      if (!w.verified || w.issuer !== holder || w.record!.consentReceiptHash !== consentHash) throw new AgentError("ERR_WITHDRAWAL_INVALID", "the withdrawal is not signed by the consenting key for this consent");
      withdrawnAt = w.record!.withdrawnAt;
    }
    const merchant = await this.deps.trust.merchant(c.controller.id);
    const recorded = await this.deps.trace.recordGrant(ref, {
      kind: "grant",
      consentReceiptHash: consentHash,
      ...(grantHash ? { grantReceiptHash: grantHash } : {}),
      ...(report.merchantGrantId ? { merchantGrantId: report.merchantGrantId } : {}),
      merchant: { did: c.controller.id, name: merchant?.name ?? c.controller.name },
      level: c.level,
      claimNames: c.claimNames,
      purpose: c.purpose,
      grantedAt: c.consentTimestamp,
      reportedAt: this.now().toISOString(),
      ...(Object.keys(anchors).length ? { anchors } : {}),
      ...(withdrawnAt ? { withdrawnAt } : {}),
    });
    return { recorded };
  }

  /** The person's own trace: a request signed by any holder key the platform bound to them. */
  async ownTrace(requestJwt: unknown): Promise<{ trace: TraceView }> {
    const req = checkSignedRequest(requestJwt, { typ: TRACE_REQUEST_TYP, audience: this.deps.platformDid, now: this.now(), codePrefix: "ERR_TRACE_REQUEST" });
    const ref = await this.deps.holderKeys.personOf(req.iss);
    if (!ref) throw new AgentError("ERR_TRACE_REQUEST_UNKNOWN_KEY", "the request is not signed by a key this platform issued a credential to");
    await this.spend(`trace|${req.iss}`, req.jti, req.exp, "ERR_TRACE_REQUEST_REPLAYED");
    return { trace: await this.view(ref) };
  }

  /**
   * A notary's legal request: signed by a notary in the platform's registry, for this platform, fresh,
   * single-use, naming a legal basis and a case reference, and one grant or one person. The answer is the
   * identity behind it and the person's trace; the access is logged in that trace and its record anchored.
   */
  async legalRequest(requestJwt: unknown): Promise<LegalAnswer> {
    const now = this.now();
    const req = checkSignedRequest(requestJwt, { typ: LEGAL_REQUEST_TYP, audience: this.deps.platformDid, now, codePrefix: "ERR_LEGAL_REQUEST" });
    const notary = await this.deps.trust.notary(req.iss);
    if (!notary) throw new AgentError("ERR_NOTARY_NOT_REGISTERED", "only notaries in the platform's registry may make legal requests");
    const legalBasis = typeof req.payload.legal_basis === "string" ? req.payload.legal_basis.trim() : "";
    const caseReference = typeof req.payload.case_reference === "string" ? req.payload.case_reference.trim() : "";
    if (legalBasis.length < 3 || legalBasis.length > 500 || caseReference.length < 1 || caseReference.length > 128) {
      throw new AgentError("ERR_LEGAL_BASIS_MISSING", "a legal request names its legal basis (3–500 characters) and case reference (1–128)");
    }
    const subject = legalSubjectSchema.safeParse(req.payload.subject);
    if (!subject.success) throw new AgentError("ERR_INVALID_INPUT", "subject is {receipt_hash}, {merchant, grant_id} or {id_number}");
    const s = subject.data;
    const ref =
      "receipt_hash" in s
        ? await this.deps.trace.personBehind({ receiptHash: s.receipt_hash })
        : "grant_id" in s
          ? await this.deps.trace.personBehind({ merchantDid: s.merchant, grantId: s.grant_id })
          : (await this.deps.vault.get(this.deps.vault.refFor(s.id_number))) && this.deps.vault.refFor(s.id_number);
    const identity = ref ? await this.deps.vault.get(ref) : undefined;
    if (!ref || !identity) throw new AgentError("ERR_TRACE_SUBJECT_NOT_FOUND", "the platform knows no person behind this subject");
    await this.spend(`legal|${req.iss}`, req.jti, req.exp, "ERR_LEGAL_REQUEST_REPLAYED");
    const record = {
      accessId: randomUUID(),
      notary: { did: notary.did, name: notary.name },
      legalBasis,
      caseReference,
      scope: "id_number" in s ? ("person" as const) : ("grant" as const),
      accessedAt: now.toISOString(),
      requestHash: sha256Hex(String(requestJwt)),
    };
    // The record's hash (over its canonical JSON: no person in it, and the request's hash is unguessable) is
    // anchored, which dates the access; the record itself stays in the person's sealed trace.
    const recordHash = sha256Hex(canonicalize(record)!);
    await this.deps.anchor.enqueue(recordHash);
    await this.deps.trace.recordAccess(ref, { kind: "access", ...record, recordHash });
    const p = identity.person;
    return { identity: { fullName: p.fullName, idNumber: p.idNumber, birthDate: p.birthDate }, trace: await this.view(ref), access: { accessId: record.accessId, recordHash, accessedAt: record.accessedAt } };
  }

  private async spend(scope: string, jti: string, exp: number, code: string): Promise<void> {
    try {
      await this.deps.spent.spend(scope, jti, exp + 1);
    } catch (error) {
      if ((error as AgentError).code === "ERR_REPLAYED") throw new AgentError(code, "this request was used before; sign a new one");
      throw error;
    }
  }

  private async view(ref: string): Promise<TraceView> {
    const entries = await this.deps.trace.trace(ref);
    return Promise.all(
      entries.map(async (e) => {
        if (e.kind !== "access") return e;
        const a = await this.deps.anchor.get(e.recordHash);
        return { ...e, anchor: a ? { status: a.status, ...(a.root ? { root: a.root } : {}), ...(a.anchor ? { txHash: a.anchor.txHash, blockNumber: a.anchor.blockNumber, chainId: a.anchor.chainId, contract: a.anchor.contract } : {}) } : undefined };
      }),
    );
  }
}
