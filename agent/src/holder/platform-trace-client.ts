import { fetchJson } from "../http/json-client.js";
import type { JwsSigner } from "../crypto/jws.js";
import { signRequest, TRACE_REQUEST_TYP } from "../issuer/signed-request.js";
import type { TraceReport, TraceView } from "../issuer/trace-service.js";
import type { GrantEntry } from "./wallet.js";

type AnchoredProof = NonNullable<NonNullable<GrantEntry["anchors"]>["consent"]>;

function anchorOf(proof: AnchoredProof | undefined): NonNullable<TraceReport["anchors"]>["consent"] {
  if (proof?.status !== "anchored" || !proof.root) return undefined;
  const a = proof.anchor as { chainId?: string; contract?: string; blockNumber?: number; txHash?: string } | undefined;
  return {
    salt: proof.salt,
    proof: proof.proof,
    root: proof.root,
    ...(a?.chainId !== undefined ? { chainId: Number(a.chainId) } : {}),
    ...(a?.contract ? { contract: a.contract } : {}),
    ...(typeof a?.blockNumber === "number" ? { blockNumber: a.blockNumber } : {}),
    ...(a?.txHash ? { txHash: a.txHash } : {}),
  };
}

/**
 * What the wallet tells the platform about one grant: the receipts it already holds (names and hashes inside,
 * never a claim value, never the presentation), the merchant's grant id, anchors once known, the withdrawal.
 * The consent receipt is signed by the holder key the platform bound to this person: that is the proof
 * it is theirs. The merchant learns nothing from this; the platform learns what its trace must keep.
 */
export function traceReportFor(entry: GrantEntry): TraceReport {
  const consent = anchorOf(entry.anchors?.consent);
  const grant = entry.grantReceipt ? anchorOf(entry.anchors?.grant) : undefined;
  return {
    consentReceipt: entry.consentReceipt,
    ...(entry.grantReceipt ? { grantReceipt: entry.grantReceipt } : {}),
    ...(/^[A-Za-z0-9_-]{1,128}$/.test(entry.grantId) && !entry.grantId.startsWith("local-") ? { merchantGrantId: entry.grantId } : {}),
    ...(consent || grant ? { anchors: { ...(consent ? { consent } : {}), ...(grant ? { grant } : {}) } } : {}),
    ...(entry.withdrawal ? { withdrawalReceipt: entry.withdrawal.receipt } : {}),
  };
}

export async function reportGrantToPlatform(issuerUrl: string, entry: GrantEntry): Promise<void> {
  await fetchJson(new URL("/trace/grants", issuerUrl).href, { body: traceReportFor(entry), timeoutMs: 10_000 });
}

/** The person's own trace at the platform, asked with a short-lived request signed by one of their holder keys. */
export async function fetchOwnTrace(issuerUrl: string, issuerDid: string, holder: { did: string; signer: JwsSigner }, now = new Date()): Promise<TraceView> {
  const request = await signRequest(TRACE_REQUEST_TYP, holder, issuerDid, {}, now);
  return (await fetchJson<{ trace: TraceView }>(new URL("/trace/mine", issuerUrl).href, { body: { request } })).trace;
}
