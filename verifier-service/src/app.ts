import { randomBytes, randomUUID } from "node:crypto";
import express from "express";
import QRCode from "qrcode";
import { z } from "zod";
import {
  AgentError,
  CONSENT_RECEIPT_TYPE,
  createAuthorizationRequest,
  parseAuthorizationResponse,
  sha256Hex,
  createGrantReceipt,
  createReceipt,
  verifyPairwiseProof,
  verifyReceipt,
  WITHDRAWAL_ACK_TYPE,
  WITHDRAWAL_RECEIPT_TYPE,
  type WithdrawalAckRecord,
  type WithdrawalRecord,
  createServiceApp,
  errorHandler,
  FULL_LEVEL_CLAIMS,
  GRANT_LEVELS,
  handle,
  notFound,
  parseInput,
  receiptHash,
  requireJson,
  verifyGrantResponse,
  VerificationFailedError,
  type AnchorQueue,
  type DocumentStore,
  type GrantLevel,
  type JwsSigner,
  type PresentationRequest,
  type StatusListResolver,
  type TrustRegistryDocument,
  type NotaryGate,
  IssuerMetadataResolver,
  webAssets as assets,
  type TrustedIssuerKey,
} from "@realname/agent";
import { checkoutRouter, type CheckoutConfig } from "./checkout.js";
import { expiryKey, type ExpiryEntry } from "./sweep.js";

export interface VerifierDeps {
  merchant: { did: string; name: string; signer: JwsSigner };
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
  rateLimit?: { max: number; windowMs: number };
  /** Status-list checks (fetch limits, cache); always on in the service. */
  status: StatusListResolver;
  /** The issuer's signed merchant registry this merchant relies on; its hash and URI go into every grant receipt. */
  trustRegistry?: { current(now: Date, covers?: (doc: TrustRegistryDocument) => boolean): Promise<{ hash: string; uri: string }> };
  clock?: () => Date;
  requestValiditySeconds?: number;
  /** How long the wallet's one-time response code opens the result with claim values (default 120 s). */
  responseCodeSeconds?: number;
  log?: (line: string) => void;
  /** The demo checkout page (what this merchant asks for, and where a web wallet lives); off when absent. */
  checkout?: CheckoutConfig;
}

export interface Session {
  requestId: string;
  /** The signed OpenID4VP request object, served by reference. */
  requestJwt: string;
  request: PresentationRequest;
  /** Its authorization request parameters, to validate the direct_post answer against. */
  payload: Record<string, unknown>;
  authorizationRequest: string;
  /** Given to the merchant's front end only: it polls the result with it. */
  transactionSecretHash: string;
  /** Given to the wallet in the redirect: the browser it sends back reads the claim values with it, once. */
  responseCodeHash?: string;
  /** Until when (ms) that code works; the session is kept (for its status) until then. */
  responseCodeExpiresAt?: number;
  status: "pending" | "accepted" | "declined";
  /** For a declined request: the OpenID4VP error code the wallet sent (`access_denied` when the person said no). */
  declinedWith?: string;
  createdAt: string;
  grantId?: string;
  /** Opened by the checkout page: after the answer the wallet is sent back there. */
  fromCheckout?: boolean;
}

export interface StoredGrant {
  grantId: string;
  requestId: string;
  level: GrantLevel;
  /** What the merchant learned, for `verified`/`pseudonymous` (flags only, no identity values). */
  claims: Record<string, unknown>;
  /** For `full`: the identity claims, sealed under the merchant's key until the retention sweep deletes them. */
  sealedClaims?: string;
  retentionExpiredAt?: string;
  pseudonym?: string;
  /** For `pseudonymous`: the account it opened or entered (the issuer-signed pseudonym). */
  memberId?: string;
  /** The wallet's consent receipt, when it sent one (a plain OpenID4VP answer does not). */
  consentReceipt?: string;
  /** The key that signed the presentation (the grant receipt's subject): who may withdraw. */
  holderDid?: string;
  /**
   * Without a consent receipt, the person's signed consent is the presentation itself (its key-binding JWT over
   * the transaction data): kept sealed with the exact grant terms string, for evidence.
   */
  sealedPresentation?: string;
  transactionData?: string;
  grantReceipt: string;
  grantedAt: string;
  retentionUntil: string;
  withdrawal?: { receipt: string; acknowledgement: string; at: string };
}

export interface LoginChallenge {
  challengeId: string;
  nonce: string;
  expiresAt: number;
  status: "pending" | "logged-in";
  pseudonym?: string;
  /** For a challenge opened by the checkout page: only that browser may read the outcome. */
  frontEndSecretHash?: string;
}

export type RequestResult =
  | { status: "pending" }
  /** The wallet declined (OpenID4VP error response): nothing was received. */
  | { status: "declined" }
  /** What the transaction secret alone shows: that an answer arrived, at which level; never values or the pseudonym. */
  | { status: "accepted"; level: GrantLevel }
  | {
      status: "accepted";
      grantId: string;
      level: GrantLevel;
      verified: true;
      claims: Record<string, unknown>;
      retention?: string;
      withdrawn?: boolean;
      account?: { pseudonym: string; returning: boolean; visits: number; openedAt: string };
    };

/**
 * A pseudonymous account. One per person here: it is keyed by the issuer-signed pseudonym for this merchant
 * (the issuer's keyed hash of person and merchant DID), so a second credential, a second wallet or a fresh
 * registration of the same person lands in the same account and a ban on it holds. The wallet's pairwise
 * did:key is the login key recorded on the account (login by signed challenge); each new wallet adds its own.
 */
export interface Account {
  /** The issuer-signed pseudonym: the account's identity at this merchant, and the key it is stored under. */
  pseudonym: string;
  /** Wallet keys that may log in (pairwise did:key), newest last. */
  loginKeys: string[];
  openedAt: string;
  lastSeenAt: string;
  visits: number;
}

export const createRequestSchema = z
  .object({
    level: z.enum(GRANT_LEVELS),
    purpose: z.string().trim().min(1).max(500),
    retentionDays: z.number().int().min(0).max(3650).default(30),
    claims: z.array(z.enum(FULL_LEVEL_CLAIMS as [string, ...string[]])).max(FULL_LEVEL_CLAIMS.length).default([]),
    ageOver18: z.boolean().default(false),
    /** A shorter life than the service's default (a till whose customer is standing there); never longer. */
    expiresInSeconds: z.number().int().min(1).max(86_400).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.level === "full" && v.claims.length === 0) ctx.addIssue({ code: "custom", path: ["claims"], message: "a full grant must name the claims it asks for" });
    if (v.level !== "full" && v.claims.length > 0) ctx.addIssue({ code: "custom", path: ["claims"], message: "only a full grant asks for identity claims" });
  });

const responseSchema = z
  .object({
    presentation: z.string().min(1).max(65_536),
    /** Optional: the key-binding JWT over the transaction data is the person's consent; ours adds a receipt. */
    consentReceipt: z.string().min(1).max(32_768).optional(),
    pairwiseProof: z.string().min(1).max(8_192).optional(),
  })
  .strict();

const idParam = z.string().regex(/^[0-9a-f-]{36}$/);

/** Where a wallet login key points to its account (in the accounts store, beside the accounts themselves). */
const loginLinkKey = (did: string) => `login:${did}`;
/** Login keys kept per account (a person's wallets over time). */
const MAX_LOGIN_KEYS = 5;

/** The merchant's verifier: signed requests, complete verification, accounts, receipts queued for anchoring. */
export function createApp(deps: VerifierDeps) {
  const clock = deps.clock ?? (() => new Date());
  const issuerKeys = deps.issuerKeys ?? new IssuerMetadataResolver({ clock });
  const validity = deps.requestValiditySeconds ?? 300;
  const responseCodeSeconds = deps.responseCodeSeconds ?? 120;
  const app = createServiceApp({ log: deps.log, rateLimit: deps.rateLimit });

  app.get("/health", handle(async (_req, res) => {
    res.json({ status: "ok", role: "verifier", did: deps.merchant.did, anchoring: await deps.queue.backlog() });
  }));

  app.get("/.well-known/merchant", (_req, res) => {
    res.json({ did: deps.merchant.did, name: deps.merchant.name, trustedIssuers: deps.trustedIssuers });
  });

  /** The merchant's front end asks for a grant; the wallet gets an `openid4vp://` link (or its QR code). */
  /** Opens a signed presentation request (the API below and the checkout page both use it). */
  async function openRequest(input: z.infer<typeof createRequestSchema>, options: { fromCheckout?: boolean } = {}) {
    const requestId = randomUUID();
    const base = deps.publicUrl();
    const created = await createAuthorizationRequest({
      merchant: deps.merchant,
      terms: { request_id: requestId, merchant_name: deps.merchant.name, level: input.level, purpose: input.purpose, retention_days: input.retentionDays, claims: input.claims, age_over_18: input.ageOver18 },
      requestUri: `${base}/requests/${requestId}`,
      responseUri: `${base}/requests/${requestId}/response`,
      vct: deps.identityVct,
      now: clock(),
      validForSeconds: Math.min(input.expiresInSeconds ?? validity, validity),
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
    if (!options.withValues) return { status: "accepted", level: session.request.level };
    const stored = await deps.grants.get(session.grantId!);
    const account = stored?.memberId ? await deps.accounts.get(stored.memberId) : undefined;
    return {
      status: "accepted",
      grantId: session.grantId!,
      level: session.request.level,
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

  /** The merchant's front end asks for a grant; the wallet gets an `openid4vp://` link (or its QR code). */
  app.post("/requests", requireJson, handle(async (req, res) => {
    res.status(201).json(await openRequest(parseInput(createRequestSchema, req.body)));
  }));

  app.get("/requests/:id/qr.png", handle(async (req, res) => {
    const session = await loadSession(req.params.id as string);
    res.type("image/png").set("cache-control", "no-store").send(await QRCode.toBuffer(session.authorizationRequest, { errorCorrectionLevel: "M", margin: 2, scale: 5 }));
  }));

  /** The signed request, by reference. */
  app.get("/requests/:id", handle(async (req, res) => {
    const session = await loadSession(req.params.id as string);
    if (session.request.exp <= Math.floor(clock().getTime() / 1000)) throw new AgentError("ERR_REQUEST_EXPIRED", "this request has expired");
    res.type("application/oauth-authz-req+jwt").send(session.requestJwt);
  }));

  /**
   * The wallet's answer: OpenID4VP 1.0 `direct_post` (form fields `vp_token` and `state`; our wallet adds the
   * optional `consent_receipt` and `pairwise_proof`), or the same values as JSON; or a decline (`error`, e.g.
   * `access_denied`, with `state`), answered 200 as §8.2 requires and recorded. Verified completely before
   * anything is stored.
   */
  app.post("/requests/:id/response", express.urlencoded({ extended: false, limit: "100kb" }), handle(async (req, res) => {
    const session = await loadSession(req.params.id as string);
    let body: z.infer<typeof responseSchema>;
    if (req.is("application/x-www-form-urlencoded")) {
      const form = req.body as Record<string, unknown>;
      if (form.state !== session.requestId) throw new AgentError("ERR_VP_RESPONSE_INVALID", "the response's state does not belong to this request");
      if (form.error !== undefined) return void res.json(await recordDecline(session, form));
      const parsed = parseAuthorizationResponse(form, session.payload);
      body = parseInput(responseSchema, { presentation: parsed.presentation, ...(parsed.consentReceipt !== undefined ? { consentReceipt: parsed.consentReceipt } : {}), ...(parsed.pairwiseProof !== undefined ? { pairwiseProof: parsed.pairwiseProof } : {}) });
    } else if (req.is("application/json")) {
      body = parseInput(responseSchema, req.body);
    } else throw new AgentError("ERR_UNSUPPORTED_MEDIA_TYPE", "send the answer as application/x-www-form-urlencoded (OpenID4VP direct_post) or application/json");
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
    await deps.sessions.put(session.requestId, { ...session, status: "accepted", grantId, responseCodeHash: codeHash, responseCodeExpiresAt: codeExpiresAt });
    res.json({
      status: "accepted",
      redirect_uri: session.fromCheckout ? `${deps.publicUrl()}/checkout/${session.requestId}?response_code=${responseCode}` : `${deps.publicUrl()}/requests/${session.requestId}/result?response_code=${responseCode}`,
      grantId,
      grantReceipt: grantReceipt.jwt,
      grant_receipt_uri: `${deps.publicUrl()}/grants/${grantId}/receipt`,
      anchors: { ...(consentAnchor ? { consent: consentAnchor.status } : {}), grant: grantAnchor.status },
    });
  }));

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
    await deps.sessions.put(session.requestId, { ...session, status: "declined", declinedWith: decline.error });
    return { status: "declined", ...(session.fromCheckout ? { redirect_uri: `${deps.publicUrl()}/checkout/${session.requestId}` } : {}) };
  }

  /** A grant receipt, offered to the wallet for later (`grant_receipt_uri`): the grant id is unguessable. */
  app.get("/grants/:id/receipt", handle(async (req, res) => {
    const stored = await deps.grants.get(parseInput(idParam, req.params.id));
    if (!stored) throw new AgentError("ERR_GRANT_NOT_FOUND", "no such grant");
    res.set("cache-control", "no-store").json({ grantReceipt: stored.grantReceipt });
  }));

  /**
   * The result: with the wallet's one-time response code (the redirect), what the person granted; with the
   * transaction secret alone, the status and level only. The merchant's own records keep the values.
   */
  app.get("/requests/:id/result", handle(async (req, res) => {
    const session = await loadSession(req.params.id as string);
    res.set("cache-control", "no-store");
    const code = req.query.response_code;
    if (code !== undefined) {
      if (typeof code !== "string" || !(await redeemResponseCode(session, code))) throw new AgentError("ERR_RESPONSE_CODE_INVALID", "this response code is unknown, already used or expired");
      return void res.json(await resultOf(session, { withValues: true }));
    }
    const secret = req.get("x-transaction-secret");
    if (secret === undefined || sha256Hex(secret) !== session.transactionSecretHash) throw new AgentError("ERR_FORBIDDEN", "the result is for the merchant's front end (transaction secret or response code) only");
    res.json(await resultOf(session, { withValues: false }));
  }));

  /** The wallet's response code for `session`: true once, within its validity (taken atomically). */
  async function redeemResponseCode(session: Session, code: string): Promise<boolean> {
    const hash = sha256Hex(code);
    if (code.length > 128 || session.responseCodeHash !== hash) return false;
    const spent = await deps.nonces.take(`rc:${hash}`);
    return spent?.requestId === session.requestId && (spent.expiresAt ?? 0) > clock().getTime();
  }

  /** Inclusion proof of a receipt by its hash: salts and Merkle path only, no personal data. */
  app.get("/anchors/:hash", handle(async (req, res) => {
    const hash = parseInput(z.string().regex(/^[0-9a-f]{64}$/), req.params.hash);
    const record = await deps.queue.get(hash);
    if (!record) throw new AgentError("ERR_RECEIPT_NOT_FOUND", "no receipt with this hash");
    res.json(record);
  }));

  /** The person withdraws a grant: the merchant deletes its copy, acknowledges with a signed receipt, anchors both. */
  app.post("/grants/:id/withdrawal", requireJson, handle(async (req, res) => {
    const grantId = parseInput(idParam, req.params.id);
    const { withdrawalReceipt } = parseInput(z.object({ withdrawalReceipt: z.string().min(1).max(32_768) }).strict(), req.body);
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
    res.json({ status: "withdrawn", acknowledgement: ack.jwt });
  }));

  app.get("/grants/:id", handle(async (req, res) => {
    const stored = await deps.grants.get(parseInput(idParam, req.params.id));
    if (!stored) throw new AgentError("ERR_GRANT_NOT_FOUND", "no such grant");
    res.json({ grantId: stored.grantId, level: stored.level, holdsIdentityData: !!stored.sealedClaims, claimNames: stored.sealedClaims ? Object.keys(JSON.parse(deps.seal.decrypt(stored.sealedClaims))) : Object.keys(stored.claims), withdrawn: !!stored.withdrawal, withdrawnAt: stored.withdrawal?.at });
  }));

  /** Login to a pseudonymous account: a single-use challenge signed by the pseudonym's key; no personal data. */
  app.post("/login/challenges", handle(async (_req, res) => {
    res.status(201).json(await openChallenge());
  }));
  app.get("/login/challenges/:id", handle(async (req, res) => {
    const c = await deps.challenges.get(parseInput(idParam, req.params.id));
    if (!c || c.expiresAt <= Math.floor(clock().getTime() / 1000)) throw new AgentError("ERR_CHALLENGE_NOT_FOUND", "no such open login challenge");
    res.json(c.status === "pending" ? { nonce: c.nonce, merchant: deps.merchant.did, responseUri: `${deps.publicUrl()}/login/challenges/${c.challengeId}/response` } : { status: c.status, pseudonym: c.pseudonym });
  }));
  app.post("/login/challenges/:id/response", requireJson, handle(async (req, res) => {
    const id = parseInput(idParam, req.params.id);
    const { proof } = parseInput(z.object({ proof: z.string().min(1).max(8192) }).strict(), req.body);
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
    res.json({ status: "logged-in", account: { pseudonym: updated.pseudonym, openedAt: updated.openedAt, visits: updated.visits } });
  }));

  /**
   * Registered notaries (authenticated by a DID signature over this very request, checked against the
   * issuer's registry) read the receipts about one grant, one pseudonymous account or a time range.
   */
  const receiptQuery = z
    .object({ grantId: z.string().uuid().optional(), pseudonym: z.string().startsWith("did:key:").max(200).optional(), from: z.string().datetime().optional(), to: z.string().datetime().optional() })
    .strict()
    .refine((q) => q.grantId || q.pseudonym || q.from || q.to, "name a grant, a pseudonym or a time range");
  app.get("/notary/receipts", handle(async (req, res) => {
    const notary = await deps.notaries.authenticate(req.get("authorization"), req.method, req.originalUrl);
    const q = parseInput(receiptQuery, req.query);
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
    deps.log?.(JSON.stringify({ t: new Date().toISOString(), event: "notary-access", notary, receipts: receipts.length }));
    res.json({ notary, receipts });
  }));

  if (deps.checkout) {
    app.use("/assets", assets());
    app.use("/checkout", checkoutRouter({ ...deps, checkout: deps.checkout, clock, openRequest, resultOf, openChallenge, loadSession, redeemResponseCode }));
  }

  app.use(notFound);
  app.use(errorHandler(deps.log));

  async function loadSession(id: string): Promise<Session> {
    const requestId = parseInput(idParam, id);
    const session = await deps.sessions.get(requestId);
    if (!session) throw new AgentError("ERR_REQUEST_NOT_FOUND", "no such request");
    return session;
  }

  return app;
}
