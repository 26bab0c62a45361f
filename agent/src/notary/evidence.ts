import { z } from "zod";
import { Interface } from "ethers";
import { didKeyDocument, type PublicJwk } from "../identity/did-key.js";
import { decodeJws, keyObjectFromJwk, verifyWithAlg } from "../crypto/jws.js";
import { decodeTransactionData, transactionDataHash } from "../grants/transaction-data.js";
import { verifyJwt } from "../crypto/algorithms.js";
import { isUrlIssuer } from "../sdjwt/issuer-metadata.js";
import { sha256B64url, sha256Hex } from "../encoding.js";
import { STATUS_LIST_TYP } from "../issuer/status-list.js";
import { receiptLeaf, verifyMerkleInclusion } from "../merkle/merkle.js";
import { didKeyFromJwk } from "../identity/did-key.js";
import { CONSENT_RECEIPT_TYPE, GRANT_RECEIPT_TYPE, WITHDRAWAL_ACK_TYPE, WITHDRAWAL_RECEIPT_TYPE, receiptHash, verifyReceipt, type ConsentRecord, type GrantRecord, type WithdrawalAckRecord, type WithdrawalRecord } from "../receipts/receipts.js";
import { ANCHOR_REGISTRY_ABI, type AnchorRegistryClient } from "../anchoring/registry-contract.js";
import { TRUST_REGISTRY_TYP, type TrustRegistryDocument } from "../issuer/trust-registry.js";
import { GRANT_LEVELS } from "../sdjwt/identity-credential.js";
import { AgentError } from "../errors.js";
import { ANCHOR_TIME_SKEW_SECONDS, type TrustAnchors } from "./trust.js";
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
  /**
   * The consent receipt is optional: a plain OpenID4VP 1.0 answer has none, and the person's signed consent is
   * then the presentation itself (its key-binding JWT over the grant terms), which the bundle must carry.
   */
  receipts: z.object({ consent: z.string().max(32_768).optional(), grant: z.string().max(32_768) }),
  anchors: z.object({ consent: anchorProofSchema.optional(), grant: anchorProofSchema }),
  didDocuments: z.record(z.string(), z.unknown()),
  /** The issuer's status list exactly as the merchant checked it at grant time, with its own anchor. */
  statusSnapshot: z.object({ jwt: z.string().max(2_000_000), anchor: anchorProofSchema }).optional(),
  /** The exact presentation, only when its owner (the person) chooses to include it; required without a consent receipt. */
  presentation: z.string().max(65_536).optional(),
  /** The grant terms exactly as the merchant sent them (OpenID4VP `transaction_data`, base64url), hashed into the key binding. */
  transactionData: z.string().max(16_384).optional(),
  /** The issuer's signed merchant registry the merchant relied on (its hash is in the grant receipt), with its own anchor. */
  registrySnapshot: z.object({ jwt: z.string().max(1_000_000), anchor: anchorProofSchema }).optional(),
  /** When the grant was withdrawn: the person's withdrawal receipt and the merchant's acknowledgement, both anchored. */
  withdrawal: z
    .object({
      receipt: z.string().max(32_768),
      acknowledgement: z.string().max(32_768),
      anchors: z.object({ receipt: anchorProofSchema, acknowledgement: anchorProofSchema }),
    })
    .optional(),
});
export type EvidenceBundle = z.infer<typeof evidenceBundleSchema>;

/** What a receipt's owner holds besides the receipt: its salt and Merkle path (from the anchoring queue). */
export interface InclusionProof {
  salt: string;
  proof: string[];
  root: string;
}

/** Where a receipt sits in its anchored batch, read from the chain (ERR_PROOF_INVALID / ERR_NOT_ANCHORED otherwise). */
async function anchorOf(what: string, jwt: string, p: InclusionProof, registry: AnchorRegistryClient): Promise<AnchorProof> {
  const hash = receiptHash(jwt);
  const leaf = receiptLeaf(hash, p.salt);
  if (!verifyMerkleInclusion(p.root, leaf, p.proof)) throw new AgentError("ERR_PROOF_INVALID", `the ${what}'s inclusion proof does not lead to its root`);
  const onChain = await registry.findAnchor(p.root);
  if (!onChain) throw new AgentError("ERR_NOT_ANCHORED", `the ${what}'s root is not on this chain (not anchored yet, or the chain was reset)`);
  return { receiptHash: hash, salt: p.salt, leaf, proof: p.proof, root: p.root, ...onChain };
}

/**
 * Builds a bundle from the two receipts and their inclusion proofs. Where and when each root landed is
 * read from the chain itself, never taken from the party handing in the receipt; a root the chain does not
 * show is refused (ERR_NOT_ANCHORED), so a bundle never claims an anchor that cannot be seen. A withdrawal,
 * when there is one, goes in with its acknowledgement and both anchors (refused until they are anchored).
 */
export async function buildEvidenceBundle(args: {
  /** Absent for a plain OpenID4VP grant: then `presentation` and `transactionData` are the person's signed consent. */
  consentReceipt?: string;
  grantReceipt: string;
  proofs: { consent?: InclusionProof; grant: InclusionProof };
  transactionData?: string;
  registry: AnchorRegistryClient;
  now?: Date;
  fetch?: typeof fetch;
  /** How long to wait for the issuer to anchor the status-list and registry snapshots. */
  waitMs?: number;
  /** The person's own copy of the presentation, if they choose to include it. */
  presentation?: string;
  /** The grant's withdrawal and the merchant's acknowledgement, with their inclusion proofs. */
  withdrawal?: { receipt: string; acknowledgement: string; proofs?: { receipt?: InclusionProof; acknowledgement?: InclusionProof } };
}): Promise<EvidenceBundle> {
  if (!args.consentReceipt && !args.presentation) throw new AgentError("ERR_INVALID_INPUT", "without a consent receipt the presentation is the person's consent: include it");
  if (args.consentReceipt && !args.proofs.consent) throw new AgentError("ERR_NOT_ANCHORED", "the consent receipt has no inclusion proof yet");
  const anchors = {
    ...(args.consentReceipt ? { consent: await anchorOf("consent receipt", args.consentReceipt, args.proofs.consent!, args.registry) } : {}),
    grant: await anchorOf("grant receipt", args.grantReceipt, args.proofs.grant, args.registry),
  };
  let withdrawal: EvidenceBundle["withdrawal"];
  if (args.withdrawal) {
    const w = args.withdrawal;
    if (!w.proofs?.receipt || !w.proofs.acknowledgement) throw new AgentError("ERR_NOT_ANCHORED", "the grant was withdrawn but the withdrawal is not anchored yet; try again in a few seconds");
    withdrawal = {
      receipt: w.receipt,
      acknowledgement: w.acknowledgement,
      anchors: { receipt: await anchorOf("withdrawal receipt", w.receipt, w.proofs.receipt, args.registry), acknowledgement: await anchorOf("withdrawal acknowledgement", w.acknowledgement, w.proofs.acknowledgement, args.registry) },
    };
  }
  const consent = args.consentReceipt ? await verifyReceipt<ConsentRecord>(args.consentReceipt, CONSENT_RECEIPT_TYPE) : { issuer: undefined, record: undefined };
  const grant = await verifyReceipt<GrantRecord>(args.grantReceipt, GRANT_RECEIPT_TYPE);
  // Snapshots come from the issuer the receipts name: bounded (https; loopback http only for a loopback issuer).
  const fetcherFor = (uri: string) => args.fetch ?? boundedFetcher({ timeoutMs: 5000, maxBytes: 1_000_000, allowLoopbackHttp: isLoopbackHttpUrl(uri) });
  const waitMs = args.waitMs ?? 15_000;
  const [statusSnapshot, registrySnapshot] = await Promise.all([
    grant.record?.statusList ? fetchSnapshot(grant.record.statusList, args.registry, fetcherFor(grant.record.statusList.uri), waitMs) : undefined,
    grant.record?.trustRegistry ? fetchSnapshot(grant.record.trustRegistry, args.registry, fetcherFor(grant.record.trustRegistry.uri), waitMs) : undefined,
  ]);
  const snapshotIssuers = [statusSnapshot, registrySnapshot].map((snap) => (snap ? signerDidOf(snap.jwt) || undefined : undefined));
  const dids = [...new Set([consent.issuer, grant.issuer, grant.subject, consent.record?.pseudonym, ...snapshotIssuers].filter((d): d is string => typeof d === "string"))];
  return {
    format: EVIDENCE_FORMAT,
    version: 1,
    createdAt: (args.now ?? new Date()).toISOString(),
    receipts: { consent: args.consentReceipt, grant: args.grantReceipt },
    anchors,
    didDocuments: Object.fromEntries(dids.map((d) => [d, didKeyDocument(d)])),
    ...(statusSnapshot ? { statusSnapshot } : {}),
    ...(registrySnapshot ? { registrySnapshot } : {}),
    ...(args.presentation ? { presentation: args.presentation } : {}),
    ...(args.transactionData ? { transactionData: args.transactionData } : {}),
    ...(withdrawal ? { withdrawal } : {}),
  };
}

/**
 * A document the issuer kept by hash (the status list or the merchant registry the merchant relied on),
 * from the issuer's snapshot archive (`<uri>/snapshots/<hash>`), with the issuer's inclusion proof and
 * where its root landed on chain. Waits a little for the issuer's batch to be anchored.
 */
async function fetchSnapshot(ref: { uri: string; hash: string }, registry: AnchorRegistryClient, fetcher: typeof fetch, waitMs: number): Promise<{ jwt: string; anchor: AnchorProof } | undefined> {
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

/**
 * The person's consent when there is no consent receipt: the presentation in the bundle, issued by a trusted
 * issuer to the key the grant receipt names (its subject), whose key-binding JWT (signed by that key, for
 * this merchant's client identifier) is exactly the one the grant receipt names and carries the hash of the
 * grant terms in the bundle. Read as a consent record so the rest of the checks (merchant registered, times,
 * summary) apply unchanged.
 */
function presentationConsent(bundle: EvidenceBundle, grant: { verified: boolean; issuer?: string; subject?: string; record?: GrantRecord }, trustedIssuers: readonly string[], issuerKeys: ReadonlyArray<{ iss: string; jwk: PublicJwk }> = []): { verified: boolean; errors: Array<{ code: string; message: string }>; issuer?: string; record?: ConsentRecord } {
  const fail = (message: string, code = "ERR_EVIDENCE_CONSENT") => ({ verified: false, errors: [{ code, message }] });
  const p = bundle.presentation;
  if (!p) return fail("the bundle has neither a consent receipt nor the presentation that is the person's consent", "ERR_EVIDENCE_NO_CONSENT");
  if (!grant.verified || !grant.record?.presentation) return fail("the grant receipt names no presentation");
  const named = grant.record.presentation;
  const issued = signedCredential(p.split("~")[0] ?? "", trustedIssuers, issuerKeys);
  if ("problem" in issued) return fail(`the presented credential is ${issued.problem}`, "ERR_EVIDENCE_UNTRUSTED_CREDENTIAL");
  const holder = keyObjectFromJwk((issued.payload.cnf as { jwk?: unknown } | undefined)?.jwk);
  let holderDid: string | undefined;
  try {
    holderDid = didKeyFromJwk((issued.payload.cnf as { jwk?: unknown } | undefined)?.jwk);
  } catch {
    holderDid = undefined;
  }
  const kbJwt = p.slice(p.lastIndexOf("~") + 1);
  const kb = decodeJws(kbJwt);
  if (!holder || !kb || kb.header.typ !== "kb+jwt" || !verifyWithAlg(kb.header.alg, kb.signingInput, kb.signature, holder)) return fail("the key-binding JWT is not signed by the credential's holder key", "ERR_EVIDENCE_CONSENT_SIGNER");
  if (!holderDid || holderDid !== grant.subject) return fail(`the presentation is bound to ${holderDid ?? "another key"}, not to the key the grant receipt names`, "ERR_EVIDENCE_CONSENT_SIGNER");
  if (sha256Hex(kbJwt) !== named.kbJwtHash || kb.payload.sd_hash !== named.sdHash || sha256B64url(p.slice(0, p.length - kbJwt.length)) !== named.sdHash) return fail("the presentation is not the one the grant receipt names", "ERR_EVIDENCE_PRESENTATION");
  if (kb.payload.aud !== `decentralized_identifier:${grant.issuer}`) return fail("the presentation was made for another verifier", "ERR_EVIDENCE_PRESENTATION");
  const td = bundle.transactionData;
  const terms = td ? decodeTransactionData(td) : undefined;
  const hashes = kb.payload.transaction_data_hashes;
  if (!td || !terms || !named.transactionDataHash || transactionDataHash(td) !== named.transactionDataHash || !Array.isArray(hashes) || !hashes.includes(named.transactionDataHash)) {
    return fail("the grant terms in the bundle are not the ones the person signed in the key-binding JWT", "ERR_EVIDENCE_TERMS");
  }
  const merchant = (terms.merchant ?? {}) as { id?: unknown; name?: unknown };
  if (merchant.id !== grant.issuer || terms.level !== grant.record.level) return fail("the signed grant terms name another merchant or level than the grant receipt", "ERR_EVIDENCE_TERMS");
  const iat = typeof kb.payload.iat === "number" ? new Date(kb.payload.iat * 1000).toISOString() : "";
  const retentionDays = typeof terms.retention_days === "number" ? terms.retention_days : 0;
  return {
    verified: true,
    errors: [],
    issuer: holderDid,
    record: {
      receiptId: `urn:sha256:${named.kbJwtHash}`,
      schemaVersion: "openid4vp-1.0 key binding",
      consentTimestamp: iat,
      jurisdiction: "",
      controller: { id: String(merchant.id), name: typeof merchant.name === "string" ? merchant.name : "" },
      purpose: typeof terms.purpose === "string" ? terms.purpose : "",
      level: grant.record.level,
      claimNames: grant.record.claimNames,
      retentionDays,
      presentationHash: named.sdHash,
      requestHash: "",
      transactionDataHash: named.transactionDataHash,
      expiresAt: "",
    },
  };
}

/** An SD-JWT VC's issuer-signed JWT signed (EdDSA or ES256) by a trusted issuer (its did:key, or its URL naming that DID in kid). */
function signedCredential(jwt: string, issuers: readonly string[], issuerKeys: ReadonlyArray<{ iss: string; jwk: PublicJwk }> = []): { payload: Record<string, unknown>; issuer: string } | { problem: string } {
  // The same rule as for the issuer's other JWTs: its did:key or further keys, `iss` its DID or its URL.
  return signedByTrustedIssuer(jwt, "dc+sd-jwt", issuers, issuerKeys);
}

export type CheckStatus = "pass" | "fail" | "cannot-check";
export interface EvidenceCheck {
  check: string;
  status: CheckStatus;
  detail: string;
  /** For a failed check where the reason has a name: a stable code (e.g. ERR_EVIDENCE_UNTRUSTED_CONTRACT). */
  code?: string;
}
export interface EvidenceSummary {
  merchant: string;
  holder: string;
  level: string;
  purpose: string;
  claimNames: string[];
  consentedAt: string;
  grantedAt: string;
  /** The merchant's name in the issuer's registry the merchant relied on (when that registry verified). */
  registeredAs?: string;
  /** Present when the bundle carries the grant's withdrawal (whether or not it verified: see the withdrawal checks). */
  withdrawal?: { withdrawnAt: string; acknowledgedAt?: string; dataDeleted?: boolean };
}
/** The trust anchors a report was made with: always named, so a reader knows what "verified" rests on. */
export interface TrustAnchorsUsed {
  chainId?: string;
  rpcUrl?: string;
  contracts: string[];
  issuers: string[];
  source?: string;
  registrySnapshot?: { hash: string; issuer?: string; issuedAt?: string };
}
export interface EvidenceReport {
  verified: boolean;
  checks: EvidenceCheck[];
  summary?: EvidenceSummary;
  trustAnchors: TrustAnchorsUsed;
}

const registryInterface = new Interface(ANCHOR_REGISTRY_ABI as unknown as string[]);
const isoSeconds = (iso: string | undefined): number | undefined => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? Math.floor(t / 1000) : undefined;
};
const when = (t: number) => new Date(t * 1000).toISOString();

/**
 * The DID whose key signed an issuer JWT: its `iss` when that is a DID; for an issuer named by its URL
 * (ISSUER_IDENTIFIER=url), which signs with its DID's keys, the DID the header `kid` names. Only a claim: the
 * signature is then checked against that DID's keys, and only a DID the notary trusts counts.
 */
function signerDidOf(jwt: string): string {
  const jws = decodeJws(jwt);
  const iss = typeof jws?.payload.iss === "string" ? jws.payload.iss : "";
  if (iss.startsWith("did:")) return iss;
  return isUrlIssuer(iss) && typeof jws?.header.kid === "string" && jws.header.kid.startsWith("did:key:") ? jws.header.kid.split("#")[0]! : "";
}

/**
 * An issuer-signed JWT (registry, status list, the presented credential): its payload when signed by one of
 * `issuers` with this typ: by the issuer's did:key (EdDSA or ES256 by its curve) or by a further key of that
 * issuer (`issuerKeys`, e.g. its ES256 key). The key's curve fixes the algorithm. An issuer named by its URL
 * counts as the DID its header `kid` names (signerDidOf).
 */
function signedByTrustedIssuer(jwt: string, typ: string, issuers: readonly string[], issuerKeys: ReadonlyArray<{ iss: string; jwk: PublicJwk }> = []): { payload: Record<string, unknown>; issuer: string } | { problem: string } {
  const jws = decodeJws(jwt);
  if (!jws || jws.header.typ !== typ || (jws.header.alg !== "EdDSA" && jws.header.alg !== "ES256")) return { problem: `not a signed ${typ}` };
  const iss = typeof jws.payload.iss === "string" ? jws.payload.iss : "";
  const issuer = signerDidOf(jwt);
  if (!issuers.includes(issuer)) return { problem: `signed by ${iss || "nobody"}, not by an issuer the notary trusts` };
  const keys: Array<string | PublicJwk> = [issuer, ...issuerKeys.filter((k) => k.iss === issuer).map((k) => k.jwk)];
  if (!keys.some((key) => verifyJwt(jwt, key, { typ }).verified)) return { problem: "the issuer's signature is invalid" };
  return { payload: jws.payload, issuer };
}

/**
 * Verifies a bundle against the notary's own trust anchors (`trust`: the chain, the AnchorRegistry
 * contracts and the issuers it trusts; never what the bundle names), offline (schema, signatures,
 * counter-signature, who signed what, the merchant in the issuer's registry, times, leaves, Merkle paths)
 * and, given clients of the trusted registries, on chain (chain id, root anchored on a trusted contract,
 * block number, block hash, time, the transaction's event). Every check is reported; `verified` only when all pass.
 */
export async function verifyEvidenceBundle(input: unknown, options: { trust?: TrustAnchors; registry?: AnchorRegistryClient | AnchorRegistryClient[]; skewSeconds?: number } = {}): Promise<EvidenceReport> {
  const checks: EvidenceCheck[] = [];
  const add = (check: string, status: CheckStatus, detail: string, code?: string) => checks.push({ check, status, detail, ...(status === "fail" && code ? { code } : {}) });
  const trust = options.trust;
  const trustedIssuers = trust?.issuers ?? [];
  const trustAnchors: TrustAnchorsUsed = { chainId: trust?.chainId, rpcUrl: trust?.rpcUrl, contracts: trust?.contracts ?? [], issuers: trustedIssuers, source: trust?.source };
  const parsed = evidenceBundleSchema.safeParse(input);
  if (!parsed.success) {
    add("bundle-format", "fail", `not a ${EVIDENCE_FORMAT} v1: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`, "ERR_NOT_A_BUNDLE");
    return { verified: false, checks, trustAnchors };
  }
  add("bundle-format", "pass", `${EVIDENCE_FORMAT} v1`);
  const bundle = parsed.data;
  const skew = options.skewSeconds ?? ANCHOR_TIME_SKEW_SECONDS;

  if (!trust) add("trust-anchors", "cannot-check", "the notary configured no trust anchors (chain, registry contract, trusted issuers): nothing can be checked against them");
  else if (trustedIssuers.length === 0) add("trust-anchors", "fail", `no trusted issuer configured (${trust.source}): pass --issuer DID or a trust file naming the issuer`, "ERR_EVIDENCE_NO_TRUSTED_ISSUER");
  else add("trust-anchors", "pass", `chain ${trust.chainId ?? "(the endpoint's)"} at ${trust.rpcUrl}, registry ${trust.contracts.join(", ")}, issuer ${trustedIssuers.join(", ")} (from ${trust.source})`);

  const grant = await verifyReceipt<GrantRecord>(bundle.receipts.grant, GRANT_RECEIPT_TYPE);
  const g = grant.verified ? grant.record! : undefined;
  // With a consent receipt: it is the person's signed consent. Without (a plain OpenID4VP grant): the
  // presentation's key-binding JWT over the grant terms is, and the grant receipt must name that presentation.
  const consentFromPresentation = bundle.receipts.consent === undefined;
  const consent = consentFromPresentation ? presentationConsent(bundle, grant, trustedIssuers, trust?.issuerKeys) : await verifyReceipt<ConsentRecord>(bundle.receipts.consent, CONSENT_RECEIPT_TYPE);
  if (consentFromPresentation) add("consent-presentation", consent.verified ? "pass" : "fail", consent.verified ? `no consent receipt: the person's key-binding signature (key ${consent.issuer}) over the grant terms the grant receipt names is the consent` : consent.errors.map((e) => e.message).join("; "), consent.errors[0]?.code);
  else add("consent-receipt-signature", consent.verified ? "pass" : "fail", consent.verified ? `signed by the holder key ${consent.issuer}` : consent.errors.map((e) => e.message).join("; "), consent.errors[0]?.code);
  add("grant-receipt-signature", grant.verified ? "pass" : "fail", grant.verified ? `signed by the merchant ${grant.issuer}` : grant.errors.map((e) => e.message).join("; "), grant.errors[0]?.code);
  const c = consent.verified ? consent.record! : undefined;

  if (c && g && consentFromPresentation) {
    // presentationConsent already tied the presentation to the grant receipt's subject and hashes.
    add("consent-signed-by-holder", "pass", `the presentation is signed by the holder key the grant receipt names (${grant.subject})`);
  } else if (c && g) {
    const ok = g.consentReceiptHash === receiptHash(bundle.receipts.consent!) && g.consentReceiptId === c.receiptId && c.controller.id === grant.issuer && g.level === c.level;
    add("grant-countersigns-consent", ok ? "pass" : "fail", ok ? "the grant receipt counter-signs exactly this consent receipt, by its controller" : "the grant receipt does not counter-sign this consent receipt", "ERR_EVIDENCE_NOT_COUNTERSIGNED");
    // The consent must come from the key the merchant verified (the grant's subject), not any key at all.
    const signerOk = grant.subject === consent.issuer;
    add("consent-signed-by-holder", signerOk ? "pass" : "fail", signerOk ? `the consent is signed by the holder key the grant receipt names (${grant.subject})` : `the consent is signed by ${consent.issuer}, but the grant receipt names the holder key ${grant.subject ?? "(none)"}`, "ERR_EVIDENCE_CONSENT_SIGNER");
  } else {
    add("grant-countersigns-consent", "cannot-check", "a receipt signature failed");
    add("consent-signed-by-holder", "cannot-check", "a receipt signature failed");
  }

  // The merchant is in the registry of an issuer the notary trusts, as the merchant relied on it at grant time.
  let registered: TrustRegistryDocument | undefined;
  const namedRegistry = g?.trustRegistry;
  if (!g) add("merchant-registered", "cannot-check", "the grant receipt could not be read");
  else if (!namedRegistry) add("merchant-registered", "fail", "the grant receipt names no merchant registry: nothing shows the merchant was registered with a trusted issuer", "ERR_EVIDENCE_MERCHANT_UNREGISTERED");
  else if (!bundle.registrySnapshot) add("merchant-registered", "cannot-check", "the grant receipt names a merchant registry but the bundle does not carry it");
  else {
    const snap = bundle.registrySnapshot;
    const signed = signedByTrustedIssuer(snap.jwt, TRUST_REGISTRY_TYP, trustedIssuers, trust?.issuerKeys);
    const hashOk = sha256Hex(snap.jwt) === namedRegistry.hash && snap.anchor.receiptHash === namedRegistry.hash;
    if ("problem" in signed) add("merchant-registered", "fail", `the merchant registry in the bundle is ${signed.problem}`, "ERR_EVIDENCE_UNTRUSTED_REGISTRY");
    else if (!hashOk) add("merchant-registered", "fail", "the merchant registry in the bundle is not the one the grant receipt names", "ERR_EVIDENCE_UNTRUSTED_REGISTRY");
    else {
      const doc = signed.payload as unknown as TrustRegistryDocument;
      trustAnchors.registrySnapshot = { hash: namedRegistry.hash, issuer: signed.issuer, issuedAt: typeof doc.iat === "number" ? when(doc.iat) : undefined };
      const entry = Array.isArray(doc.merchants) ? doc.merchants.find((m) => m?.did === grant.issuer) : undefined;
      const grantedAt = isoSeconds(g.grantTimestamp);
      const problems: string[] = [];
      if (!entry) problems.push(`the merchant ${grant.issuer} is not in the issuer's registry`);
      else {
        if (GRANT_LEVELS.indexOf(g.level) > GRANT_LEVELS.indexOf(entry.maxLevel)) problems.push(`it is registered up to ${entry.maxLevel}, not ${g.level}`);
        if (c && !entry.purposes?.includes(c.purpose)) problems.push("the stated purpose is not one it is registered for");
      }
      if (grantedAt === undefined || typeof doc.iat !== "number" || doc.iat > grantedAt + skew) problems.push("the registry was issued after the grant");
      else if (typeof doc.exp !== "number" || doc.exp < grantedAt - skew) problems.push("the registry had expired when the grant was made");
      if (problems.length) add("merchant-registered", "fail", problems.join("; "), entry ? "ERR_EVIDENCE_REGISTRATION_MISMATCH" : "ERR_EVIDENCE_MERCHANT_UNREGISTERED");
      else {
        registered = doc;
        add("merchant-registered", "pass", `${entry!.name} (${grant.issuer}) is registered up to ${entry!.maxLevel} in the registry issued by ${signed.issuer} at ${when(doc.iat)}`);
      }
    }
  }

  if (c && g) {
    // Receipts cannot be dated after the block that anchored them (plus a little clock skew), nor the grant before the consent.
    const consentedAt = isoSeconds(c.consentTimestamp);
    const grantedAt = isoSeconds(g.grantTimestamp);
    const problems: string[] = [];
    if (consentedAt === undefined || grantedAt === undefined) problems.push("a receipt's time is not a date");
    else {
      if (grantedAt < consentedAt - skew) problems.push("the grant is dated before the consent");
      if (bundle.anchors.consent && consentedAt > bundle.anchors.consent.timestamp + skew) problems.push(`the consent is dated ${when(consentedAt)}, after its anchoring block's time ${when(bundle.anchors.consent.timestamp)}`);
      if (grantedAt > bundle.anchors.grant.timestamp + skew) problems.push(`the grant is dated ${when(grantedAt)}, after its anchoring block's time ${when(bundle.anchors.grant.timestamp)}`);
    }
    add("times-consistent", problems.length ? "fail" : "pass", problems.length ? problems.join("; ") : `consent ${c.consentTimestamp}, grant ${g.grantTimestamp}, both before their anchoring blocks (skew ${skew} s)`, "ERR_EVIDENCE_TIME_INCONSISTENT");
  } else add("times-consistent", "cannot-check", "a receipt signature failed");

  const leafAndPath = (name: string, jwt: string, a: AnchorProof) => {
    const hash = receiptHash(jwt);
    const leafOk = a.receiptHash === hash && receiptLeaf(hash, a.salt) === a.leaf;
    add(`${name}-leaf`, leafOk ? "pass" : "fail", leafOk ? "the salted leaf is the hash of this receipt" : "the leaf is not the hash of this receipt", "ERR_EVIDENCE_LEAF");
    const pathOk = leafOk && verifyMerkleInclusion(a.root, a.leaf, a.proof);
    add(`${name}-merkle-path`, pathOk ? "pass" : "fail", pathOk ? `the leaf is in the batch with root ${a.root}` : "the Merkle path does not lead from the leaf to the root", "ERR_EVIDENCE_MERKLE_PATH");
  };
  if (bundle.receipts.consent !== undefined) {
    if (bundle.anchors.consent) leafAndPath("consent", bundle.receipts.consent, bundle.anchors.consent);
    else add("consent-leaf", "fail", "the bundle carries a consent receipt without its anchor", "ERR_EVIDENCE_LEAF");
  }
  leafAndPath("grant", bundle.receipts.grant, bundle.anchors.grant);

  const clients = options.registry ? (Array.isArray(options.registry) ? options.registry : [options.registry]) : [];
  const reads = new Map<string, ReturnType<AnchorRegistryClient["readClaimedAnchor"]>>();
  /** One chain read per claimed anchor, shared by every check that names it. */
  const readAnchor = (r: AnchorRegistryClient, a: AnchorProof) => {
    const key = `${r.address}|${a.root}|${a.blockNumber}|${a.txHash}`;
    let read = reads.get(key);
    if (!read) {
      read = r.readClaimedAnchor(a.root, a);
      read.catch(() => undefined); // awaited (and reported) by the check that uses it
      reads.set(key, read);
    }
    return read;
  };
  /** A root on a registry the notary trusts, at the block, time and transaction the bundle states. */
  const onChain = async (name: string, a: AnchorProof, what: string) => {
    if (!trust) return add(name, "cannot-check", "no trust anchors configured");
    if (trust.chainId !== undefined && a.chainId !== trust.chainId) return add(name, "fail", `the bundle names chain ${a.chainId}; the notary trusts chain ${trust.chainId}`, "ERR_EVIDENCE_UNTRUSTED_CHAIN");
    if (!trust.contracts.includes(a.contract.toLowerCase())) return add(name, "fail", `the bundle names registry contract ${a.contract}, which the notary does not trust (trusted: ${trust.contracts.join(", ")})`, "ERR_EVIDENCE_UNTRUSTED_CONTRACT");
    const r = clients.find((cl) => cl.address.toLowerCase() === a.contract.toLowerCase());
    if (!r) return add(name, "cannot-check", "no chain endpoint given");
    if (trust.chainId !== undefined && r.chainId.toString() !== trust.chainId) return add(name, "fail", `the endpoint ${trust.rpcUrl} serves chain ${r.chainId}, not the trusted chain ${trust.chainId}`, "ERR_EVIDENCE_UNTRUSTED_CHAIN");
    try {
      const read = await readAnchor(r, a);
      if (read.anchoredAtBlock === 0) return add(name, "fail", "the trusted registry does not show this root (never anchored there, or the chain was reset since)", "ERR_EVIDENCE_NOT_ANCHORED");
      const problems: string[] = [];
      const found = read.found;
      if (read.anchoredAtBlock !== a.blockNumber) problems.push(`block ${read.anchoredAtBlock} on chain, ${a.blockNumber} in bundle`);
      else if (!found) return add(name, "fail", "the trusted registry does not show this root (never anchored there, or the chain was reset since)", "ERR_EVIDENCE_NOT_ANCHORED");
      else {
        if (found.blockHash !== a.blockHash) problems.push("block hash differs");
        if (found.timestamp !== a.timestamp) problems.push(`time ${found.timestamp} on chain, ${a.timestamp} in bundle`);
        if (found.txHash !== a.txHash) problems.push("transaction differs");
      }
      const emitted = read.receiptLogs?.some((log) => {
        if (log.address.toLowerCase() !== r.address.toLowerCase()) return false;
        const ev = registryInterface.parseLog(log);
        return ev?.name === "RootAnchored" && ev.args.root === a.root;
      });
      if (!emitted) problems.push("the transaction did not emit RootAnchored for this root");
      if (problems.length) add(name, "fail", problems.join("; "), "ERR_EVIDENCE_ANCHOR_MISMATCH");
      else add(name, "pass", `${what} anchored in block ${a.blockNumber} at ${when(a.timestamp)} by tx ${a.txHash} on the trusted registry ${r.address}`);
    } catch (error) {
      add(name, "cannot-check", `the chain could not be asked: ${(error as Error).message?.slice(0, 160)}`);
    }
  };
  // Every anchor the bundle names is read from the chain at once, before the checks that use them: the
  // reads go out as one JSON-RPC batch (one round trip) instead of ~4 sequential requests per root.
  for (const a of [bundle.anchors.consent, bundle.anchors.grant, bundle.registrySnapshot?.anchor, bundle.statusSnapshot?.anchor, bundle.withdrawal?.anchors.receipt, bundle.withdrawal?.anchors.acknowledgement]) {
    const r = a && typeof a.contract === "string" ? clients.find((cl) => cl.address.toLowerCase() === a.contract.toLowerCase()) : undefined;
    if (a && r && trust?.contracts.includes(a.contract.toLowerCase())) readAnchor(r, a);
  }
  if (bundle.anchors.consent) await onChain("consent-root-on-chain", bundle.anchors.consent, "the consent batch");
  await onChain("grant-root-on-chain", bundle.anchors.grant, "the grant batch");

  if (bundle.presentation !== undefined && !consentFromPresentation) {
    const p = bundle.presentation;
    const presented = p.slice(0, p.lastIndexOf("~") + 1);
    const ok = !!c && presented.length > 0 && sha256B64url(presented) === c.presentationHash;
    add("presentation-matches-consent", ok ? "pass" : "fail", ok ? "the included presentation is exactly the one the consent receipt names" : "the included presentation is not the one the consent receipt names", "ERR_EVIDENCE_PRESENTATION");
    // The credential was issued by a trusted issuer to the very key that signed the consent (its `cnf`).
    const issued = signedByTrustedIssuer(p.split("~")[0] ?? "", "dc+sd-jwt", trustedIssuers, trust?.issuerKeys);
    if ("problem" in issued) add("presentation-issuer-trusted", "fail", `the presented credential is ${issued.problem}`, "ERR_EVIDENCE_UNTRUSTED_CREDENTIAL");
    else {
      let cnfDid: string | undefined;
      try {
        cnfDid = didKeyFromJwk((issued.payload.cnf as { jwk?: unknown } | undefined)?.jwk);
      } catch {
        cnfDid = undefined;
      }
      const ok = !!cnfDid && cnfDid === consent.issuer && cnfDid === grant.subject;
      add("presentation-issuer-trusted", ok ? "pass" : "fail", ok ? `issued by ${issued.issuer} to the key that signed the consent` : `the credential is bound to ${cnfDid ?? "no key"}, not to the key that signed the consent`, "ERR_EVIDENCE_CONSENT_SIGNER");
    }
  }

  // A snapshot the merchant relied on: the hash the grant names, its issuer's batch and anchor.
  const snapshotChecks = async (name: string, named: { hash: string } , snap: { jwt: string; anchor: AnchorProof }) => {
    const pathOk = snap.anchor.receiptHash === named.hash && receiptLeaf(named.hash, snap.anchor.salt) === snap.anchor.leaf && verifyMerkleInclusion(snap.anchor.root, snap.anchor.leaf, snap.anchor.proof);
    add(`${name}-merkle-path`, pathOk ? "pass" : "fail", pathOk ? `in the issuer's batch with root ${snap.anchor.root}` : "the snapshot's Merkle path does not lead to its root", "ERR_EVIDENCE_MERKLE_PATH");
    await onChain(`${name}-on-chain`, snap.anchor, "the issuer's batch");
  };
  if (namedRegistry && bundle.registrySnapshot) await snapshotChecks("registry-snapshot", namedRegistry, bundle.registrySnapshot);

  // The status list the merchant relied on: a trusted issuer's signature, the hash the grant names, its own anchor.
  const named = g?.statusList;
  if (named) {
    const snap = bundle.statusSnapshot;
    if (!snap) add("status-snapshot", "cannot-check", "the grant names a status list but the bundle does not carry it");
    else {
      const signed = signedByTrustedIssuer(snap.jwt, STATUS_LIST_TYP, trustedIssuers, trust?.issuerKeys);
      const hashOk = sha256Hex(snap.jwt) === named.hash && snap.anchor.receiptHash === named.hash && !("problem" in signed) && signed.payload.sub === named.uri;
      add("status-snapshot", hashOk ? "pass" : "fail", hashOk ? `the status list the merchant checked, signed by the trusted issuer ${(signed as { issuer: string }).issuer}` : "problem" in signed ? `the status-list snapshot is ${signed.problem}` : "the status-list snapshot is not the one the grant names", "ERR_EVIDENCE_STATUS_SNAPSHOT");
      await snapshotChecks("status-snapshot", named, snap);
    }
  }

  // A withdrawal in the bundle: signed by the consenting key, acknowledged by the merchant, both anchored.
  let withdrawal: EvidenceSummary["withdrawal"];
  if (bundle.withdrawal) {
    const wb = bundle.withdrawal;
    const w = await verifyReceipt<WithdrawalRecord>(wb.receipt, WITHDRAWAL_RECEIPT_TYPE);
    const namesConsent = bundle.receipts.consent === undefined || w.record?.consentReceiptHash === receiptHash(bundle.receipts.consent);
    const wOk = w.verified && consent.verified && w.issuer === consent.issuer && namesConsent && w.record!.grantReceiptHash === receiptHash(bundle.receipts.grant);
    add("withdrawal-receipt", wOk ? "pass" : "fail", wOk ? `the person withdrew this grant at ${w.record!.withdrawnAt}, signed by the key that consented` : "the withdrawal receipt is not signed by the consenting key for this grant", "ERR_EVIDENCE_WITHDRAWAL");
    const ack = await verifyReceipt<WithdrawalAckRecord>(wb.acknowledgement, WITHDRAWAL_ACK_TYPE);
    const ackOk = ack.verified && ack.issuer === grant.issuer && ack.record!.withdrawalReceiptHash === receiptHash(wb.receipt);
    add("withdrawal-acknowledgement", ackOk ? "pass" : "fail", ackOk ? `the merchant acknowledged it at ${ack.record!.acknowledgedAt}${ack.record!.dataDeleted ? " and deleted its copy of the data" : ""}` : "the acknowledgement is not the merchant's answer to this withdrawal", "ERR_EVIDENCE_WITHDRAWAL");
    if (w.verified) withdrawal = { withdrawnAt: w.record!.withdrawnAt, ...(ack.verified ? { acknowledgedAt: ack.record!.acknowledgedAt, dataDeleted: ack.record!.dataDeleted } : {}) };
    leafAndPath("withdrawal", wb.receipt, wb.anchors.receipt);
    leafAndPath("withdrawal-acknowledgement", wb.acknowledgement, wb.anchors.acknowledgement);
    await onChain("withdrawal-root-on-chain", wb.anchors.receipt, "the withdrawal batch");
    await onChain("withdrawal-acknowledgement-root-on-chain", wb.anchors.acknowledgement, "the acknowledgement batch");
  }

  const summary: EvidenceSummary | undefined =
    c && g
      ? {
          merchant: `${c.controller.name} (${c.controller.id})`,
          holder: consent.issuer!,
          level: c.level,
          purpose: c.purpose,
          claimNames: c.claimNames,
          consentedAt: c.consentTimestamp,
          grantedAt: g.grantTimestamp,
          ...(registered ? { registeredAs: registered.merchants.find((m) => m.did === grant.issuer)?.name } : {}),
          ...(withdrawal ? { withdrawal } : {}),
        }
      : undefined;
  return { verified: checks.every((ch) => ch.status === "pass"), checks, summary, trustAnchors };
}
