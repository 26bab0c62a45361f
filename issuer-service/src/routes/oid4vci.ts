import express, { Router, type ErrorRequestHandler, type Request } from "express";
import { z } from "zod";
import { AgentError, CredentialIssuance, handle, httpStatusFor, parseInput, type HttpRequestLike } from "@realname/agent";
import type { IssuerDeps } from "../deps.js";

function requestLike(deps: IssuerDeps, req: Request): HttpRequestLike {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
  return { method: req.method as "GET" | "POST", url: `${deps.baseUrl()}${req.originalUrl}`, headers };
}

const OAUTH_ERRORS: Record<string, string> = {
  ERR_OAUTH_INVALID_GRANT: "invalid_grant",
  ERR_OAUTH_UNSUPPORTED_GRANT: "unsupported_grant_type",
  ERR_OAUTH_INVALID_TOKEN: "invalid_token",
  ERR_PROOF_MISSING: "invalid_proof",
  ERR_PROOF_NONCE: "invalid_nonce",
  ERR_PROOF_KEYS_REUSED: "invalid_proof",
  ERR_PROOF_ALG: "invalid_proof",
  ERR_PROOF_INVALID: "invalid_proof",
  ERR_UNSUPPORTED_KEY: "invalid_proof",
  ERR_BATCH_TOO_LARGE: "invalid_credential_request",
  // OpenID4VCI 1.0 §8.3.1.2: the Credential Error Response codes, with 400.
  ERR_UNKNOWN_CREDENTIAL_CONFIGURATION: "unknown_credential_configuration",
  ERR_UNKNOWN_CREDENTIAL_IDENTIFIER: "unknown_credential_identifier",
};

/** OAuth and OpenID4VCI clients expect `{error, error_description}`; our code travels alongside. */
const OAUTH_PATHS = new Set(["/token", "/nonce", "/credential"]);
const oauthErrors: ErrorRequestHandler = (error, req, res, next) => {
  if (!OAUTH_PATHS.has(req.path)) return next(error);
  if (error instanceof AgentError) {
    res.status(httpStatusFor(error.code)).json({ error: OAUTH_ERRORS[error.code] ?? "invalid_request", error_description: error.message, code: error.code });
    return;
  }
  const oauth = (error as { errorResponse?: { error?: string; error_description?: string }; statusCode?: number })?.errorResponse;
  if (oauth?.error) {
    res.status(oauth.error === "invalid_token" ? 401 : 400).json({ ...oauth, code: "ERR_OAUTH" });
    return;
  }
  // The libraries' own error classes (by class name: they are not all exported) are client errors.
  const kind = `${error?.constructor?.name ?? ""} ${error?.name ?? ""}`;
  if (/Oauth2ResourceUnauthorized/.test(kind)) {
    res.status(401).set("www-authenticate", "Bearer").json({ error: "invalid_token", error_description: "the access token is missing, invalid or expired", code: "ERR_OAUTH_INVALID_TOKEN" });
    return;
  }
  if (/ValidationError|Openid4vci|Oauth2|Jwt|Jws/.test(kind)) {
    res.status(400).json({ error: "invalid_request", error_description: String(error.message).slice(0, 300), code: "ERR_OAUTH" });
    return;
  }
  next(error);
};

/** OpenID4VCI pre-authorized code flow: offer by reference (+QR), token, nonce, credential (a batch). */
export function oid4vciRoutes(deps: IssuerDeps): Router {
  const r = Router();
  const offerId = z.string().uuid();
  r.get("/offers/:id", handle(async (req, res) => void res.json(await deps.issuance.offerObject(parseInput(offerId, req.params.id)))));
  r.get("/offers/:id/qr.png", handle(async (req, res) => {
    const id = parseInput(offerId, req.params.id);
    await deps.issuance.offerObject(id);
    const link = `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(`${deps.baseUrl()}/offers/${id}`)}`;
    res.type("image/png").set("cache-control", "no-store").send(await CredentialIssuance.qrPng(link));
  }));
  r.post("/token", express.urlencoded({ extended: false, limit: "10kb" }), handle(async (req, res) => {
    res.set("cache-control", "no-store").json(await deps.issuance.token(req.body ?? {}, requestLike(deps, req)));
  }));
  r.post("/nonce", handle(async (_req, res) => void res.set("cache-control", "no-store").json(await deps.issuance.nonce())));
  r.post("/credential", handle(async (req, res) => {
    res.set("cache-control", "no-store").json(await deps.issuance.credential(req.body ?? {}, requestLike(deps, req)));
  }));
  r.use(oauthErrors);
  return r;
}
