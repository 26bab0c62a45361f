/**
 * The merchant verifier's core: everything a request, an answer, a withdrawal, a login and a notary's query
 * does, over `agent/` and the stores. The HTTP routes (app.ts) and the checkout pages (checkout.ts) are thin
 * over it; it imports neither of them.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import {
  AgentError,
  CONSENT_RECEIPT_TYPE,
  createAuthorizationRequest,
  decryptAuthorizationResponse,
  newResponseEncryptionKey,
  RESPONSE_MODE_ENCRYPTED,
  type ResponseMode,
  type X509ClientConfig,
  sha256Hex,
  createGrantReceipt,
  createReceipt,
  verifyPairwiseProof,
  verifyReceipt,
  WITHDRAWAL_ACK_TYPE,
  WITHDRAWAL_RECEIPT_TYPE,
  type WithdrawalAckRecord,
  type WithdrawalRecord,
  FULL_LEVEL_CLAIMS,
  GRANT_LEVELS,
  parseInput,
  receiptHash,
  verifyGrantResponse,
  VerificationFailedError,
  type AnchorQueue,
  type DocumentStore,
  type JwsSigner,
  type StatusListResolver,
  type TrustRegistryDocument,
  type NotaryGate,
  IssuerMetadataResolver,
  type TrustedIssuerKey,
} from "@realname/agent";
import { expiryKey, type ExpiryEntry } from "./sweep.js";
import type { Account, LoginChallenge, RequestResult, Session, StoredGrant } from "./records.js";

export type { Account, LoginChallenge, RequestResult, Session, StoredGrant } from "./records.js";

export interface VerifierCoreDeps {
  /** `x509`: the merchant is an `x509_san_dns` (or `x509_hash`) client with this chain from the platform CA (else `decentralized_identifier`). */
  merchant: { did: string; name: string; signer: JwsSigner; x509?: X509ClientConfig };
  /**
   * How wallets answer this merchant's requests: `direct_post.jwt` (default; encrypted to a key made for each
   * request, OpenID4VP §8.3, as HAIP requires) or plain `direct_post`. A request takes only its own mode.
   */
  responseMode?: ResponseMode;
  /** Issuers whose credentials this merchant believes: did:key DIDs, or https issuer URLs (keys from their metadata). */
  trustedIssuers: readonly string[];
  /** Further keys of trusted issuers (e.g. an issuer's ES256 key, which its did:key does not name). */
  trustedIssuerKeys?: readonly TrustedIssuerKey[];
  /** Reads an https issuer's keys from its /.well-known/jwt-vc-issuer (cached); DIDs pass through. Default: a fresh one. */
  issuerKeys?: IssuerMetadataResolver;
  /** The identity credential type asked for and accepted: the trusted issuer's vct URL (identityVct). */
  identityVct: string;
  /** Base URL the wallet reaches this service at (known once it listens). */
  publicUrl: () => string;
  sessions: DocumentStore<Session>;
  /**
   * Single-use values: request nonces (present while a request is open, taken atomically by the first valid
   * answer) and, under `rc:<hash>`, the wallet's one-time response codes (taken by the first redemption).
   */
  nonces: DocumentStore<{ requestId: string; expiresAt?: number }>;
  grants: DocumentStore<StoredGrant>;
  /** Accounts by their issuer-signed pseudonym, and `login:<did>` links from each wallet login key to its account. */
  accounts: DocumentStore<Account>;
  /** Single-use login challenges for pseudonymous accounts. */
  challenges: DocumentStore<LoginChallenge>;
  /** When each request, login challenge and response code expires, oldest first: what `sweepExpired` removes. */
  expiries: DocumentStore<ExpiryEntry>;
  queue: AnchorQueue;
  /** Seals `full` claims at rest (the merchant agent's passphrase box). */
  seal: { encrypt(plain: string): string; decrypt(sealed: string): string };
  /** Who may read receipts: registered notaries only. */
  notaries: NotaryGate;
  /** Status-list checks (fetch limits, cache); always on in the service. */
  status: StatusListResolver;
  /** The issuer's signed merchant registry this merchant relies on; its hash and URI go into every grant receipt. */
  trustRegistry?: { current(now: Date, covers?: (doc: TrustRegistryDocument) => boolean): Promise<{ hash: string; uri: string }> };
  clock?: () => Date;
  /**
   * Runs one answer's writes as a unit acknowledged by one sync (StoreDatabase.durably): the nonce, the grant,
   * the queued receipts, the response code and the session are all on disk before the wallet hears "accepted",
   * after one wait for the disk instead of one per write. Default: run as is (each write durable by itself).
   */
  durably?: <T>(work: () => Promise<T>) => Promise<T>;
  requestValiditySeconds?: number;
  /** How long the wallet's one-time response code opens the result with claim values (default 120 s). */
  responseCodeSeconds?: number;
  log?: (line: string) => void;
}

export const createRequestSchema = z
  .object({
    level: z.enum(GRANT_LEVELS),
    purpose: z.string().trim().min(1).max(500),
    retentionDays: z.number().int().min(0).max(3650).default(30),
    claims: z.array(z.enum(FULL_LEVEL_CLAIMS as [string, ...string[]])).max(FULL_LEVEL_CLAIMS.length).default([]),
    ageOver18: z.boolean().default(false),
    /** Further levels this merchant accepts besides `level` (its preference); the person picks (agent grants/choice.ts). */
    acceptLevels: z.array(z.enum(GRANT_LEVELS)).max(GRANT_LEVELS.length).default([]),
    /** Claims of a `full` answer the person may switch off: a subset of `claims`. */
    optionalClaims: z.array(z.enum(FULL_LEVEL_CLAIMS as [string, ...string[]])).max(FULL_LEVEL_CLAIMS.length).default([]),
    /** A shorter life than the service's default (a till whose customer is standing there); never longer. */
    expiresInSeconds: z.number().int().min(1).max(86_400).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.level === "full" && v.claims.length === 0) ctx.addIssue({ code: "custom", path: ["claims"], message: "a full grant must name the claims it asks for" });
    const fullAccepted = v.level === "full" || v.acceptLevels.includes("full");
    if (fullAccepted && v.claims.length === 0) ctx.addIssue({ code: "custom", path: ["claims"], message: "accepting a full grant means naming the claims it asks for" });
    if (!fullAccepted && v.claims.length > 0) ctx.addIssue({ code: "custom", path: ["claims"], message: "only a full grant asks for identity claims" });
    if (!v.optionalClaims.every((c) => v.claims.includes(c))) ctx.addIssue({ code: "custom", path: ["optionalClaims"], message: "optional claims must be among the claims asked for" });
  });

export const responseSchema = z
  .object({
    presentation: z.string().min(1).max(65_536),
    /** Optional: the key-binding JWT over the transaction data is the person's consent; ours adds a receipt. */
    consentReceipt: z.string().min(1).max(32_768).optional(),
    pairwiseProof: z.string().min(1).max(8_192).optional(),
  })
  .strict();

export const idParam = z.string().regex(/^[0-9a-f-]{36}$/);

/** Where a wallet login key points to its account (in the accounts store, beside the accounts themselves). */
const loginLinkKey = (did: string) => `login:${did}`;
/** Login keys kept per account (a person's wallets over time). */
const MAX_LOGIN_KEYS = 5;

export type VerifierCore = ReturnType<typeof createVerifierCore>;

/** The verifier's operations; each validates what it is given and stores nothing unless it succeeds. */
export function createVerifierCore(deps: VerifierCoreDeps) {
  const clock = deps.clock ?? (() => new Date());
  const issuerKeys = deps.issuerKeys ?? new IssuerMetadataResolver({ clock });
  const validity = deps.requestValiditySeconds ?? 300;
  const responseCodeSeconds = deps.responseCodeSeconds ?? 120;
  const responseMode: ResponseMode = deps.responseMode ?? RESPONSE_MODE_ENCRYPTED;

  /** Opens a signed presentation request (the API below and the checkout page both use it). */
  async function openRequest(input: z.infer<typeof createRequestSchema>, options: { fromCheckout?: boolean } = {}) {
    const requestId = randomUUID();
    const base = deps.publicUrl();
    // A fresh key pair per request: an answer can only be opened by the request it was made for.
    const encryption = responseMode === RESPONSE_MODE_ENCRYPTED ? await newResponseEncryptionKey() : undefined;
    const created = await createAuthorizationRequest({
      merchant: deps.merchant,
      terms: { request_id: requestId, merchant_name: deps.merchant.name, level: input.level, purpose: input.purpose, retention_days: input.retentionDays, claims: input.claims, age_over_18: input.ageOver18, ...(input.acceptLevels.length ? { accepted_levels: input.acceptLevels.filter((l) => l !== input.level) } : {}), ...(input.optionalClaims.length ? { optional_claims: input.optionalClaims } : {}) },
      requestUri: `${base}/requests/${requestId}`,
      responseUri: `${base}/requests/${requestId}/response`,
      vct: deps.identityVct,
      now: clock(),
      validForSeconds: Math.min(input.expiresInSeconds ?? validity, validity),
      ...(encryption ? { responseEncryption: encryption.clientMetadata } : {}),
    });
    const payload = JSON.parse(Buffer.from(created.requestObject.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    const transactionSecret = randomBytes(16).toString("base64url");
    await deps.expiries.put(expiryKey(created.request.exp * 1000, "request", requestId), { kind: "request", id: requestId });
    await deps.sessions.put(requestId, {
      requestId,
      requestJwt: created.requestObject,
      request: created.request,
      payload,
      authorizationRequest: created.authorizationRequest,
      transactionSecretHash: sha256Hex(transactionSecret),
      status: "pending",
      createdAt: clock().toISOString(),
      ...(options.fromCheckout ? { fromCheckout: true } : {}),
      ...(encryption ? { responseDecryption: { kid: encryption.key.kid, sealedPrivateJwk: deps.seal.encrypt(JSON.stringify(encryption.key.privateJwk)), encValues: encryption.key.encValues } } : {}),
    });
    await deps.nonces.put(created.request.nonce, { requestId });
    return {
      requestId,
      authorizationRequest: created.authorizationRequest,
      requestUri: `${base}/requests/${requestId}`,
      qrPng: `${base}/requests/${requestId}/qr.png`,
      transactionSecret,
      expiresAt: new Date(created.request.exp * 1000).toISOString(),
    };
  }

  /**
   * What the person granted, as a browser may see it: claim values and the account only `withValues` (the
   * browser came back with the wallet's response code); otherwise the status and level alone.
   */
  async function resultOf(session: Session, options: { withValues: boolean }): Promise<RequestResult> {
    if (session.status === "pending") return { status: "pending" };
    if (session.status === "declined") return { status: "declined" };
    // The level and claims the person chose within what was stated (the request's own level is the preference).
    // The opener (transaction secret) sees the level only, as before; the claim names come with the values.
    const level = session.granted?.level ?? session.request.level;
    if (!options.withValues) return { status: "accepted", level };
    const granted = { level, ...(session.granted ? { claimNames: session.granted.claimNames } : {}) };
    const stored = await deps.grants.get(session.grantId!);
    const account = stored?.memberId ? await deps.accounts.get(stored.memberId) : undefined;
    return {
      status: "accepted",
      grantId: session.grantId!,
      ...granted,
      verified: true,
      claims: stored?.sealedClaims ? JSON.parse(deps.seal.decrypt(stored.sealedClaims)) : (stored?.claims ?? {}),
      ...(stored?.retentionExpiredAt ? { retention: "expired: identity data deleted" } : {}),
      ...(stored?.withdrawal ? { withdrawn: true } : {}),
      ...(account ? { account: { pseudonym: account.pseudonym, returning: account.visits > 1, visits: account.visits, openedAt: account.openedAt } } : {}),
    };
  }

  /** A single-use login challenge for a pseudonymous account (optionally bound to a checkout page's secret). */
  async function openChallenge(frontEndSecretHash?: string) {
    const challengeId = randomUUID();
    const expiresAt = Math.floor(clock().getTime() / 1000) + validity;
    await deps.expiries.put(expiryKey(expiresAt * 1000, "challenge", challengeId), { kind: "challenge", id: challengeId });
    await deps.challenges.put(challengeId, { challengeId, nonce: randomBytes(16).toString("base64url"), expiresAt, status: "pending", ...(frontEndSecretHash ? { frontEndSecretHash } : {}) });
    return { challengeId, challengeUri: `${deps.publicUrl()}/login/challenges/${challengeId}`, expiresAt: new Date(expiresAt * 1000).toISOString() };
  }

  /**
   * A wallet's answer to `session`, parsed: verified completely (presentation, consent receipt, status, the
   * request's terms) before anything is stored; then the nonce is spent, the grant stored, both receipts
   * queued for anchoring, and a one-time response code made for the browser the wallet sends back.
   */
  const asUnit = deps.durably ?? (<T>(work: () => Promise<T>) => work());

  function acceptAnswer(session: Session, body: z.infer<typeof responseSchema>) {
    return asUnit(() => acceptAnswerWrites(session, body));
  }

  async function acceptAnswerWrites(session: Session, body: z.infer<typeof responseSchema>) {
    if (session.status !== "pending") throw new AgentError("ERR_NONCE_REUSED", "this request has already been answered");
    const now = clock();
    const result = await verifyGrantResponse({ response: body, request: session.request, requestJwt: session.requestJwt, trustedIssuers: [...(await issuerKeys.resolve(deps.trustedIssuers)), ...(deps.trustedIssuerKeys ?? [])], expectedVct: deps.identityVct, now, status: deps.status });
    if (!result.verified) throw new VerificationFailedError(result.errors);
    // Only now is the nonce spent: of concurrent valid answers, exactly one takes it.
    const nonce = await deps.nonces.take(session.request.nonce);
    if (!nonce || nonce.requestId !== session.requestId) throw new AgentError("ERR_NONCE_REUSED", "this request has already been answered");

    const grant = result.grant!;
    const retentionUntil = new Date(now.getTime() + session.request.retention_days * 86_400_000).toISOString();
    const listJwt = grant.statusUri ? deps.status.listUsed(grant.statusUri) : undefined;
    // The registry that says this merchant is registered: named in the receipt so evidence can carry it.
    const listsThisGrant = (doc: TrustRegistryDocument) => doc.merchants.some((m) => m.did === deps.merchant.did && m.purposes.includes(session.request.purpose) && GRANT_LEVELS.indexOf(m.maxLevel) >= GRANT_LEVELS.indexOf(grant.level));
    const relied = await deps.trustRegistry?.current(now, listsThisGrant).catch((e: Error) => void deps.log?.(JSON.stringify({ t: now.toISOString(), level: "warn", event: "trust-registry-unavailable", reason: String(e?.message ?? e).slice(0, 200) })));
    const grantReceipt = await createGrantReceipt(
      {
        grantTimestamp: now.toISOString(),
        ...(grant.consent && grant.consentReceipt ? { consentReceiptId: grant.consent.receiptId, consentReceiptHash: receiptHash(grant.consentReceipt) } : {}),
        presentation: grant.presentation,
        level: grant.level,
        claimNames: Object.keys(grant.claims),
        retentionUntil,
        ...(grant.pseudonym ? { pseudonym: grant.pseudonym } : {}),
        ...(grant.statusUri && listJwt ? { statusList: { uri: grant.statusUri, hash: sha256Hex(listJwt) } } : {}),
        ...(relied ? { trustRegistry: { uri: relied.uri, hash: relied.hash } } : {}),
      },
      grant.holderDid,
      deps.merchant,
      now,
    );
    const grantId = randomUUID();
    if (grant.memberId) {
      // One account per person: keyed by the issuer's pseudonym; our wallet's pairwise key (when sent) becomes a
      // login key of it. A standard wallet's answer opens or enters the account by the pseudonym alone.
      const existing = await deps.accounts.get(grant.memberId);
      const loginKeys = [...(existing?.loginKeys ?? []).filter((k) => k !== grant.pseudonym), ...(grant.pseudonym ? [grant.pseudonym] : [])].slice(-MAX_LOGIN_KEYS);
      const account: Account = existing
        ? { ...existing, loginKeys, lastSeenAt: now.toISOString(), visits: existing.visits + 1 }
        : { pseudonym: grant.memberId, loginKeys, openedAt: now.toISOString(), lastSeenAt: now.toISOString(), visits: 1 };
      await deps.accounts.batch([
        { type: "put", key: grant.memberId, value: account },
        ...(grant.pseudonym ? [{ type: "put" as const, key: loginLinkKey(grant.pseudonym), value: { memberId: grant.memberId } as unknown as Account }] : []),
      ]);
    }
    await deps.grants.put(grantId, {
      grantId,
      requestId: session.requestId,
      level: grant.level,
      claims: grant.level === "full" ? {} : grant.claims,
      ...(grant.level === "full" ? { sealedClaims: deps.seal.encrypt(JSON.stringify(grant.claims)) } : {}),
      pseudonym: grant.pseudonym,
      ...(grant.memberId ? { memberId: grant.memberId } : {}),
      ...(grant.consentReceipt ? { consentReceipt: grant.consentReceipt } : { sealedPresentation: deps.seal.encrypt(body.presentation), ...(session.request.transaction_data ? { transactionData: session.request.transaction_data } : {}) }),
      holderDid: grant.holderDid,
      grantReceipt: grantReceipt.jwt,
      grantedAt: now.toISOString(),
      retentionUntil,
    });
    // The receipts are durably queued before the wallet hears "accepted" (the consent receipt when there is one).
    const consentAnchor = grant.consentReceipt && grant.consent ? await deps.queue.enqueue(receiptHash(grant.consentReceipt), grant.consent.receiptId) : undefined;
    const grantAnchor = await deps.queue.enqueue(receiptHash(grantReceipt.jwt), grantReceipt.record.receiptId);
    // A fresh, unguessable response code (OpenID4VP §8.2) for the browser the wallet sends back: only it sees
    // claim values, once and within minutes. Whoever opened the request (its transaction secret, a checkout
    // cookie) sees the status and level only, so a link sent to a victim shows the sender nothing of them.
    const responseCode = randomBytes(16).toString("base64url");
    const codeHash = sha256Hex(responseCode);
    const codeExpiresAt = now.getTime() + responseCodeSeconds * 1000;
    await deps.expiries.put(expiryKey(codeExpiresAt, "response-code", codeHash), { kind: "response-code", id: codeHash });
    if (codeExpiresAt > session.request.exp * 1000) await deps.expiries.put(expiryKey(codeExpiresAt, "request", session.requestId), { kind: "request", id: session.requestId });
    await deps.nonces.put(`rc:${codeHash}`, { requestId: session.requestId, expiresAt: codeExpiresAt });
    await deps.sessions.put(session.requestId, { ...spent(session), status: "accepted", grantId, granted: { level: grant.level, claimNames: Object.keys(grant.claims).sort() }, responseCodeHash: codeHash, responseCodeExpiresAt: codeExpiresAt });
    return {
      status: "accepted",
      redirect_uri: session.fromCheckout ? `${deps.publicUrl()}/checkout/${session.requestId}?response_code=${responseCode}` : `${deps.publicUrl()}/requests/${session.requestId}/result?response_code=${responseCode}`,
      grantId,
      grantReceipt: grantReceipt.jwt,
      grant_receipt_uri: `${deps.publicUrl()}/grants/${grantId}/receipt`,
      anchors: { ...(consentAnchor ? { consent: consentAnchor.status } : {}), grant: grantAnchor.status },
    };
  }

  const declineSchema = z.object({
    state: z.string(),
    // RFC 6749 §5.2: an error code is printable ASCII without `"` and `\`.
    error: z.string().min(1).max(64).regex(/^[\x20\x21\x23-\x5B\x5D-\x7E]+$/),
    error_description: z.string().max(500).optional(),
    error_uri: z.string().max(500).optional(),
  }).strict();

  /**
   * A wallet's error response (OpenID4VP 1.0 §8.5, e.g. `access_denied` when the person says no): the request
   * is closed (its nonce spent, so no later answer is taken) and the session records the decline. Answered 200
   * with JSON (§8.2), with a `redirect_uri` back to the checkout page that opened it.
   */
  async function recordDecline(session: Session, form: Record<string, unknown>): Promise<Record<string, unknown>> {
    const decline = parseInput(declineSchema, form);
    if (session.status !== "pending") throw new AgentError("ERR_NONCE_REUSED", "this request has already been answered");
    const nonce = await deps.nonces.take(session.request.nonce);
    if (!nonce || nonce.requestId !== session.requestId) throw new AgentError("ERR_NONCE_REUSED", "this request has already been answered");
    await deps.sessions.put(session.requestId, { ...spent(session), status: "declined", declinedWith: decline.error });
    return { status: "declined", ...(session.fromCheckout ? { redirect_uri: `${deps.publicUrl()}/checkout/${session.requestId}` } : {}) };
  }

  /** The wallet's response code for `session`: true once, within its validity (taken atomically). */
  async function redeemResponseCode(session: Session, code: string): Promise<boolean> {
    const hash = sha256Hex(code);
    if (code.length > 128 || session.responseCodeHash !== hash) return false;
    const spent = await deps.nonces.take(`rc:${hash}`);
    return spent?.requestId === session.requestId && (spent.expiresAt ?? 0) > clock().getTime();
  }

  /** The person withdraws a grant: the merchant deletes its copy, acknowledges with a signed receipt, anchors both. */
  async function withdraw(grantId: string, withdrawalReceipt: string) {
    const stored = await deps.grants.get(grantId);
    if (!stored) throw new AgentError("ERR_GRANT_NOT_FOUND", "no such grant");
    if (stored.withdrawal) throw new AgentError("ERR_CONFLICT", "this grant was already withdrawn");
    const now = clock();
    // The person who consented: the consent receipt's signer, or (a plain OpenID4VP grant) the presentation's key.
    const consenter = stored.consentReceipt ? (await verifyReceipt(stored.consentReceipt, CONSENT_RECEIPT_TYPE, { now })).issuer : stored.holderDid;
    const w = await verifyReceipt<WithdrawalRecord>(withdrawalReceipt, WITHDRAWAL_RECEIPT_TYPE, { now });
    if (!w.verified) throw new VerificationFailedError(w.errors.map((e) => ({ ...e, code: e.code.replace("ERR_RECEIPT", "ERR_WITHDRAWAL_RECEIPT") })));
    const namesThisGrant = stored.consentReceipt ? w.record!.consentReceiptHash === receiptHash(stored.consentReceipt) : w.record!.grantReceiptHash === receiptHash(stored.grantReceipt);
    if (!consenter || w.issuer !== consenter || w.record!.grantId !== grantId || !namesThisGrant) {
      throw new AgentError("ERR_WITHDRAWAL_RECEIPT_MISMATCH", "the withdrawal is not signed by the person who consented to this grant");
    }
    const ack = await createReceipt<WithdrawalAckRecord>(WITHDRAWAL_ACK_TYPE, w.issuer!, { acknowledgedAt: now.toISOString(), grantId, withdrawalReceiptHash: receiptHash(withdrawalReceipt), dataDeleted: true }, deps.merchant, now);
    // The merchant's copy of the data goes; the receipts stay (they are the evidence, and hold no claim values).
    const { sealedClaims: _deleted, sealedPresentation: _presentation, ...kept } = stored;
    await deps.grants.put(grantId, { ...kept, claims: {}, withdrawal: { receipt: withdrawalReceipt, acknowledgement: ack.jwt, at: now.toISOString() } });
    if (stored.memberId) {
      const account = await deps.accounts.get(stored.memberId);
      await deps.accounts.batch([{ type: "del", key: stored.memberId }, ...(account?.loginKeys ?? []).map((k) => ({ type: "del" as const, key: loginLinkKey(k) }))]);
    }
    await deps.queue.enqueue(receiptHash(withdrawalReceipt), w.record!.receiptId);
    await deps.queue.enqueue(receiptHash(ack.jwt), ack.record.receiptId);
    return { status: "withdrawn" as const, acknowledgement: ack.jwt };
  }

  /** A login challenge answered with a pairwise proof: the account it opens, or a stable refusal. */
  async function login(id: string, proof: string) {
    const c = await deps.challenges.get(id);
    if (!c || c.status !== "pending" || c.expiresAt <= Math.floor(clock().getTime() / 1000)) throw new AgentError("ERR_CHALLENGE_NOT_FOUND", "no such open login challenge");
    // The wallet names the origin it answered; a proof made for a look-alike site that relays this challenge is refused.
    const checked = verifyPairwiseProof(proof, { audience: deps.merchant.did, nonce: c.nonce, sdHash: "login", origin: new URL(deps.publicUrl()).origin });
    if (!checked.verified) throw new VerificationFailedError(checked.errors);
    const link = (await deps.accounts.get(loginLinkKey(checked.pseudonym!))) as unknown as { memberId?: string } | undefined;
    const account = link?.memberId ? await deps.accounts.get(link.memberId) : undefined;
    if (!account || !account.loginKeys?.includes(checked.pseudonym!)) throw new AgentError("ERR_ACCOUNT_NOT_FOUND", "no account for this pseudonym: grant the pseudonymous level first");
    const spent = await deps.challenges.take(id);
    if (!spent || spent.status !== "pending") throw new AgentError("ERR_NONCE_REUSED", "this challenge has already been answered");
    const now = clock().toISOString();
    const updated = { ...account, lastSeenAt: now, visits: account.visits + 1 };
    await deps.accounts.put(account.pseudonym, updated);
    await deps.challenges.put(id, { ...spent, status: "logged-in", pseudonym: account.pseudonym });
    return { status: "logged-in" as const, account: { pseudonym: updated.pseudonym, openedAt: updated.openedAt, visits: updated.visits } };
  }

  /** The receipts (and their anchors) about the grants a notary's query names. */
  async function notaryReceipts(q: { grantId?: string; pseudonym?: string; from?: string; to?: string }) {
    const matches = (await deps.grants.list()).map(([, g]) => g).filter((g) =>
      (!q.grantId || g.grantId === q.grantId) &&
      (!q.pseudonym || g.pseudonym === q.pseudonym) &&
      (!q.from || g.grantedAt >= q.from) &&
      (!q.to || g.grantedAt <= q.to),
    );
    const anchors = async (jwt: string) => (await deps.queue.get(receiptHash(jwt))) ?? null;
    const receipts = await Promise.all(matches.map(async (g) => ({
      grantId: g.grantId,
      level: g.level,
      grantedAt: g.grantedAt,
      consentReceipt: g.consentReceipt,
      grantReceipt: g.grantReceipt,
      anchors: { consent: g.consentReceipt ? await anchors(g.consentReceipt) : null, grant: await anchors(g.grantReceipt) },
      ...(g.withdrawal ? { withdrawal: { receipt: g.withdrawal.receipt, acknowledgement: g.withdrawal.acknowledgement, anchors: { receipt: await anchors(g.withdrawal.receipt), acknowledgement: await anchors(g.withdrawal.acknowledgement) } } } : {}),
    })));
    return receipts;
  }

  /**
   * A `direct_post.jwt` answer (§8.3.1): the form holds exactly `response`, a JWE opened with this request's
   * own key; its payload then goes through the same checks as a plain answer's form fields. A plain answer
   * to such a request is refused (no downgrade), as is one once the request's key is gone (answered).
   */
  async function openEncryptedAnswer(session: Session, form: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (form.response === undefined) throw new AgentError("ERR_RESPONSE_ENCRYPTION_REQUIRED", "this request takes only an encrypted answer (direct_post.jwt)");
    if (Object.keys(form).length !== 1) throw new AgentError("ERR_RESPONSE_ENCRYPTION_MALFORMED", "an encrypted answer carries its parameters inside `response` only");
    if (session.status !== "pending" || !session.responseDecryption) throw new AgentError("ERR_NONCE_REUSED", "this request has already been answered");
    const { kid, sealedPrivateJwk, encValues } = session.responseDecryption;
    return decryptAuthorizationResponse(form.response, { kid, encValues, privateJwk: JSON.parse(deps.seal.decrypt(sealedPrivateJwk)) });
  }

  /** A session once answered or declined: its decryption key goes (nothing more may be opened with it). */
  function spent(session: Session): Session {
    const { responseDecryption: _gone, ...rest } = session;
    return rest;
  }

  async function loadSession(id: string): Promise<Session> {
    const requestId = parseInput(idParam, id);
    const session = await deps.sessions.get(requestId);
    if (!session) throw new AgentError("ERR_REQUEST_NOT_FOUND", "no such request");
    return session;
  }

  return { clock, responseMode, openEncryptedAnswer, openRequest, resultOf, openChallenge, acceptAnswer, recordDecline, redeemResponseCode, withdraw, login, notaryReceipts, loadSession };
}
