import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import type { IIdentifier } from "@veramo/core";
import { AgentError } from "../errors.js";
import { sha256B64url } from "../encoding.js";
import { fetchJson } from "../http/json-client.js";
import { createIdentifier, createRoleAgent, ensureIdentifier, identifierAlg, identifierSigner, type RoleAgent } from "../identity/agent.js";
import { isJwsAlg, jwkThumbprint, type JwsAlg } from "../crypto/algorithms.js";
import type { TrustedIssuerKey } from "../sdjwt/verify.js";
import { jwkFromDidKey, type Ed25519PublicJwk } from "../identity/did-key.js";
import { PassphraseBox, type BoxHeader } from "../crypto/passphrase-box.js";
import { LevelDatabase } from "../stores/level-store.js";
import { acceptableLevels, allChoosableClaimNames, assertChoice, choiceClaimNames, choiceOf, offersChoice, preferredChoice } from "../grants/choice.js";
import type { DocumentStore } from "../stores/document-store.js";
import {
  createConsentReceipt,
  createReceipt,
  receiptHash,
  verifyReceipt,
  GRANT_RECEIPT_TYPE,
  WITHDRAWAL_ACK_TYPE,
  WITHDRAWAL_RECEIPT_TYPE,
  type GrantRecord,
  type WithdrawalAckRecord,
  type WithdrawalRecord,
} from "../receipts/receipts.js";
import { bindPresentation, readCredentialClaims, selectDisclosures } from "../sdjwt/present.js";
import { verifySdJwtPresentation } from "../sdjwt/verify.js";
import { IssuerMetadataResolver, isUrlIssuer } from "../sdjwt/issuer-metadata.js";
import { decodeJws } from "../crypto/jws.js";
import type { GrantLevel } from "../sdjwt/identity-credential.js";
import { requestHash, type PresentationRequest } from "../grants/request.js";
import { derivePairwiseKey, signPairwiseProof } from "../grants/pairwise.js";
import { merchantPseudonymClaim } from "../sdjwt/merchant-pseudonym.js";
import { submitAuthorizationResponse, submitDecline } from "../grants/openid4vp.js";
import { transactionDataHash } from "../grants/transaction-data.js";
import { buildEvidenceBundle, type EvidenceBundle, type InclusionProof } from "../notary/evidence.js";
import { AnchorRegistryClient } from "../anchoring/registry-contract.js";
import { redeemCredentialOffer } from "./oid4vci-client.js";
import { confirmRegistration, submitRegistration, type CaptureMaterials } from "./capture.js";
import { fetchPlatformCa } from "./platform-ca-pin.js";
import { checkLoginChallenge, checkMerchantRequest, type CheckedLogin, type CheckedRequest } from "./request-check.js";
import { messageFor } from "./messages.js";
import { fetchOwnTrace, reportGrantToPlatform } from "./platform-trace-client.js";
import type { TraceView } from "../issuer/trace-service.js";

export interface StoredCredential {
  id: string;
  /** The did:key whose key is the credential's `cnf`: it signs key bindings and consent receipts. */
  holderDid: string;
  issuer: string;
  receivedAt: string;
  /** Merchants this credential has been shown to; it is never shown to a second merchant. */
  usedWith: string[];
  /**
   * The merchant where this credential opened (or last entered) the person's pseudonymous account: the only
   * place it is shown again, and only for `pseudonymous` answers (the account already links those).
   */
  accountAt?: string;
  /** The SD-JWT VC, sealed under the PIN. */
  sealed: string;
}

export interface GrantEntry {
  grantId: string;
  merchant: { did: string; name: string };
  level: GrantLevel;
  purpose: string;
  claimNames: string[];
  pseudonym?: string;
  grantedAt: string;
  consentReceipt: string;
  /** The merchant's counter-signature; "" until a merchant that offers one has sent it (a standard verifier may never). */
  grantReceipt: string;
  /** Where the merchant offers its grant receipt when it did not send it with its reply (fetched by refreshAnchors). */
  grantReceiptUri?: string;
  /** Why a grant receipt the merchant sent was not kept (the answer had left already: the grant stands). */
  grantReceiptProblem?: string;
  responseUri: string;
  /** The exact presentation sent (the person's own copy), sealed under the PIN. */
  sealedPresentation: string;
  automatic?: boolean;
  anchors?: { consent?: InclusionProof & { status: string; anchor?: unknown }; grant?: InclusionProof & { status: string; anchor?: unknown } };
  withdrawal?: { receipt: string; acknowledgement: string; withdrawnAt: string };
  /** Where the merchant asked the person to be sent back after answering (OpenID4VP redirect_uri; same origin as its response URI). */
  returnTo?: string;
  /** What the platform's trace last acknowledged of this grant (see reportToPlatform), or why it could not. */
  platformTrace?: { reportedAt: string; anchored: boolean; withdrawn: boolean } | { problem: string };
}

/** A remembered choice at a merchant: pre-selected next time; one-tap (no PIN) only when turned on, `verified` only. */
export interface AnswerPolicy {
  merchantDid: string;
  merchantName: string;
  level: GrantLevel;
  /** Optional claims of a `full` answer the person switched off. */
  without?: string[];
  /** Answer `verified` requests from this merchant without the PIN. */
  oneTap?: boolean;
  createdAt: string;
}

export interface WalletSettings {
  issuerUrl?: string;
  issuerDid?: string;
  /** The holder keys of new batches: EdDSA (Ed25519, the default) or ES256 (P-256, with ES256 credentials). */
  holderKeyAlg?: JwsAlg;
  /**
   * The platform's merchant CA certificate(s), PEM, pinned when the credential is first received from the issuer
   * (like `issuerDid`): the trust anchor for `x509_san_dns` merchants. Without it such merchants are refused.
   */
  platformCa?: string[];
}

/** How an answer reaches the merchant (HTTP POST by default; injectable for tests and other transports). */
export type Transport = (url: string, body: { presentation: string; consentReceipt: string; pairwiseProof?: string }) => Promise<{ grantId?: string; grantReceipt?: string; redirectUri?: string; grantReceiptUri?: string }>;

export interface RegistrationMaterials {
  fullName: string;
  idNumber: string;
  /** The live portrait (PNG or JPEG bytes). */
  portrait: Uint8Array;
  fingerprintDigest?: string;
}

/** What answering a request would disclose: shown to the person before they consent. */
export interface ConsentPreview extends CheckedRequest {
  values: Record<string, unknown>;
  /** For `pseudonymous`: the wallet's login key at this merchant (pairwise did:key). */
  pseudonym?: string;
  /** For `pseudonymous`: the issuer-signed member pseudonym for this merchant, which leaves the wallet too. */
  memberPseudonym?: string;
  /** The person turned on one-tap `verified` answers at this merchant: the wallet may answer without the PIN. */
  automatic: boolean;
  /** The choice remembered for this merchant (pre-selected), when the request accepts its level. */
  remembered?: AnswerPolicy;
  /** Unused credentials left; the wallet says so when it runs low. */
  credentialsLeft: number;
}

export const LOW_BATCH_THRESHOLD = 3;

/** What a background batch refresh came to (reported, never thrown into an answer). */
export type BackgroundRefreshOutcome = { received: number } | { error: { code: string; message: string } };

/** A redirect is followed only back to the merchant that received the answer. */
function sameOrigin(candidate: string | undefined, reference: string): candidate is string {
  if (!candidate) return false;
  try {
    const url = new URL(candidate);
    return /^https?:$/.test(url.protocol) && url.origin === new URL(reference).origin;
  } catch {
    return false;
  }
}
const BACKUP_FORMAT = "realname-wallet-backup";

/**
 * The holder's wallet: a Veramo agent (did:key, Ed25519) whose keys, credentials and presentations are
 * sealed under the PIN in LevelDB; the consent engine (merchant checks, smallest disclosure, remembered
 * choices); grants, receipts, withdrawal; backup and PIN change.
 */
export class HolderWallet {
  private constructor(
    private readonly db: LevelDatabase,
    readonly agent: RoleAgent,
    private readonly box: PassphraseBox,
    private readonly credentialStore: DocumentStore<StoredCredential>,
    private readonly grantStore: DocumentStore<GrantEntry>,
    private readonly secrets: DocumentStore<{ sealed: string }>,
    private readonly policies: DocumentStore<AnswerPolicy>,
    private readonly settings: DocumentStore<WalletSettings>,
    private readonly clock: () => Date,
    private readonly onBackgroundRefresh: (outcome: BackgroundRefreshOutcome) => void = () => undefined,
  ) {}

  /** The batch refresh started after an answer, while it runs (`await` it to wait for its outcome). */
  backgroundRefresh?: Promise<void>;
  /** The outcome of the last background refresh, for a page or command to show. */
  lastBackgroundRefresh?: BackgroundRefreshOutcome;

  static async open(args: { dir: string; pin: string; clock?: () => Date; onBackgroundRefresh?: (outcome: BackgroundRefreshOutcome) => void }): Promise<HolderWallet> {
    const db = await LevelDatabase.open(args.dir);
    try {
      const { agent, box } = await createRoleAgent(db, args.pin, args.clock);
      return new HolderWallet(db, agent, box, db.store("credentials"), db.store("grants"), db.store("secrets"), db.store("policies"), db.store("settings"), args.clock ?? (() => new Date()), args.onBackgroundRefresh);
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  /** Settings readable without the PIN (which issuer this wallet uses): nothing secret lives there. */
  static async readSettings(dir: string): Promise<WalletSettings> {
    const db = await LevelDatabase.open(dir);
    try {
      return (await db.store<WalletSettings>("settings").get("settings")) ?? {};
    } finally {
      await db.close();
    }
  }

  async close(): Promise<void> {
    await this.backgroundRefresh; // never rejects: its outcome was reported
    await this.db.close();
  }

  /** The person's wallet identity (never shown to merchants: each credential has its own key). */
  async init(): Promise<{ did: string }> {
    const id = await ensureIdentifier(this.agent, "holder");
    await this.pairwiseSeed();
    return { did: id.did };
  }

  /**
   * Confirms the PIN again on an open wallet (before a consent or a withdrawal): the same check and the
   * same wrong-PIN lockout as opening it.
   */
  async checkPin(pin: string): Promise<void> {
    await PassphraseBox.open(this.db.store("box"), pin, this.clock);
  }

  async getSettings(): Promise<WalletSettings> {
    return (await this.settings.get("settings")) ?? {};
  }

  /** This installation's capture-device key, registered with the issuer by its admin. */
  async deviceKey(): Promise<{ did: string; publicJwk: Ed25519PublicJwk }> {
    const id = await ensureIdentifier(this.agent, "capture-device");
    return { did: id.did, publicJwk: jwkFromDidKey(id.did) as Ed25519PublicJwk };
  }

  /** Registration from this wallet: device-signed materials, masked confirmation, then the offer redeemed. */
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

  /**
   * The web wallet's registration, in two steps because the person answers on a page in between: submit
   * the device-signed materials (the same path as `register`), then confirm the masked identity and redeem
   * the offer.
   */
  async submitRegistration(issuerUrl: string, materials: CaptureMaterials, deviceId: string): Promise<{ registrationId: string; masked: { name: string; idNumber: string } }> {
    await this.init();
    const device = await ensureIdentifier(this.agent, "capture-device");
    const submitted = await submitRegistration(issuerUrl, { deviceId, signer: identifierSigner(this.agent, device) }, materials);
    return { registrationId: submitted.registrationId, masked: submitted.masked };
  }

  /** The second step: the person's yes (or no) to the masked identity; on yes the offer is redeemed into this wallet. */
  async confirmRegistration(issuerUrl: string, registrationId: string, yes: boolean, batchSize = 10): Promise<{ received: number; issuer: string }> {
    const confirmed = await confirmRegistration(issuerUrl, registrationId, yes);
    if (!yes || !confirmed.credentialOffer) throw new AgentError("ERR_DECLINED", "the identity was not confirmed; nothing was issued");
    return this.receive(confirmed.credentialOffer, batchSize);
  }

  /**
   * Redeems a credential offer (OpenID4VCI, pre-authorized code): one fresh holder key per credential.
   * Each credential is checked before it is kept: the issuer's signature, every disclosure hashing into
   * a digest, bound to the key it was requested for, no key binding attached.
   */
  async receive(offer: string, batchSize = 10, options: { alg?: JwsAlg } = {}): Promise<{ received: number; issuer: string }> {
    await this.init();
    // The batch's key type: asked for, else the wallet's setting; an ES256 wallet asks for ES256 credentials too.
    const alg = options.alg ?? (await this.getSettings()).holderKeyAlg ?? "EdDSA";
    if (!isJwsAlg(alg)) throw new TypeError(`unsupported holder key algorithm ${String(alg)}`);
    const keys: IIdentifier[] = [];
    for (let i = 0; i < batchSize; i++) keys.push(await createIdentifier(this.agent, undefined, alg));
    const result = await redeemCredentialOffer({ offer, keys: keys.map((k) => ({ did: k.did, signer: identifierSigner(this.agent, k) })), credentialAlg: alg });
    const { did: issuerDid } = await fetchJson<{ did: string }>(new URL("/.well-known/issuer", result.issuer).href);
    const issuerKeys = await this.issuerKeys(result.issuer, issuerDid);
    // Credentials whose `iss` is the issuer's URL (not its DID) are checked with the keys its JWT VC Issuer
    // Metadata publishes: the URL must be the credential issuer we redeemed the offer from.
    const namesUrl = result.credentials.some((c) => decodeJws(c.split("~")[0])?.payload.iss !== issuerDid);
    const trusted = [issuerDid, ...(namesUrl && isUrlIssuer(result.issuer) ? await new IssuerMetadataResolver().keysOf(result.issuer) : [])];
    const checked = result.credentials.map((credential, i) => {
      this.checkReceived(credential, keys[i]!.did, trusted, issuerKeys);
      return { credential, key: keys[i]! };
    });
    for (const { credential, key } of checked) {
      await this.credentialStore.put(`cred:${key.did}`, { id: key.did, holderDid: key.did, issuer: issuerDid, receivedAt: this.clock().toISOString(), usedWith: [], sealed: this.box.encrypt(credential) });
    }
    const before = await this.getSettings();
    // Pinned once from the issuer the credential came from, then kept (a later issuer answer cannot swap it).
    const platformCa = before.issuerDid === issuerDid && before.platformCa ? before.platformCa : await fetchPlatformCa(result.issuer);
    await this.settings.put("settings", { ...(before.holderKeyAlg ? { holderKeyAlg: before.holderKeyAlg } : {}), issuerUrl: result.issuer, issuerDid, ...(platformCa ? { platformCa } : {}) });
    return { received: result.credentials.length, issuer: result.issuer };
  }

  /** Chooses the key type of future batches (a wallet option; the next refresh uses it). */
  async setHolderKeyAlg(alg: JwsAlg): Promise<void> {
    if (!isJwsAlg(alg)) throw new TypeError(`unsupported holder key algorithm ${String(alg)}`);
    await this.settings.put("settings", { ...(await this.getSettings()), holderKeyAlg: alg });
  }

  /**
   * The issuer's further signing keys (its ES256 key) from its JWKS, fetched from the same issuer origin the
   * wallet already trusts for `/.well-known/issuer`; each believed only for the issuer's own `iss`.
   */
  private async issuerKeys(issuerUrl: string, issuerDid: string): Promise<TrustedIssuerKey[]> {
    try {
      const { keys } = await fetchJson<{ keys?: Array<Record<string, unknown>> }>(new URL("/.well-known/jwks.json", issuerUrl).href);
      return (keys ?? []).filter((k) => k.kty === "EC" && k.crv === "P-256").map((k) => ({ iss: issuerDid, jwk: { kty: "EC", crv: "P-256", x: String(k.x), y: String(k.y) } }));
    } catch {
      return []; // no JWKS: only the DID's own key (EdDSA credentials) is believed
    }
  }

  /** Refuses a credential that does not verify, whose disclosures do not all hash into it, or that is not ours. */
  checkReceived(credential: string, holderDid: string, issuer: string | ReadonlyArray<string | TrustedIssuerKey>, issuerKeys: readonly TrustedIssuerKey[] = []): void {
    if (!credential.endsWith("~")) throw new AgentError("ERR_CREDENTIAL_REFUSED", "the issuer sent a credential that already carries a key binding");
    const r = verifySdJwtPresentation({ presentation: credential, trustedIssuers: [...(typeof issuer === "string" ? [issuer] : issuer), ...issuerKeys], audience: "", nonce: "", requireKeyBinding: false, now: this.clock });
    if (!r.verified) throw new AgentError("ERR_CREDENTIAL_REFUSED", `the issuer sent a credential that does not verify (${r.errors.map((e) => e.code).join(", ")})`);
    let bound = false;
    try {
      bound = jwkThumbprint((r.claims?.cnf as { jwk?: unknown } | undefined)?.jwk) === jwkThumbprint(jwkFromDidKey(holderDid));
    } catch {
      bound = false;
    }
    if (!bound) throw new AgentError("ERR_CREDENTIAL_REFUSED", "the credential is not bound to the key it was requested for");
  }

  async credentials(): Promise<Array<Omit<StoredCredential, "sealed"> & { claims: Record<string, unknown> }>> {
    const all = (await this.credentialStore.list()).map(([, c]) => c);
    return Promise.all(all.map(async ({ sealed, ...c }) => ({ ...c, claims: await readCredentialClaims(this.box.decrypt(sealed)) })));
  }

  /** The SD-JWT VCs themselves (the person's own export). */
  async exportCredentials(): Promise<Array<{ holderDid: string; credential: string }>> {
    return (await this.credentialStore.list()).map(([, c]) => ({ holderDid: c.holderDid, credential: this.box.decrypt(c.sealed) }));
  }

  async credentialsLeft(): Promise<number> {
    return (await this.credentialStore.list()).filter(([, c]) => c.usedWith.length === 0).length;
  }

  /**
   * Says exactly what answering a merchant's request would disclose. Nothing is sent. Given a link, the
   * request is fetched once and checked (signature, expiry, the issuer's merchant registry); given a request
   * already fetched and checked (what the person is looking at), nothing is fetched at all. The preview pins
   * that very request object: `answer` answers it and never fetches it again.
   */
  async preview(source: string | CheckedRequest): Promise<ConsentPreview> {
    const checked = typeof source === "string" ? await this.fetchRequest(source) : source;
    const credential = await this.pickCredential(checked.request.iss, checked.request.level, { refreshIfMissing: true });
    const all = await readCredentialClaims(this.box.decrypt(credential.sealed));
    // Every value any acceptable answer could disclose, so the review shows exactly what each choice sends.
    const shown = offersChoice(checked.request) ? allChoosableClaimNames(checked.request).filter((n) => n !== merchantPseudonymClaim(checked.request.iss)) : checked.claimNames;
    const values = Object.fromEntries(shown.map((n) => [n, all[n]]));
    const canBePseudonymous = acceptableLevels(checked.request).includes("pseudonymous");
    const pseudonym = canBePseudonymous ? derivePairwiseKey(await this.pairwiseSeed(), checked.request.iss).did : undefined;
    const memberValue = all[merchantPseudonymClaim(checked.request.iss)];
    const memberPseudonym = canBePseudonymous && memberValue !== undefined ? String(memberValue) : undefined;
    const remembered = await this.rememberedFor(checked.request);
    // One tap (no PIN) only where the person turned it on, and only for `verified`.
    const automatic = remembered?.oneTap === true && remembered.level === "verified";
    return { ...checked, values, pseudonym, ...(memberPseudonym ? { memberPseudonym } : {}), automatic, ...(remembered ? { remembered } : {}), credentialsLeft: await this.credentialsLeft() };
  }

  /** The one fetch of a merchant's request: read and checked against the issuer's registry (no PIN-protected data is touched). */
  async fetchRequest(link: string): Promise<CheckedRequest> {
    const settings = await this.getSettings();
    if (!settings.issuerUrl || !settings.issuerDid) throw new AgentError("ERR_NO_CREDENTIAL", messageFor("ERR_NO_CREDENTIAL", "register first"));
    return checkMerchantRequest({ requestUri: link, issuerUrl: settings.issuerUrl, issuerDid: settings.issuerDid, now: this.clock(), x509TrustAnchors: settings.platformCa ?? [] });
  }

  /**
   * Answers a previewed request: the smallest disclosure for the level, a consent receipt signed by the
   * credential's key and bound into the key-binding JWT, and for `pseudonymous` the pseudonym's proof.
   * With `remember`, later requests from this merchant at this level are answered without asking.
   * The answer is built from the preview's pinned request object alone (nothing is fetched again); with
   * `requestHash` (what the form or prompt the person confirmed names), a different request is refused.
   */
  async answer(preview: ConsentPreview, options: { transport?: Transport; remember?: boolean; oneTap?: boolean; requestHash?: string; choice?: { level?: GrantLevel; without?: readonly string[] } } = {}): Promise<GrantEntry> {
    if (preview.requestHash !== requestHash(preview.requestJwt) || (options.requestHash !== undefined && options.requestHash !== preview.requestHash)) {
      throw new AgentError("ERR_REQUEST_CHANGED", messageFor("ERR_REQUEST_CHANGED", "the request changed; review it again"));
    }
    if (preview.request.exp <= Math.floor(this.clock().getTime() / 1000)) throw new AgentError("ERR_REQUEST_EXPIRED", messageFor("ERR_REQUEST_EXPIRED", "the request has expired"));
    // By default the answer goes as an OpenID4VP direct_post; a transport can be injected (tests, other bindings).
    const post: Transport =
      options.transport ??
      ((_url, body) => submitAuthorizationResponse({ payload: preview.payload, credentialId: preview.request.credential_id, ...body }));
    // The person's choice within what the merchant accepts (choice.ts); refused here before anything leaves.
    // Without an explicit choice: the remembered one (when the request accepts it), else the merchant's preference.
    const remembered = preview.remembered ? { level: preview.remembered.level, without: (preview.remembered.without ?? []).filter((c) => preview.request.optional_claims?.includes(c)) } : undefined;
    const asked = options.choice ?? remembered;
    const choice = asked ? choiceOf(preview.request, asked.level ?? preview.request.level, asked.without ?? []) : preferredChoice(preview.request);
    assertChoice(preview.request, choice);
    const request = { ...preview.request, level: choice.level, claims: choice.claims };
    const claimNames = asked ? choiceClaimNames(preview.request, choice) : preview.claimNames;
    const { requestJwt } = preview;
    // The merchant's name as the issuer's registry has it (the request's own text was checked equal to it).
    const merchantName = preview.merchant.name;
    const now = this.clock();
    const credential = await this.pickCredential(request.iss, request.level);
    const holder = await this.agent.didManagerGet({ did: credential.holderDid });
    const signer = identifierSigner(this.agent, holder);
    // For `pseudonymous`, the issuer-signed pseudonym for this merchant (and no other) leaves the wallet too:
    // the merchant keys the person's one account by it. The consent names the level's claims and the pseudonym.
    const disclosed = request.level === "pseudonymous" ? [...claimNames, merchantPseudonymClaim(request.iss)] : claimNames;
    const { presented, sdHash } = await selectDisclosures(this.box.decrypt(credential.sealed), disclosed);
    const pairwise = request.level === "pseudonymous" ? derivePairwiseKey(await this.pairwiseSeed(), request.iss) : undefined;
    const consent = await createConsentReceipt(
      {
        consentTimestamp: now.toISOString(),
        jurisdiction: "CN",
        controller: { id: request.iss, name: merchantName },
        purpose: request.purpose,
        level: request.level,
        claimNames,
        retentionDays: request.retention_days,
        presentationHash: sdHash,
        requestHash: requestHash(requestJwt),
        ...(request.transaction_data ? { transactionDataHash: transactionDataHash(request.transaction_data) } : {}),
        expiresAt: new Date(now.getTime() + Math.max(1, request.retention_days) * 86_400_000).toISOString(),
        ...(pairwise ? { pseudonym: pairwise.did } : {}),
      },
      { did: holder.did, signer },
      now,
    );
    // OpenID4VP 1.0: `aud` is the full client identifier; the hash of the exact grant terms string
    // (transaction_data) goes under the person's key-binding signature: that signature is the consent.
    const presentation = await bindPresentation({
      presented,
      sdHash,
      audience: request.client_id,
      nonce: request.nonce,
      now,
      signer,
      alg: identifierAlg(holder),
      extraClaims: {
        ...(request.transaction_data ? { transaction_data_hashes: [transactionDataHash(request.transaction_data)] } : {}),
        receipt_hash: sha256B64url(consent.jwt),
        ...(pairwise ? { pairwise_sub: pairwise.did } : {}),
      },
    });
    const pairwiseProof = pairwise ? await signPairwiseProof(pairwise, { audience: request.iss, nonce: request.nonce, sdHash, now }) : undefined;

    // Mark the credential as used before anything leaves, so a crash cannot lead to its reuse in another answer.
    await this.credentialStore.put(`cred:${credential.id}`, {
      ...credential,
      usedWith: credential.usedWith.includes(request.iss) ? credential.usedWith : [...credential.usedWith, request.iss],
      ...(request.level === "pseudonymous" ? { accountAt: request.iss } : {}),
    });
    const result = await post(request.response_uri, { presentation, consentReceipt: consent.jwt, ...(pairwiseProof ? { pairwiseProof } : {}) });
    // From here the data has left: whatever the merchant replied (`{}`, `{redirect_uri}`, our receipt), the grant
    // is recorded. A grant receipt that is not a valid counter-signature is not kept, and the entry says why.
    let grantReceiptProblem: string | undefined;
    if (result.grantReceipt !== undefined && !(await this.isGrantReceiptFor(result.grantReceipt, request.iss, consent.jwt))) {
      grantReceiptProblem = messageFor("ERR_GRANT_RECEIPT_INVALID", "the merchant's grant receipt is not a valid counter-signature of your consent");
    }
    const grantId = result.grantId && /^[A-Za-z0-9_-]{1,128}$/.test(result.grantId) ? result.grantId : `local-${randomUUID()}`;
    const entry: GrantEntry = {
      grantId,
      merchant: { did: request.iss, name: merchantName },
      level: request.level,
      purpose: request.purpose,
      claimNames,
      pseudonym: pairwise?.did,
      grantedAt: now.toISOString(),
      consentReceipt: consent.jwt,
      grantReceipt: result.grantReceipt !== undefined && !grantReceiptProblem ? result.grantReceipt : "",
      ...(result.grantReceiptUri && sameOrigin(result.grantReceiptUri, request.response_uri) ? { grantReceiptUri: result.grantReceiptUri } : {}),
      ...(grantReceiptProblem ? { grantReceiptProblem } : {}),
      responseUri: request.response_uri,
      ...(sameOrigin(result.redirectUri, request.response_uri) ? { returnTo: result.redirectUri } : {}),
      sealedPresentation: this.box.encrypt(presentation),
      automatic: preview.automatic || undefined,
    };
    await this.grantStore.put(`grant:${now.toISOString()}:${grantId}`, entry);
    const reported = await this.reportToPlatform(`grant:${now.toISOString()}:${grantId}`, entry);
    if (options.remember || options.oneTap) await this.remember({ ...request, merchant_name: merchantName }, { without: preview.request.claims.filter((c) => !choice.claims.includes(c)), oneTap: options.oneTap });
    if ((await this.credentialsLeft()) < LOW_BATCH_THRESHOLD) this.refreshInBackground();
    return reported;
  }

  /**
   * Tells the platform's trace about a grant (after the answer, again when anchors or a withdrawal are known).
   * Never fails the grant: the data has left already; the entry records what the platform acknowledged.
   */
  private async reportToPlatform(key: string, entry: GrantEntry): Promise<GrantEntry> {
    const { issuerUrl } = await this.getSettings();
    if (!issuerUrl) return entry;
    let platformTrace: GrantEntry["platformTrace"];
    try {
      await reportGrantToPlatform(issuerUrl, entry);
      platformTrace = { reportedAt: this.clock().toISOString(), anchored: entry.anchors?.consent?.status === "anchored", withdrawn: Boolean(entry.withdrawal) };
    } catch (error) {
      platformTrace = { problem: (error as AgentError).code ?? "ERR_UPSTREAM" };
    }
    const updated = { ...entry, platformTrace };
    await this.grantStore.put(key, updated);
    return updated;
  }

  /** Sends every grant the platform has not acknowledged in its latest state (e.g. the issuer was down). */
  async reportPendingToPlatform(): Promise<number> {
    let sent = 0;
    for (const [key, g] of await this.grantStore.list()) {
      const t = g.platformTrace;
      const current = t && "reportedAt" in t && t.anchored === (g.anchors?.consent?.status === "anchored") && t.withdrawn === Boolean(g.withdrawal);
      if (current) continue;
      const after = await this.reportToPlatform(key, g);
      if (after.platformTrace && "reportedAt" in after.platformTrace) sent++;
    }
    return sent;
  }

  /** The person's trace as the platform keeps it: every grant reported, and every legal access to it. */
  async platformTrace(): Promise<TraceView> {
    const settings = await this.getSettings();
    const any = (await this.credentialStore.list())[0]?.[1];
    if (!settings.issuerUrl || !settings.issuerDid || !any) throw new AgentError("ERR_NO_CREDENTIAL", messageFor("ERR_NO_CREDENTIAL", "register first"));
    const holder = await this.agent.didManagerGet({ did: any.holderDid });
    return fetchOwnTrace(settings.issuerUrl, settings.issuerDid, { did: holder.did, signer: identifierSigner(this.agent, holder) }, this.clock());
  }

  /** A grant receipt is the merchant's counter-signature of exactly this consent. */
  private async isGrantReceiptFor(jwt: string, merchantDid: string, consentJwt: string): Promise<boolean> {
    const grant = await verifyReceipt<GrantRecord>(jwt, GRANT_RECEIPT_TYPE);
    return grant.verified && grant.issuer === merchantDid && grant.record!.consentReceiptHash === receiptHash(consentJwt);
  }

  /**
   * Declines a previewed request the standard way (OpenID4VP error response `access_denied`, with its state):
   * nothing about the person leaves. Returns where the merchant would send the person back, if anywhere.
   */
  async decline(preview: CheckedRequest): Promise<{ returnTo?: string }> {
    const r = await submitDecline({ payload: preview.payload });
    return sameOrigin(r.redirectUri, preview.request.response_uri) ? { returnTo: r.redirectUri } : {};
  }

  // ---- remembered choices ------------------------------------------------------------------------------
  /**
   * Remembers the person's choice at a merchant (seed 000 S5): one per merchant, the level and the optional
   * claims switched off, pre-selected next time. `oneTap` (answer without the PIN) is kept for `verified` only;
   * `full` and `pseudonymous` always need the PIN (seed 004).
   */
  async remember(request: Pick<PresentationRequest, "iss" | "merchant_name" | "level">, options: { without?: readonly string[]; oneTap?: boolean } = {}): Promise<void> {
    for (const [key, p] of await this.policies.list()) if (p.merchantDid === request.iss) await this.policies.del(key);
    await this.policies.put(`${request.iss}|${request.level}`, {
      merchantDid: request.iss,
      merchantName: request.merchant_name,
      level: request.level,
      ...(request.level === "full" && options.without?.length ? { without: [...options.without] } : {}),
      ...(request.level === "verified" && options.oneTap ? { oneTap: true } : {}),
      createdAt: this.clock().toISOString(),
    });
  }
  /** The remembered choice at this merchant that its request accepts, if any. */
  async rememberedFor(request: PresentationRequest): Promise<AnswerPolicy | undefined> {
    const levels = acceptableLevels(request);
    return (await this.policies.list()).map(([, p]) => p).find((p) => p.merchantDid === request.iss && levels.includes(p.level));
  }
  async rememberedChoices(): Promise<AnswerPolicy[]> {
    return (await this.policies.list()).map(([, p]) => p);
  }
  async forget(merchantDid: string, level?: GrantLevel): Promise<number> {
    const matching = (await this.policies.list()).filter(([, p]) => p.merchantDid === merchantDid && (!level || p.level === level));
    for (const [key] of matching) await this.policies.del(key);
    return matching.length;
  }

  // ---- grants afterwards --------------------------------------------------------------------------------
  async grants(): Promise<GrantEntry[]> {
    return (await this.grantStore.list()).map(([, g]) => g);
  }

  presentationOf(grant: GrantEntry): string {
    return this.box.decrypt(grant.sealedPresentation);
  }

  private async findGrant(grantId: string): Promise<[string, GrantEntry]> {
    const found = (await this.grantStore.list()).filter(([, g]) => g.grantId.startsWith(grantId));
    if (found.length !== 1) throw new AgentError("ERR_GRANT_NOT_FOUND", found.length ? "the prefix matches several grants" : "no such grant in this wallet");
    return found[0]!;
  }

  /** Asks the merchant's service for the receipts' inclusion proofs (anchoring happens in batches, later). */
  async refreshAnchors(grantId: string): Promise<GrantEntry> {
    let [key, entry] = await this.findGrant(grantId);
    const origin = new URL(entry.responseUri).origin;
    if (!entry.grantReceipt && entry.grantReceiptUri) {
      // The merchant offered its grant receipt for later: fetched now, kept only if it counter-signs this consent.
      const offered = await fetchJson<{ grantReceipt?: unknown }>(entry.grantReceiptUri).catch(() => undefined);
      if (typeof offered?.grantReceipt === "string" && (await this.isGrantReceiptFor(offered.grantReceipt, entry.merchant.did, entry.consentReceipt))) {
        entry = { ...entry, grantReceipt: offered.grantReceipt };
        await this.grantStore.put(key, entry);
      }
    }
    const anchors: GrantEntry["anchors"] = {};
    for (const which of ["consent", "grant"] as const) {
      const jwt = which === "consent" ? entry.consentReceipt : entry.grantReceipt;
      if (!jwt) continue;
      const record = await fetchJson<{ status: string; salt: string; proof?: string[]; root?: string; anchor?: unknown }>(`${origin}/anchors/${receiptHash(jwt)}`);
      anchors[which] = { status: record.status, salt: record.salt, proof: record.proof ?? [], root: record.root ?? "", anchor: record.anchor };
    }
    const updated = { ...entry, anchors };
    await this.grantStore.put(key, updated);
    // Once anchored, the platform's trace learns where (a second report of the same consent updates it).
    if (anchors.consent?.status === "anchored" && !(entry.platformTrace && "anchored" in entry.platformTrace && entry.platformTrace.anchored)) return this.reportToPlatform(key, updated);
    return updated;
  }

  /**
   * An evidence bundle of a grant for a notary: the latest inclusion proofs from the merchant, where each
   * root landed read from the chain itself. Refused (ERR_NOT_ANCHORED) until both receipts are anchored.
   */
  async evidence(grantId: string, options: { rpcUrl: string; includePresentation?: boolean }): Promise<EvidenceBundle> {
    const g = await this.refreshAnchors(grantId);
    if (g.anchors?.consent?.status !== "anchored" || g.anchors?.grant?.status !== "anchored") throw new AgentError("ERR_NOT_ANCHORED", "the receipts are not anchored yet; try again in a few seconds (wallet grants --wait)");
    const contract = (g.anchors.grant.anchor as { contract?: string } | undefined)?.contract;
    if (!contract) throw new AgentError("ERR_NOT_ANCHORED", "the merchant did not say where the receipts are anchored");
    // A withdrawn grant's evidence says so: the withdrawal and the merchant's acknowledgement go in, anchored.
    let withdrawal: { receipt: string; acknowledgement: string; proofs: { receipt?: InclusionProof; acknowledgement?: InclusionProof } } | undefined;
    if (g.withdrawal) {
      const origin = new URL(g.responseUri).origin;
      const proofOf = async (jwt: string) => {
        const record = await fetchJson<{ status: string; salt: string; proof?: string[]; root?: string }>(`${origin}/anchors/${receiptHash(jwt)}`);
        return record.status === "anchored" ? { salt: record.salt, proof: record.proof ?? [], root: record.root ?? "" } : undefined;
      };
      withdrawal = { receipt: g.withdrawal.receipt, acknowledgement: g.withdrawal.acknowledgement, proofs: { receipt: await proofOf(g.withdrawal.receipt), acknowledgement: await proofOf(g.withdrawal.acknowledgement) } };
    }
    const registry = await AnchorRegistryClient.connect({ rpcUrl: options.rpcUrl, address: contract });
    try {
      return await buildEvidenceBundle({ consentReceipt: g.consentReceipt, grantReceipt: g.grantReceipt, proofs: { consent: g.anchors.consent, grant: g.anchors.grant }, registry, presentation: options.includePresentation ? this.presentationOf(g) : undefined, withdrawal });
    } finally {
      registry.close();
    }
  }

  /** Withdraws a grant: a withdrawal receipt signed by the consenting key, sent to the merchant, acknowledged. */
  async withdraw(grantId: string): Promise<GrantEntry> {
    const [key, entry] = await this.findGrant(grantId);
    if (entry.withdrawal) throw new AgentError("ERR_CONFLICT", "this grant was already withdrawn");
    const now = this.clock();
    const consentSigner = JSON.parse(Buffer.from(entry.consentReceipt.split(".")[1]!, "base64url").toString()).iss as string;
    const holder = await this.agent.didManagerGet({ did: consentSigner });
    const receipt = await createReceipt<WithdrawalRecord>(
      WITHDRAWAL_RECEIPT_TYPE,
      entry.merchant.did,
      { withdrawnAt: now.toISOString(), grantId: entry.grantId, consentReceiptHash: receiptHash(entry.consentReceipt), grantReceiptHash: receiptHash(entry.grantReceipt), controller: { id: entry.merchant.did, name: entry.merchant.name } },
      { did: holder.did, signer: identifierSigner(this.agent, holder) },
      now,
    );
    const origin = new URL(entry.responseUri).origin;
    const answer = await fetchJson<{ acknowledgement: string }>(`${origin}/grants/${entry.grantId}/withdrawal`, { body: { withdrawalReceipt: receipt.jwt } });
    const ack = await verifyReceipt<WithdrawalAckRecord>(answer.acknowledgement, WITHDRAWAL_ACK_TYPE);
    if (!ack.verified || ack.issuer !== entry.merchant.did || ack.record!.withdrawalReceiptHash !== receiptHash(receipt.jwt)) {
      throw new AgentError("ERR_GRANT_RECEIPT_INVALID", "the merchant's acknowledgement does not match your withdrawal");
    }
    const updated = { ...entry, withdrawal: { receipt: receipt.jwt, acknowledgement: answer.acknowledgement, withdrawnAt: now.toISOString() } };
    await this.grantStore.put(key, updated);
    return this.reportToPlatform(key, updated);
  }

  /**
   * Logs in to a merchant where this person holds a pseudonymous account: proves control of the pseudonym.
   * Only for a challenge whose page and answer address are origins the issuer's registry lists for the
   * merchant it names (a relaying look-alike site gets nothing signed), and the proof names the origin it
   * was made for, so the merchant can refuse it anywhere else. A checked challenge is answered as it was
   * checked, without being fetched again.
   */
  async checkLogin(challengeUri: string): Promise<CheckedLogin> {
    const settings = await this.getSettings();
    if (!settings.issuerUrl || !settings.issuerDid) throw new AgentError("ERR_NO_CREDENTIAL", messageFor("ERR_NO_CREDENTIAL", "register first"));
    return checkLoginChallenge({ challengeUri, issuerUrl: settings.issuerUrl, issuerDid: settings.issuerDid, now: this.clock() });
  }
  async login(source: string | CheckedLogin): Promise<{ pseudonym: string; account: unknown }> {
    const challenge = typeof source === "string" ? await this.checkLogin(source) : source;
    const key = derivePairwiseKey(await this.pairwiseSeed(), challenge.merchant.did);
    const proof = await signPairwiseProof(key, { audience: challenge.merchant.did, nonce: challenge.nonce, sdHash: "login", now: this.clock(), origin: new URL(challenge.challengeUri).origin });
    const result = await fetchJson<{ account: unknown }>(challenge.responseUri, { body: { proof } });
    return { pseudonym: key.did, account: result.account };
  }

  /**
   * A fresh batch from the issuer without registering again: proves possession of a credential of this
   * person (disclosing only the ID number, to the issuer itself) and redeems the offer it answers with.
   */
  async refreshBatch(batchSize = 10): Promise<{ received: number; issuer: string }> {
    const settings = await this.getSettings();
    if (!settings.issuerUrl || !settings.issuerDid) throw new AgentError("ERR_NO_CREDENTIAL", messageFor("ERR_NO_CREDENTIAL", "register first"));
    const any = (await this.credentialStore.list())[0]?.[1];
    if (!any) throw new AgentError("ERR_NO_CREDENTIAL", messageFor("ERR_NO_CREDENTIAL", "register first"));
    const { nonce } = await fetchJson<{ nonce: string }>(new URL("/registrations/nonce", settings.issuerUrl).href, { method: "POST", body: {} });
    const holder = await this.agent.didManagerGet({ did: any.holderDid });
    const { presented, sdHash } = await selectDisclosures(this.box.decrypt(any.sealed), ["id_number"]);
    const presentation = await bindPresentation({ presented, sdHash, audience: settings.issuerDid, nonce, now: this.clock(), signer: identifierSigner(this.agent, holder), alg: identifierAlg(holder) });
    const { credentialOffer } = await fetchJson<{ credentialOffer: string }>(new URL("/refresh", settings.issuerUrl).href, { body: { presentation, nonce } });
    return this.receive(credentialOffer, batchSize);
  }

  // ---- PIN and backup -----------------------------------------------------------------------------------
  /** Changes the PIN: every sealed value re-encrypted under the new one, written in one atomic batch. */
  async changePin(newPin: string): Promise<void> {
    const { box, header } = await PassphraseBox.rekey(newPin);
    const ops: Array<{ store: string; type: "put"; key: string; value: unknown }> = [{ store: "box", type: "put", key: "box", value: header }];
    const reseal = (s: string) => box.encrypt(this.box.decrypt(s));
    for (const [k, v] of await this.db.store<{ sealed: string }>("veramo-private-keys").list()) ops.push({ store: "veramo-private-keys", type: "put", key: k, value: { ...v, sealed: reseal(v.sealed) } });
    for (const [k, v] of await this.secrets.list()) ops.push({ store: "secrets", type: "put", key: k, value: { ...v, sealed: reseal(v.sealed) } });
    for (const [k, v] of await this.credentialStore.list()) ops.push({ store: "credentials", type: "put", key: k, value: { ...v, sealed: reseal(v.sealed) } });
    for (const [k, v] of await this.grantStore.list()) ops.push({ store: "grants", type: "put", key: k, value: { ...v, sealedPresentation: reseal(v.sealedPresentation) } });
    await this.db.atomic(ops);
    this.box.replaceWith(box);
  }

  /** An encrypted export of the whole wallet (secrets stay sealed under the PIN inside, the whole under the backup passphrase). */
  async backup(passphrase: string): Promise<Record<string, unknown>> {
    const { box, header } = await PassphraseBox.rekey(passphrase);
    const entries = (await this.db.dump()).filter((e) => !(e.store === "box" && e.key === "lock"));
    return { format: BACKUP_FORMAT, version: 1, createdAt: this.clock().toISOString(), header, sealed: box.encrypt(JSON.stringify(entries)) };
  }

  /** Restores a backup into an empty wallet folder; open it afterwards with the PIN it had. */
  static async restore(dir: string, backup: unknown, passphrase: string): Promise<{ entries: number }> {
    const b = backup as { format?: string; version?: number; header?: BoxHeader; sealed?: string };
    if (b?.format !== BACKUP_FORMAT || b.version !== 1 || !b.header || typeof b.sealed !== "string") throw new AgentError("ERR_BACKUP_INVALID", "this is not a wallet backup");
    if (existsSync(dir) && readdirSync(dir).length > 0) throw new AgentError("ERR_CONFLICT", "restore needs an empty wallet folder");
    const box = await PassphraseBox.forHeader(b.header, passphrase);
    const entries = JSON.parse(box.decrypt(b.sealed)) as Array<{ store: string; key: string; value: unknown }>;
    const db = await LevelDatabase.open(dir);
    try {
      await db.atomic(entries.map((e) => ({ ...e, type: "put" as const })));
    } finally {
      await db.close();
    }
    return { entries: entries.length };
  }

  /**
   * The credential for one answer: a fresh one (never shown to anyone) for every answer, so neither two
   * merchants nor one merchant over time (a `verified` answer after a `full` one) can link answers by the
   * holder key, issuer signature, salts, status index or time claims. The one exception: a `pseudonymous`
   * answer where the person already holds the account reuses that account's credential, since the account
   * itself is the link the person chose (and the batch lasts longer). A `pseudonymous` answer needs a
   * credential that carries this merchant's pseudonym: one issued after the merchant was registered; with
   * `refreshIfMissing` the wallet fetches a fresh batch once when none does.
   */
  private async pickCredential(merchantDid: string, level: GrantLevel, options: { refreshIfMissing?: boolean } = {}): Promise<StoredCredential> {
    const all = (await this.credentialStore.list()).map(([, c]) => c);
    if (all.length === 0) throw new AgentError("ERR_NO_CREDENTIAL", messageFor("ERR_NO_CREDENTIAL", "register first"));
    if (level === "pseudonymous") {
      const claim = merchantPseudonymClaim(merchantDid);
      const carries = async (c: StoredCredential) => (await readCredentialClaims(this.box.decrypt(c.sealed)))[claim] !== undefined;
      const account = all.find((c) => c.accountAt === merchantDid && c.usedWith.length === 1 && c.usedWith[0] === merchantDid);
      if (account && (await carries(account))) return account;
      for (const c of all.filter((c) => c.usedWith.length === 0)) if (await carries(c)) return c;
      if (options.refreshIfMissing) {
        await this.backgroundRefresh;
        await this.refreshBatch();
        return this.pickCredential(merchantDid, level);
      }
      throw new AgentError("ERR_PSEUDONYM_UNAVAILABLE", messageFor("ERR_PSEUDONYM_UNAVAILABLE", "no credential carries a pseudonym for this merchant"));
    }
    const fresh = all.find((c) => c.usedWith.length === 0);
    if (!fresh) throw new AgentError("ERR_BATCH_EXHAUSTED", messageFor("ERR_BATCH_EXHAUSTED", "batch exhausted"));
    return fresh;
  }

  /**
   * Fetches a fresh batch without holding up the answer that found the wallet running low: one refresh at a
   * time; its outcome goes to `onBackgroundRefresh` and `lastBackgroundRefresh`, an error is never thrown.
   */
  private refreshInBackground(): void {
    if (this.backgroundRefresh) return;
    this.backgroundRefresh = this.refreshBatch()
      .then(
        (r): BackgroundRefreshOutcome => ({ received: r.received }),
        (error): BackgroundRefreshOutcome => ({ error: { code: (error as AgentError).code ?? "ERR_REFRESH_FAILED", message: String((error as Error).message ?? error) } }),
      )
      .then((outcome) => {
        this.lastBackgroundRefresh = outcome;
        try {
          this.onBackgroundRefresh(outcome);
        } catch {
          // a reporter that fails must not turn into an unhandled rejection
        }
      })
      .finally(() => {
        this.backgroundRefresh = undefined;
      });
  }

  private async pairwiseSeed(): Promise<Buffer> {
    const existing = await this.secrets.get("pairwise-seed");
    if (existing) return Buffer.from(this.box.decrypt(existing.sealed), "base64url");
    await this.secrets.putIfAbsent("pairwise-seed", { sealed: this.box.encrypt(randomBytes(32).toString("base64url")) });
    return this.pairwiseSeed();
  }
}
