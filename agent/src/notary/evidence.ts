import { z } from "zod";
import { Interface } from "ethers";
import { didKeyDocument, publicKeyFromDidKey } from "../identity/did-key.js";
import { decodeJws, verifyEd25519 } from "../crypto/jws.js";
import { sha256B64url, sha256Hex } from "../encoding.js";
import { STATUS_LIST_TYP } from "../issuer/status-list.js";
import { receiptLeaf, verifyMerkleInclusion } from "../merkle/merkle.js";
import { CONSENT_RECEIPT_TYPE, GRANT_RECEIPT_TYPE, receiptHash, verifyReceipt, type ConsentRecord, type GrantRecord } from "../receipts/receipts.js";
import { ANCHOR_REGISTRY_ABI, type AnchorRegistryClient } from "../anchoring/registry-contract.js";
import { AgentError } from "../errors.js";
import { boundedFetcher, isLoopbackHttpUrl } from "../http/bounded-fetch.js";

/** Evidence bundle format, version 1. The JSON schema in agent/schemas/evidence-bundle-v1.json says the same. */
export const EVIDENCE_FORMAT = "realname-evidence-bundle";

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const anchorProofSchema = z.object({
  receiptHash: z.string().regex(/^[0-9a-f]{64}$/),
  salt: hex32,
  leaf: hex32,
  proof: z.array(hex32).max(64),
  root: hex32,
  chainId: z.string().regex(/^\d+$/),
  contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  txHash: hex32,
  blockNumber: z.number().int().positive(),
  blockHash: hex32,
  timestamp: z.number().int().positive(),
});
export type AnchorProof = z.infer<typeof anchorProofSchema>;

export const evidenceBundleSchema = z.object({
  format: z.literal(EVIDENCE_FORMAT),
  version: z.literal(1),
  createdAt: z.string(),
  receipts: z.object({ consent: z.string().max(32_768), grant: z.string().max(32_768) }),
  anchors: z.object({ consent: anchorProofSchema, grant: anchorProofSchema }),
  didDocuments: z.record(z.string(), z.unknown()),
  /** The issuer's status list exactly as the merchant checked it at grant time, with its own anchor. */
  statusSnapshot: z.object({ jwt: z.string().max(2_000_000), anchor: anchorProofSchema }).optional(),
  /** The exact presentation, only when its owner (the person) chooses to include it. */
  presentation: z.string().max(65_536).optional(),
});
export type EvidenceBundle = z.infer<typeof evidenceBundleSchema>;

/** What a receipt's owner holds besides the receipt: its salt and Merkle path (from the anchoring queue). */
export interface InclusionProof {
  salt: string;
  proof: string[];
  root: string;
}

/**
 * Builds a bundle from the two receipts and their inclusion proofs. Where and when each root landed is
 * read from the chain itself, never taken from the party handing in the receipt; a root the chain does not
 * show is refused (ERR_NOT_ANCHORED), so a bundle never claims an anchor that cannot be seen.
 */
export async function buildEvidenceBundle(args: {
  consentReceipt: string;
  grantReceipt: string;
  proofs: { consent: InclusionProof; grant: InclusionProof };
  registry: AnchorRegistryClient;
  now?: Date;
  fetch?: typeof fetch;
  /** How long to wait for the issuer to anchor the status-list snapshot. */
  waitMs?: number;
  /** The person's own copy of the presentation, if they choose to include it. */
  presentation?: string;
}): Promise<EvidenceBundle> {
  const anchors = {} as EvidenceBundle["anchors"];
  for (const which of ["consent", "grant"] as const) {
    const jwt = which === "consent" ? args.consentReceipt : args.grantReceipt;
    const p = args.proofs[which];
    const hash = receiptHash(jwt);
    const leaf = receiptLeaf(hash, p.salt);
    if (!verifyMerkleInclusion(p.root, leaf, p.proof)) throw new AgentError("ERR_PROOF_INVALID", `the ${which} receipt's inclusion proof does not lead to its root`);
    const onChain = await args.registry.findAnchor(p.root);
    if (!onChain) throw new AgentError("ERR_NOT_ANCHORED", `the ${which} receipt's root is not on this chain (not anchored yet, or the chain was reset)`);
    anchors[which] = { receiptHash: hash, salt: p.salt, leaf, proof: p.proof, root: p.root, ...onChain };
  }
  const consent = await verifyReceipt<ConsentRecord>(args.consentReceipt, CONSENT_RECEIPT_TYPE);
  const grant = await verifyReceipt<GrantRecord>(args.grantReceipt, GRANT_RECEIPT_TYPE);
  const statusSnapshot = grant.record?.statusList ? await fetchStatusSnapshot(grant.record.statusList, args.registry, args.fetch ?? boundedFetcher({ timeoutMs: 5000, maxBytes: 1_000_000, allowLoopbackHttp: isLoopbackHttpUrl(grant.record.statusList.uri) }), args.waitMs ?? 15_000) : undefined;
  const snapshotIssuer = statusSnapshot ? (decodeJws(statusSnapshot.jwt)?.payload.iss as string | undefined) : undefined;
  const dids = [consent.issuer, grant.issuer, consent.record?.pseudonym, snapshotIssuer].filter((d): d is string => typeof d === "string");
  return {
    format: EVIDENCE_FORMAT,
    version: 1,
    createdAt: (args.now ?? new Date()).toISOString(),
    receipts: { consent: args.consentReceipt, grant: args.grantReceipt },
    anchors,
    didDocuments: Object.fromEntries(dids.map((d) => [d, didKeyDocument(d)])),
    ...(statusSnapshot ? { statusSnapshot } : {}),
    ...(args.presentation ? { presentation: args.presentation } : {}),
  };
}

/**
 * The status list the merchant relied on, from the issuer's snapshot archive, with the issuer's inclusion
 * proof and where its root landed on chain. Waits a little for the issuer's batch to be anchored.
 */
async function fetchStatusSnapshot(ref: { uri: string; hash: string }, registry: AnchorRegistryClient, fetcher: typeof fetch, waitMs: number): Promise<{ jwt: string; anchor: AnchorProof } | undefined> {
  const deadline = Date.now() + waitMs;
  try {
    const jwt = (await (await fetcher(`${ref.uri}/snapshots/${ref.hash}`, { signal: AbortSignal.timeout(5000) })).text()).trim();
    if (sha256Hex(jwt) !== ref.hash) return undefined;
    for (;;) {
      const res = await fetcher(`${new URL(ref.uri).origin}/anchors/${ref.hash}`, { signal: AbortSignal.timeout(5000) });
      const record = res.ok ? ((await res.json()) as { status?: string; salt: string; proof: string[]; root: string }) : undefined;
      if (record?.status === "anchored") {
        const onChain = await registry.findAnchor(record.root);
        if (!onChain) return undefined;
        return { jwt, anchor: { receiptHash: ref.hash, salt: record.salt, leaf: receiptLeaf(ref.hash, record.salt), proof: record.proof, root: record.root, ...onChain } };
      }
      if (Date.now() > deadline) return undefined;
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch {
    return undefined;
  }
}

export type CheckStatus = "pass" | "fail" | "cannot-check";
export interface EvidenceCheck {
  check: string;
  status: CheckStatus;
  detail: string;
}
export interface EvidenceReport {
  verified: boolean;
  checks: EvidenceCheck[];
  summary?: { merchant: string; holder: string; level: string; purpose: string; claimNames: string[]; consentedAt: string; grantedAt: string };
}

const registryInterface = new Interface(ANCHOR_REGISTRY_ABI as unknown as string[]);

/**
 * Verifies a bundle offline (schema, signatures, counter-signature, leaves, Merkle paths) and, given a
 * chain client, on chain (chain id, root anchored, block number, block hash, time, the transaction's event).
 * Every check is reported; `verified` only when all pass.
 */
export async function verifyEvidenceBundle(input: unknown, options: { registry?: AnchorRegistryClient } = {}): Promise<EvidenceReport> {
  const checks: EvidenceCheck[] = [];
  const add = (check: string, status: CheckStatus, detail: string) => checks.push({ check, status, detail });
  const parsed = evidenceBundleSchema.safeParse(input);
  if (!parsed.success) {
    add("bundle-format", "fail", `not a ${EVIDENCE_FORMAT} v1: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    return { verified: false, checks };
  }
  add("bundle-format", "pass", `${EVIDENCE_FORMAT} v1`);
  const bundle = parsed.data;

  const consent = await verifyReceipt<ConsentRecord>(bundle.receipts.consent, CONSENT_RECEIPT_TYPE);
  add("consent-receipt-signature", consent.verified ? "pass" : "fail", consent.verified ? `signed by the holder key ${consent.issuer}` : consent.errors.map((e) => e.message).join("; "));
  const grant = await verifyReceipt<GrantRecord>(bundle.receipts.grant, GRANT_RECEIPT_TYPE);
  add("grant-receipt-signature", grant.verified ? "pass" : "fail", grant.verified ? `signed by the merchant ${grant.issuer}` : grant.errors.map((e) => e.message).join("; "));

  if (consent.verified && grant.verified) {
    const c = consent.record!;
    const g = grant.record!;
    const ok = g.consentReceiptHash === receiptHash(bundle.receipts.consent) && g.consentReceiptId === c.receiptId && grant.subject === consent.issuer && c.controller.id === grant.issuer && g.level === c.level;
    add("grant-countersigns-consent", ok ? "pass" : "fail", ok ? "the grant receipt counter-signs exactly this consent receipt, by its controller" : "the grant receipt does not counter-sign this consent receipt");
  } else {
    add("grant-countersigns-consent", "cannot-check", "a receipt signature failed");
  }

  for (const which of ["consent", "grant"] as const) {
    const a = bundle.anchors[which];
    const hash = receiptHash(bundle.receipts[which]);
    const leafOk = a.receiptHash === hash && receiptLeaf(hash, a.salt) === a.leaf;
    add(`${which}-leaf`, leafOk ? "pass" : "fail", leafOk ? "the salted leaf is the hash of this receipt" : "the leaf is not the hash of this receipt");
    const pathOk = leafOk && verifyMerkleInclusion(a.root, a.leaf, a.proof);
    add(`${which}-merkle-path`, pathOk ? "pass" : "fail", pathOk ? `the leaf is in the batch with root ${a.root}` : "the Merkle path does not lead from the leaf to the root");
  }

  for (const which of ["consent", "grant"] as const) {
    const a = bundle.anchors[which];
    const name = `${which}-root-on-chain`;
    if (!options.registry) {
      add(name, "cannot-check", "no chain endpoint given");
      continue;
    }
    try {
      const r = options.registry;
      if (r.chainId.toString() !== a.chainId || r.address.toLowerCase() !== a.contract.toLowerCase()) {
        add(name, "fail", `the bundle names chain ${a.chainId} contract ${a.contract}; the endpoint is chain ${r.chainId} contract ${r.address}`);
        continue;
      }
      const onChain = await r.findAnchor(a.root);
      if (!onChain) {
        add(name, "fail", "the chain does not show this root (never anchored here, or the chain was reset since)");
        continue;
      }
      const problems: string[] = [];
      if (onChain.blockNumber !== a.blockNumber) problems.push(`block ${onChain.blockNumber} on chain, ${a.blockNumber} in bundle`);
      if (onChain.blockHash !== a.blockHash) problems.push("block hash differs");
      if (onChain.timestamp !== a.timestamp) problems.push(`time ${onChain.timestamp} on chain, ${a.timestamp} in bundle`);
      if (onChain.txHash !== a.txHash) problems.push("transaction differs");
      const receipt = await r.provider.getTransactionReceipt(a.txHash);
      const emitted = receipt?.logs.some((log) => {
        if (log.address.toLowerCase() !== a.contract.toLowerCase()) return false;
        const ev = registryInterface.parseLog(log);
        return ev?.name === "RootAnchored" && ev.args.root === a.root;
      });
      if (!emitted) problems.push("the transaction did not emit RootAnchored for this root");
      if (problems.length) add(name, "fail", problems.join("; "));
      else add(name, "pass", `anchored in block ${a.blockNumber} at ${new Date(a.timestamp * 1000).toISOString()} by tx ${a.txHash}`);
    } catch (error) {
      add(name, "cannot-check", `the chain could not be asked: ${(error as Error).message?.slice(0, 160)}`);
    }
  }

  if (bundle.presentation !== undefined) {
    const p = bundle.presentation;
    const presented = p.slice(0, p.lastIndexOf("~") + 1);
    const ok = consent.verified && presented.length > 0 && sha256B64url(presented) === consent.record!.presentationHash;
    add("presentation-matches-consent", ok ? "pass" : "fail", ok ? "the included presentation is exactly the one the consent receipt names" : "the included presentation is not the one the consent receipt names");
  }

  // The status list the merchant relied on: the issuer's signature, the hash the grant names, its own anchor.
  const named = grant.record?.statusList;
  if (named) {
    const snap = bundle.statusSnapshot;
    if (!snap) add("status-snapshot", "cannot-check", "the grant names a status list but the bundle does not carry it");
    else {
      const jws = decodeJws(snap.jwt);
      const issuer = typeof jws?.payload.iss === "string" ? jws.payload.iss : "";
      let signed = false;
      try {
        signed = !!jws && jws.header.typ === STATUS_LIST_TYP && verifyEd25519(jws.signingInput, jws.signature, publicKeyFromDidKey(issuer));
      } catch {
        signed = false;
      }
      const hashOk = sha256Hex(snap.jwt) === named.hash && snap.anchor.receiptHash === named.hash && jws?.payload.sub === named.uri;
      add("status-snapshot", signed && hashOk ? "pass" : "fail", signed && hashOk ? `the status list the merchant checked, signed by its issuer ${issuer}` : "the status-list snapshot is not the one the grant names, or not signed by its issuer");
      const pathOk = receiptLeaf(named.hash, snap.anchor.salt) === snap.anchor.leaf && verifyMerkleInclusion(snap.anchor.root, snap.anchor.leaf, snap.anchor.proof);
      add("status-snapshot-merkle-path", pathOk ? "pass" : "fail", pathOk ? `in the issuer's batch with root ${snap.anchor.root}` : "the snapshot's Merkle path does not lead to its root");
      if (!options.registry) add("status-snapshot-on-chain", "cannot-check", "no chain endpoint given");
      else {
        try {
          const onChain = await options.registry.findAnchor(snap.anchor.root);
          const ok = !!onChain && onChain.blockNumber === snap.anchor.blockNumber && onChain.txHash === snap.anchor.txHash && onChain.timestamp === snap.anchor.timestamp;
          add("status-snapshot-on-chain", ok ? "pass" : "fail", ok ? `anchored by the issuer in block ${snap.anchor.blockNumber} at ${new Date(snap.anchor.timestamp * 1000).toISOString()}` : "the chain does not show the snapshot's root as the bundle says");
        } catch (error) {
          add("status-snapshot-on-chain", "cannot-check", `the chain could not be asked: ${(error as Error).message?.slice(0, 160)}`);
        }
      }
    }
  }

  const summary =
    consent.verified && grant.verified
      ? {
          merchant: `${consent.record!.controller.name} (${consent.record!.controller.id})`,
          holder: consent.issuer!,
          level: consent.record!.level,
          purpose: consent.record!.purpose,
          claimNames: consent.record!.claimNames,
          consentedAt: consent.record!.consentTimestamp,
          grantedAt: grant.record!.grantTimestamp,
        }
      : undefined;
  return { verified: checks.every((c) => c.status === "pass"), checks, summary };
}
