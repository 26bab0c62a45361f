/**
 * Evidence bundles made by hand on a real chain: the genuine shape (a registered merchant, a trusted issuer's
 * registry, anchored on the trusted AnchorRegistry) and every way a forger bends it (self-made keys, a
 * registry contract he deployed himself, a consent signed by another key, times after the block).
 * Used by the evidence tests and the attack drill.
 */
import { generateKeyPairSync } from "node:crypto";
import {
  bindPresentation,
  encodeTransactionData,
  issueIdentityCredential,
  identityVct,
  jwkFromDidKey,
  selectDisclosures,
  transactionDataHash,
  buildEvidenceBundle,
  buildMerkleBatch,
  createConsentReceipt,
  createGrantReceipt,
  createReceipt,
  didKeyFromPublicKey,
  fromB64url,
  keyObjectSigner,
  MemoryDocumentStore,
  newLeafSalt,
  receiptHash,
  receiptLeaf,
  TrustRegistry,
  WITHDRAWAL_ACK_TYPE,
  WITHDRAWAL_RECEIPT_TYPE,
  type AnchorRegistryClient,
  type EvidenceBundle,
  type JwsSigner,
  type WithdrawalAckRecord,
  type WithdrawalRecord,
} from "@realname/agent";

export interface Key {
  did: string;
  signer: JwsSigner;
}
export function newKey(): Key {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { did: didKeyFromPublicKey(fromB64url(publicKey.export({ format: "jwk" }).x as string)), signer: keyObjectSigner(privateKey) };
}

export interface BundleRecipe {
  /** Where the batch is anchored (the trusted registry, or one the forger deployed). */
  anchorOn: AnchorRegistryClient;
  /** Who signs the merchant registry, and whether the merchant is in it. */
  registryIssuer: Key;
  registered?: boolean;
  merchant?: Key;
  holder?: Key;
  /** Signs the consent (default: the holder the grant names). */
  consentSigner?: Key;
  consentAt?: Date;
  grantAt?: Date;
  /** The included presentation and the consent's hash of it. */
  presentation?: { full: string; presentedHash: string };
  withdraw?: boolean;
  /** Signs the withdrawal (default: the consent signer). */
  withdrawalSigner?: Key;
}

/** Builds, signs, anchors (one Merkle batch, one transaction) and bundles a grant as the recipe says. */
export async function makeEvidenceBundle(r: BundleRecipe): Promise<{ bundle: EvidenceBundle; merchant: Key; holder: Key }> {
  const now = new Date();
  const merchant = r.merchant ?? newKey();
  const holder = r.holder ?? newKey();
  const consentSigner = r.consentSigner ?? holder;
  const registry = new TrustRegistry(new MemoryDocumentStore(), r.registryIssuer);
  if (r.registered !== false) await registry.putMerchant({ did: merchant.did, name: "Hand-made Shop", maxLevel: "full", purposes: ["evidence test"], fullClaims: [], origins: ["https://shop.example"] });
  const registryJwt = await registry.signed();
  const registryUri = "http://127.0.0.1:9/registry";
  const consentAt = r.consentAt ?? new Date(now.getTime() - 5000);
  const grantAt = r.grantAt ?? now;
  const consent = await createConsentReceipt(
    { consentTimestamp: consentAt.toISOString(), jurisdiction: "CN", controller: { id: merchant.did, name: "Hand-made Shop" }, purpose: "evidence test", level: "verified", claimNames: ["real_name_verified"], retentionDays: 0, presentationHash: r.presentation?.presentedHash ?? "x", requestHash: "00".repeat(32), expiresAt: new Date(now.getTime() + 86_400_000).toISOString() },
    consentSigner,
    now,
  );
  const grant = await createGrantReceipt(
    { grantTimestamp: grantAt.toISOString(), consentReceiptId: consent.record.receiptId, consentReceiptHash: receiptHash(consent.jwt), level: "verified", claimNames: ["real_name_verified"], retentionUntil: now.toISOString(), trustRegistry: { uri: registryUri, hash: receiptHash(registryJwt) } },
    holder.did,
    merchant,
    now,
  );
  const jwts = [consent.jwt, grant.jwt, registryJwt];
  let withdrawal: { receipt: string; acknowledgement: string } | undefined;
  if (r.withdraw) {
    const w = await createReceipt<WithdrawalRecord>(WITHDRAWAL_RECEIPT_TYPE, merchant.did, { withdrawnAt: now.toISOString(), grantId: "g", consentReceiptHash: receiptHash(consent.jwt), grantReceiptHash: receiptHash(grant.jwt), controller: { id: merchant.did, name: "Hand-made Shop" } }, r.withdrawalSigner ?? consentSigner, now);
    const ack = await createReceipt<WithdrawalAckRecord>(WITHDRAWAL_ACK_TYPE, consentSigner.did, { acknowledgedAt: now.toISOString(), grantId: "g", withdrawalReceiptHash: receiptHash(w.jwt), dataDeleted: true }, merchant, now);
    withdrawal = { receipt: w.jwt, acknowledgement: ack.jwt };
    jwts.push(w.jwt, ack.jwt);
  }
  const salts = new Map(jwts.map((j) => [j, newLeafSalt()]));
  const leafOf = (j: string) => receiptLeaf(receiptHash(j), salts.get(j)!);
  const batch = buildMerkleBatch(jwts.map(leafOf));
  await r.anchorOn.anchor(batch.root, jwts.length);
  const proofOf = (j: string) => ({ salt: salts.get(j)!, proof: batch.proofs.get(leafOf(j))!, root: batch.root });
  // The issuer's archive as HTTP would serve it: the registry snapshot and its inclusion proof.
  const archive: typeof fetch = async (input) => {
    const url = String(input);
    if (url === `${registryUri}/snapshots/${receiptHash(registryJwt)}`) return new Response(registryJwt);
    if (url.endsWith(`/anchors/${receiptHash(registryJwt)}`)) return Response.json({ status: "anchored", ...proofOf(registryJwt) });
    return new Response("not found", { status: 404 });
  };
  const bundle = await buildEvidenceBundle({
    consentReceipt: consent.jwt,
    grantReceipt: grant.jwt,
    proofs: { consent: proofOf(consent.jwt), grant: proofOf(grant.jwt) },
    registry: r.anchorOn,
    fetch: archive,
    waitMs: 0,
    ...(r.presentation ? { presentation: r.presentation.full } : {}),
    ...(withdrawal ? { withdrawal: { ...withdrawal, proofs: { receipt: proofOf(withdrawal.receipt), acknowledgement: proofOf(withdrawal.acknowledgement) } } } : {}),
  });
  return { bundle, merchant, holder };
}

/**
 * A grant answered by a plain OpenID4VP 1.0 wallet: no consent receipt. The person's consent is the
 * presentation (a trusted issuer's credential, the key-binding JWT over the grant terms' transaction data),
 * which the grant receipt names by hash and the bundle carries with the exact terms string. `bend` lets a test
 * swap the terms or the presentation after the fact, as a forger would.
 */
export async function makePresentationEvidenceBundle(r: { anchorOn: AnchorRegistryClient; registryIssuer: Key; bend?: "terms" | "presentation" | "holder" }): Promise<{ bundle: EvidenceBundle; merchant: Key; holder: Key }> {
  const now = new Date();
  const merchant = newKey();
  const holder = newKey();
  const registry = new TrustRegistry(new MemoryDocumentStore(), r.registryIssuer);
  await registry.putMerchant({ did: merchant.did, name: "Hand-made Shop", maxLevel: "full", purposes: ["evidence test"], fullClaims: [], origins: ["https://shop.example"] });
  const registryJwt = await registry.signed();
  const registryUri = "http://127.0.0.1:9/registry";
  const terms = (purpose: string) =>
    encodeTransactionData({ type: "realname_grant", credential_ids: ["realname_identity"], request_id: "request-0001", level: "verified", purpose, retention_days: 0, merchant: { id: merchant.did, name: "Hand-made Shop" } });
  const transactionData = terms("evidence test");
  const credential = await issueIdentityCredential({ issuerDid: r.registryIssuer.did, vct: identityVct("https://issuer.example"), signer: r.registryIssuer.signer, holderJwk: jwkFromDidKey(holder.did), claims: { real_name_verified: true, age_over_18: true, family_name: "张", given_name: "三", full_name: "张三", id_number: "110105199003071239", birth_date: "1990-03-07" }, now, validForSeconds: 86_400 });
  const { presented, sdHash } = await selectDisclosures(credential, ["real_name_verified"]);
  const kbSigner = r.bend === "holder" ? newKey() : holder;
  const presentation = await bindPresentation({ presented, sdHash, audience: `decentralized_identifier:${merchant.did}`, nonce: "nonce-0001", now: new Date(now.getTime() - 5000), signer: kbSigner.signer, extraClaims: { transaction_data_hashes: [transactionDataHash(transactionData)] } });
  const kbJwt = presentation.slice(presentation.lastIndexOf("~") + 1);
  const grant = await createGrantReceipt(
    { grantTimestamp: now.toISOString(), level: "verified", claimNames: ["real_name_verified"], retentionUntil: now.toISOString(), presentation: { kbJwtHash: receiptHash(kbJwt), sdHash, transactionDataHash: transactionDataHash(transactionData) }, trustRegistry: { uri: registryUri, hash: receiptHash(registryJwt) } },
    holder.did,
    merchant,
    now,
  );
  const jwts = [grant.jwt, registryJwt];
  const salts = new Map(jwts.map((j) => [j, newLeafSalt()]));
  const leafOf = (j: string) => receiptLeaf(receiptHash(j), salts.get(j)!);
  const batch = buildMerkleBatch(jwts.map(leafOf));
  await r.anchorOn.anchor(batch.root, jwts.length);
  const proofOf = (j: string) => ({ salt: salts.get(j)!, proof: batch.proofs.get(leafOf(j))!, root: batch.root });
  const archive: typeof fetch = async (input) => {
    const url = String(input);
    if (url === `${registryUri}/snapshots/${receiptHash(registryJwt)}`) return new Response(registryJwt);
    if (url.endsWith(`/anchors/${receiptHash(registryJwt)}`)) return Response.json({ status: "anchored", ...proofOf(registryJwt) });
    return new Response("not found", { status: 404 });
  };
  // A forger's swap after the fact: other terms, or another presentation of the same credential.
  const other = r.bend === "presentation" ? await bindPresentation({ presented, sdHash, audience: `decentralized_identifier:${merchant.did}`, nonce: "nonce-0002", now, signer: holder.signer, extraClaims: { transaction_data_hashes: [transactionDataHash(transactionData)] } }) : presentation;
  const bundle = await buildEvidenceBundle({
    grantReceipt: grant.jwt,
    proofs: { grant: proofOf(grant.jwt) },
    registry: r.anchorOn,
    fetch: archive,
    waitMs: 0,
    presentation: other,
    transactionData: r.bend === "terms" ? terms("evidence test, and marketing") : transactionData,
  });
  return { bundle, merchant, holder };
}
