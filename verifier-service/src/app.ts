import express from "express";
import QRCode from "qrcode";
import { z } from "zod";
import { AgentError, createServiceApp, errorHandler, handle, notFound, parseAuthorizationResponse, parseInput, RESPONSE_MODE_ENCRYPTED, x509ClientIdFor, requireJson, sha256Hex, webAssets as assets } from "@realname/agent";
import { checkoutRouter, type CheckoutConfig } from "./checkout.js";
import { posRouter, type PosConfig } from "./pos.js";
import { createRequestSchema, createVerifierCore, idParam, responseSchema, type VerifierCoreDeps } from "./core.js";

export type { Account, LoginChallenge, RequestResult, Session, StoredGrant } from "./core.js";

export interface VerifierDeps extends VerifierCoreDeps {
  /** The in-person payment page at /pos (seed 003), talking to this payment platform; absent: no page. */
  pos?: PosConfig;
  rateLimit?: { max: number; windowMs: number };
  /** The demo checkout page (what this merchant asks for, and where a web wallet lives); off when absent. */
  checkout?: CheckoutConfig;
}

/**
 * The merchant's verifier over HTTP: each route parses its input and hands it to the core (core.ts), which
 * does the work over `agent/`; the checkout pages use the same core.
 */
export function createApp(deps: VerifierDeps) {
  const core = createVerifierCore(deps);
  const { clock, loadSession } = core;
  const userInitiatedSchema = z.object({ level: z.enum(["verified", "pseudonymous"]) }).strict();
  const app = createServiceApp({ log: deps.log, rateLimit: deps.rateLimit });

  app.get("/health", handle(async (_req, res) => {
    res.json({ status: "ok", role: "verifier", did: deps.merchant.did, anchoring: await deps.queue.backlog() });
  }));

  app.get("/.well-known/merchant", (_req, res) => {
    res.json({ did: deps.merchant.did, name: deps.merchant.name, trustedIssuers: deps.trustedIssuers, ...(deps.merchant.x509 ? { clientId: x509ClientIdFor(deps.merchant.x509) } : {}) });
  });

  /** The merchant's front end asks for a grant; the wallet gets an `openid4vp://` link (or its QR code). */
  app.post("/requests", requireJson, handle(async (req, res) => {
    res.status(201).json(await core.openRequest(parseInput(createRequestSchema, req.body)));
  }));

  /**
   * A grant the person starts (seed 000, user-initiated): the wallet asks this merchant for a fresh request at
   * the level the person chose (`verified` or `pseudonymous`), then reviews and answers it like any other. The
   * merchant decides the terms: the purpose and retention of its own offer at that level (a level it offers no
   * way to take is refused, ERR_LEVEL_NOT_ACCEPTED, nothing stored). `full` is never started unsolicited: the
   * merchant names the identity claims it needs. Public, like the checkout; the answer still needs the person's PIN.
   */
  app.post("/requests/user-initiated", requireJson, handle(async (req, res) => {
    const { level } = parseInput(userInitiatedSchema, req.body);
    const offer = deps.checkout?.offers.find((o) => o.level === level);
    if (!offer) throw new AgentError("ERR_LEVEL_NOT_ACCEPTED", `this merchant takes no unsolicited ${level} grant`);
    const created = await core.openRequest({ level, purpose: offer.purpose, retentionDays: offer.retentionDays, claims: [], ageOver18: offer.ageOver18, acceptLevels: [], optionalClaims: [] });
    // The transaction secret stays here: the wallet needs only the request; the merchant reads its grants itself.
    res.status(201).json({ requestId: created.requestId, authorizationRequest: created.authorizationRequest, requestUri: created.requestUri, expiresAt: created.expiresAt });
  }));

  app.get("/requests/:id/qr.png", handle(async (req, res) => {
    const session = await loadSession(req.params.id as string);
    res.type("image/png").set("cache-control", "no-store").send(await QRCode.toBuffer(session.authorizationRequest, { errorCorrectionLevel: "M", margin: 2, scale: 5 }));
  }));

  /** The signed request, by reference. */
  app.get("/requests/:id", handle(async (req, res) => {
    const session = await loadSession(req.params.id as string);
    if (session.request.exp <= Math.floor(clock().getTime() / 1000)) throw new AgentError("ERR_REQUEST_EXPIRED", "this request has expired");
    if (session.cancelledAt) throw new AgentError("ERR_REQUEST_EXPIRED", "the customer cancelled this request");
    // Recorded before the object is sent, so a checkout polling its status sees "scanned" no later than the wallet has it.
    if (!session.fetchedAt && session.status === "pending") await deps.sessions.put(session.requestId, { ...session, fetchedAt: clock().toISOString() });
    res.type("application/oauth-authz-req+jwt").send(session.requestJwt);
  }));

  /**
   * The wallet's answer: OpenID4VP 1.0 `direct_post` (form fields `vp_token` and `state`; our wallet adds the
   * optional `consent_receipt` and `pairwise_proof`), or the same values as JSON; or a decline (`error`, e.g.
   * `access_denied`, with `state`), answered 200 as §8.2 requires and recorded. A `direct_post.jwt` request
   * takes the same parameters only inside a JWE to its own key (`response`, §8.3.1), and nothing else.
   * Verified completely before anything is stored.
   */
  app.post("/requests/:id/response", express.urlencoded({ extended: false, limit: "160kb" }), handle(async (req, res) => {
    const session = await loadSession(req.params.id as string);
    if (session.cancelledAt) throw new AgentError("ERR_REQUEST_EXPIRED", "the customer cancelled this request");
    let body: z.infer<typeof responseSchema>;
    const encrypted = session.payload.response_mode === RESPONSE_MODE_ENCRYPTED;
    if (req.is("application/x-www-form-urlencoded")) {
      const form = encrypted ? await core.openEncryptedAnswer(session, req.body as Record<string, unknown>) : (req.body as Record<string, unknown>);
      if (!encrypted && (req.body as Record<string, unknown>).response !== undefined) throw new AgentError("ERR_RESPONSE_ENCRYPTION_UNEXPECTED", "this request asked for a plain direct_post answer, not an encrypted one");
      if (form.state !== session.requestId) throw new AgentError("ERR_VP_RESPONSE_INVALID", "the response's state does not belong to this request");
      if (form.error !== undefined) return void res.json(await core.recordDecline(session, form));
      const parsed = parseAuthorizationResponse(form, session.payload);
      body = parseInput(responseSchema, { presentation: parsed.presentation, ...(parsed.consentReceipt !== undefined ? { consentReceipt: parsed.consentReceipt } : {}), ...(parsed.pairwiseProof !== undefined ? { pairwiseProof: parsed.pairwiseProof } : {}) });
    } else if (req.is("application/json")) {
      if (encrypted) throw new AgentError("ERR_RESPONSE_ENCRYPTION_REQUIRED", "this request takes only an encrypted answer (direct_post.jwt)");
      body = parseInput(responseSchema, req.body);
    } else throw new AgentError("ERR_UNSUPPORTED_MEDIA_TYPE", "send the answer as application/x-www-form-urlencoded (OpenID4VP direct_post) or application/json");
    res.json(await core.acceptAnswer(session, body));
  }));

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
      if (typeof code !== "string" || !(await core.redeemResponseCode(session, code))) throw new AgentError("ERR_RESPONSE_CODE_INVALID", "this response code is unknown, already used or expired");
      return void res.json(await core.resultOf(session, { withValues: true }));
    }
    const secret = req.get("x-transaction-secret");
    if (secret === undefined || sha256Hex(secret) !== session.transactionSecretHash) throw new AgentError("ERR_FORBIDDEN", "the result is for the merchant's front end (transaction secret or response code) only");
    res.json(await core.resultOf(session, { withValues: false }));
  }));

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
    res.json(await core.withdraw(grantId, withdrawalReceipt));
  }));

  app.get("/grants/:id", handle(async (req, res) => {
    const stored = await deps.grants.get(parseInput(idParam, req.params.id));
    if (!stored) throw new AgentError("ERR_GRANT_NOT_FOUND", "no such grant");
    res.json({ grantId: stored.grantId, level: stored.level, holdsIdentityData: !!stored.sealedClaims, claimNames: stored.sealedClaims ? Object.keys(JSON.parse(deps.seal.decrypt(stored.sealedClaims))) : Object.keys(stored.claims), withdrawn: !!stored.withdrawal, withdrawnAt: stored.withdrawal?.at });
  }));

  /** Login to a pseudonymous account: a single-use challenge signed by the pseudonym's key; no personal data. */
  app.post("/login/challenges", handle(async (_req, res) => {
    res.status(201).json(await core.openChallenge());
  }));
  app.get("/login/challenges/:id", handle(async (req, res) => {
    const c = await deps.challenges.get(parseInput(idParam, req.params.id));
    if (!c || c.expiresAt <= Math.floor(clock().getTime() / 1000)) throw new AgentError("ERR_CHALLENGE_NOT_FOUND", "no such open login challenge");
    res.json(c.status === "pending" ? { nonce: c.nonce, merchant: deps.merchant.did, responseUri: `${deps.publicUrl()}/login/challenges/${c.challengeId}/response` } : { status: c.status, pseudonym: c.pseudonym });
  }));
  app.post("/login/challenges/:id/response", requireJson, handle(async (req, res) => {
    const id = parseInput(idParam, req.params.id);
    const { proof } = parseInput(z.object({ proof: z.string().min(1).max(8192) }).strict(), req.body);
    res.json(await core.login(id, proof));
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
    const receipts = await core.notaryReceipts(q);
    deps.log?.(JSON.stringify({ t: new Date().toISOString(), event: "notary-access", notary, receipts: receipts.length }));
    res.json({ notary, receipts });
  }));

  if (deps.checkout) {
    app.use("/assets", assets());
    app.use("/checkout", checkoutRouter({ ...deps, checkout: deps.checkout, core }));
  }

  if (deps.pos) {
    if (!deps.checkout) app.use("/assets", assets());
    app.use("/pos", posRouter({ ...deps.pos, merchantName: deps.merchant.name }));
  }

  app.use(notFound);
  app.use(errorHandler(deps.log));

  return app;
}
