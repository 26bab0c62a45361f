import { randomBytes } from "node:crypto";
import type { IIdentifier } from "@veramo/core";
import { AgentError } from "../errors.js";
import { sha256B64url } from "../encoding.js";
import { fetchJson } from "../http/json-client.js";
import { createIdentifier, createRoleAgent, ensureIdentifier, identifierSigner, type RoleAgent } from "../identity/agent.js";
import { jwkFromDidKey, type Ed25519PublicJwk } from "../identity/did-key.js";
import { redeemCredentialOffer } from "./oid4vci-client.js";
import { confirmRegistration, submitRegistration } from "./capture.js";
import type { PassphraseBox } from "../crypto/passphrase-box.js";
import { LevelDatabase } from "../stores/level-store.js";
import type { DocumentStore } from "../stores/document-store.js";
import { createConsentReceipt, receiptHash, verifyReceipt, GRANT_RECEIPT_TYPE, type GrantRecord } from "../receipts/receipts.js";
import { bindPresentation, readCredentialClaims, selectDisclosures } from "../sdjwt/present.js";
import { claimsForLevel, type GrantLevel } from "../sdjwt/identity-credential.js";
import { requestHash, verifyPresentationRequest, type PresentationRequest } from "../grants/request.js";
import { derivePairwiseKey, signPairwiseProof } from "../grants/pairwise.js";
import type { InclusionProof } from "../notary/evidence.js";

export interface StoredCredential {
  id: string;
  credential: string;
  /** The did:key whose key is the credential's `cnf`: it signs key bindings and consent receipts. */
  holderDid: string;
  issuer: string;
  receivedAt: string;
  /** Merchants this credential has been shown to; it is never shown to a second merchant. */
  usedWith: string[];
}

export interface GrantEntry {
  grantId: string;
  merchant: { did: string; name: string };
  level: GrantLevel;
  purpose: string;
  claimNames: string[];
  pseudonym?: string;
  grantedAt: string;
  /** The exact presentation sent (the person's own copy). */
  presentation: string;
  consentReceipt: string;
  grantReceipt: string;
  responseUri: string;
  anchors?: { consent?: InclusionProof & { status: string }; grant?: InclusionProof & { status: string } };
}

/** How an answer reaches the merchant (HTTP POST by default; injectable for tests and other transports). */
export type Transport = (url: string, body: { presentation: string; consentReceipt: string; pairwiseProof?: string }) => Promise<{ grantId: string; grantReceipt: string }>;

export interface RegistrationMaterials {
  fullName: string;
  idNumber: string;
  /** The live portrait (PNG or JPEG bytes). */
  portrait: Uint8Array;
  fingerprintDigest?: string;
}

/** What answering a request would disclose: shown to the person before they enter the PIN. */
export interface ConsentPreview {
  request: PresentationRequest;
  requestJwt: string;
  claimNames: string[];
  values: Record<string, unknown>;
  pseudonym?: string;
}

/**
 * The holder's wallet: a Veramo agent (did:key, Ed25519) whose keys live sealed under the PIN in LevelDB,
 * its credentials, its grants and their receipts.
 */
export class HolderWallet {
  private constructor(
    private readonly db: LevelDatabase,
    readonly agent: RoleAgent,
    private readonly box: PassphraseBox,
    private readonly credentialStore: DocumentStore<StoredCredential>,
    private readonly grantStore: DocumentStore<GrantEntry>,
    private readonly secrets: DocumentStore<{ sealed: string }>,
    private readonly clock: () => Date,
  ) {}

  static async open(args: { dir: string; pin: string; clock?: () => Date }): Promise<HolderWallet> {
    const db = await LevelDatabase.open(args.dir);
    try {
      const { agent, box } = await createRoleAgent(db, args.pin);
      return new HolderWallet(db, agent, box, db.store("credentials"), db.store("grants"), db.store("secrets"), args.clock ?? (() => new Date()));
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** The person's wallet identity (never shown to merchants: each credential has its own key). */
  async init(): Promise<{ did: string }> {
    const id = await ensureIdentifier(this.agent, "holder");
    await this.pairwiseSeed();
    return { did: id.did };
  }

  /**
   * This installation's capture-device key (the wallet app as a registered capture device). An admin
   * registers its public key with the issuer once; registrations from this wallet are then signed with it.
   */
  async deviceKey(): Promise<{ did: string; publicJwk: Ed25519PublicJwk }> {
    const id = await ensureIdentifier(this.agent, "capture-device");
    return { did: id.did, publicJwk: jwkFromDidKey(id.did) };
  }

  /**
   * Registration end to end from this wallet: materials signed by the wallet's capture-device key, the
   * masked identity shown to the person (`confirm` decides), then the offer redeemed for a batch.
   */
  async register(
    issuerUrl: string,
    materials: RegistrationMaterials,
    options: { deviceId: string; confirm: (masked: { name: string; idNumber: string }) => Promise<boolean>; batchSize?: number },
  ): Promise<{ received: number; issuer: string; masked: { name: string; idNumber: string } }> {
    await this.init();
    const device = await ensureIdentifier(this.agent, "capture-device");
    const submitted = await submitRegistration(issuerUrl, { deviceId: options.deviceId, signer: identifierSigner(this.agent, device) }, materials);
    const yes = await options.confirm(submitted.masked);
    const confirmed = await confirmRegistration(issuerUrl, submitted.registrationId, yes);
    if (!yes || !confirmed.credentialOffer) throw new AgentError("ERR_DECLINED", "the identity was not confirmed; nothing was issued");
    const received = await this.receive(confirmed.credentialOffer, options.batchSize ?? 10);
    return { ...received, masked: submitted.masked };
  }

  /** Redeems a credential offer (OpenID4VCI, pre-authorized code): one fresh holder key per credential. */
  async receive(offer: string, batchSize = 10): Promise<{ received: number; issuer: string }> {
    await this.init();
    const keys: IIdentifier[] = [];
    for (let i = 0; i < batchSize; i++) keys.push(await createIdentifier(this.agent));
    const result = await redeemCredentialOffer({ offer, keys: keys.map((k) => ({ did: k.did, signer: identifierSigner(this.agent, k) })) });
    for (const [i, credential] of result.credentials.entries()) {
      const key = keys[i]!;
      await this.checkReceived(credential, key.did);
      await this.credentialStore.put(`cred:${key.did}`, { id: key.did, credential, holderDid: key.did, issuer: JSON.parse(Buffer.from(credential.split(".")[1]!, "base64url").toString()).iss, receivedAt: this.clock().toISOString(), usedWith: [] });
    }
    return { received: result.credentials.length, issuer: result.issuer };
  }

  /** Refuses a credential that is not bound to the key it was requested for, or carries a key binding already. */
  private async checkReceived(credential: string, holderDid: string): Promise<void> {
    const parts = credential.split("~");
    if (parts[parts.length - 1] !== "") throw new AgentError("ERR_CREDENTIAL_REFUSED", "the issuer sent a credential that already carries a key binding");
    const payload = JSON.parse(Buffer.from(parts[0]!.split(".")[1] ?? "", "base64url").toString() || "{}");
    if (payload?.cnf?.jwk?.x !== jwkFromDidKey(holderDid).x) throw new AgentError("ERR_CREDENTIAL_REFUSED", "the credential is not bound to the key it was requested for");
    await readCredentialClaims(credential);
  }

  async credentials(): Promise<Array<StoredCredential & { claims: Record<string, unknown> }>> {
    const all = (await this.credentialStore.list()).map(([, c]) => c);
    return Promise.all(all.map(async (c) => ({ ...c, claims: await readCredentialClaims(c.credential) })));
  }

  /** Fetches and checks a merchant's request and says exactly what would leave the wallet. Nothing is sent. */
  async preview(requestUri: string): Promise<ConsentPreview> {
    const requestJwt = await fetchJson<string>(requestUri, { accept: "application/oauth-authz-req+jwt" });
    const checked = verifyPresentationRequest(typeof requestJwt === "string" ? requestJwt.trim() : requestJwt, this.clock());
    if (!checked.verified) throw new AgentError(checked.errors[0]!.code, checked.errors[0]!.message);
    const request = checked.request!;
    const claimNames = claimsForLevel(request.level, { requestedClaims: request.claims, ageOver18: request.age_over_18 });
    const credential = await this.pickCredential(request.iss);
    const all = await readCredentialClaims(credential.credential);
    const values = Object.fromEntries(claimNames.map((n) => [n, all[n]]));
    const pseudonym = request.level === "pseudonymous" ? derivePairwiseKey(await this.pairwiseSeed(), request.iss).did : undefined;
    return { request, requestJwt: (requestJwt as string).trim(), claimNames, values, pseudonym };
  }

  /**
   * Answers a previewed request: the smallest disclosure for the level, a consent receipt signed by the
   * credential's key and bound into the key-binding JWT, and for `pseudonymous` the pseudonym's proof.
   */
  async answer(preview: ConsentPreview, options: { transport?: Transport } = {}): Promise<GrantEntry> {
    const post = options.transport ?? ((url: string, body: unknown) => fetchJson<{ grantId: string; grantReceipt: string }>(url, { body }));
    const { request, requestJwt, claimNames } = preview;
    const now = this.clock();
    const credential = await this.pickCredential(request.iss);
    const holder = await this.agent.didManagerGet({ did: credential.holderDid });
    const signer = identifierSigner(this.agent, holder);
    const { presented, sdHash } = await selectDisclosures(credential.credential, claimNames);
    const pairwise = request.level === "pseudonymous" ? derivePairwiseKey(await this.pairwiseSeed(), request.iss) : undefined;
    const consent = await createConsentReceipt(
      {
        consentTimestamp: now.toISOString(),
        jurisdiction: "CN",
        controller: { id: request.iss, name: request.merchant_name },
        purpose: request.purpose,
        level: request.level,
        claimNames,
        retentionDays: request.retention_days,
        presentationHash: sdHash,
        requestHash: requestHash(requestJwt),
        expiresAt: new Date(now.getTime() + Math.max(1, request.retention_days) * 86_400_000).toISOString(),
        ...(pairwise ? { pseudonym: pairwise.did } : {}),
      },
      { did: holder.did, signer },
      now,
    );
    const presentation = await bindPresentation({
      presented,
      sdHash,
      audience: request.iss,
      nonce: request.nonce,
      now,
      signer,
      extraClaims: { receipt_hash: sha256B64url(consent.jwt), ...(pairwise ? { pairwise_sub: pairwise.did } : {}) },
    });
    const pairwiseProof = pairwise ? await signPairwiseProof(pairwise, { audience: request.iss, nonce: request.nonce, sdHash, now }) : undefined;

    // Mark the credential as used with this merchant before anything leaves, so a crash cannot lead to reuse elsewhere.
    if (!credential.usedWith.includes(request.iss)) {
      await this.credentialStore.put(`cred:${credential.id}`, { ...credential, usedWith: [...credential.usedWith, request.iss] });
    }
    const result = await post(request.response_uri, { presentation, consentReceipt: consent.jwt, ...(pairwiseProof ? { pairwiseProof } : {}) });
    const grant = await verifyReceipt<GrantRecord>(result.grantReceipt, GRANT_RECEIPT_TYPE);
    if (!grant.verified || grant.issuer !== request.iss || grant.record!.consentReceiptHash !== receiptHash(consent.jwt)) {
      throw new AgentError("ERR_GRANT_RECEIPT_INVALID", "the merchant's grant receipt is not a valid counter-signature of your consent");
    }
    const entry: GrantEntry = {
      grantId: result.grantId,
      merchant: { did: request.iss, name: request.merchant_name },
      level: request.level,
      purpose: request.purpose,
      claimNames,
      pseudonym: pairwise?.did,
      grantedAt: now.toISOString(),
      presentation,
      consentReceipt: consent.jwt,
      grantReceipt: result.grantReceipt,
      responseUri: request.response_uri,
    };
    await this.grantStore.put(`grant:${now.toISOString()}:${result.grantId}`, entry);
    return entry;
  }

  async grants(): Promise<GrantEntry[]> {
    return (await this.grantStore.list()).map(([, g]) => g);
  }

  /** Asks the merchant's service for the receipts' inclusion proofs (anchoring happens in batches, later). */
  async refreshAnchors(grantId: string): Promise<GrantEntry> {
    const found = (await this.grantStore.list()).find(([, g]) => g.grantId === grantId);
    if (!found) throw new AgentError("ERR_GRANT_NOT_FOUND", "no such grant in this wallet");
    const [key, entry] = found;
    const base = new URL(entry.responseUri);
    const anchors: GrantEntry["anchors"] = {};
    for (const which of ["consent", "grant"] as const) {
      const jwt = which === "consent" ? entry.consentReceipt : entry.grantReceipt;
      const record = await fetchJson<{ status: string; salt: string; proof?: string[]; root?: string }>(new URL(`/anchors/${receiptHash(jwt)}`, base.origin).href);
      anchors[which] = { status: record.status, salt: record.salt, proof: record.proof ?? [], root: record.root ?? "" };
    }
    const updated = { ...entry, anchors };
    await this.grantStore.put(key, updated);
    return updated;
  }

  /** A credential never shown to another merchant: first one already used with this merchant, else a fresh one. */
  private async pickCredential(merchantDid: string): Promise<StoredCredential> {
    const all = (await this.credentialStore.list()).map(([, c]) => c);
    if (all.length === 0) throw new AgentError("ERR_NO_CREDENTIAL", "this wallet holds no identity credential yet: register first");
    const fresh = all.find((c) => c.usedWith.length === 0);
    const mine = all.find((c) => c.usedWith.length === 1 && c.usedWith[0] === merchantDid);
    const chosen = fresh ?? mine;
    if (!chosen) throw new AgentError("ERR_BATCH_EXHAUSTED", "every credential in the batch has been shown to another merchant: register again for a fresh batch");
    return chosen;
  }

  private async pairwiseSeed(): Promise<Buffer> {
    const existing = await this.secrets.get("pairwise-seed");
    if (existing) return Buffer.from(this.box.decrypt(existing.sealed), "base64url");
    const seed = randomBytes(32);
    await this.secrets.putIfAbsent("pairwise-seed", { sealed: this.box.encrypt(seed.toString("base64url")) });
    return this.pairwiseSeed();
  }
}
