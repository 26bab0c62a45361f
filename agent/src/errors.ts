/**
 * One error class with a stable `code` (after panva/jose): callers and tests branch on `code`, never on
 * the message. Services map codes to HTTP statuses in one place (see `httpStatusFor`).
 */
export class AgentError extends Error {
  /** Stable, machine-readable code, e.g. `ERR_NONCE_REUSED`. */
  readonly code: string;
  /** Extra context safe to show to the caller (never personal data, never secrets). */
  readonly details?: unknown;

  constructor(code: string, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Input failed validation; `problems` lists every missing or bad field, not only the first. */
export class InvalidInputError extends AgentError {
  readonly problems: Array<{ path: string; problem: string }>;
  constructor(problems: Array<{ path: string; problem: string }>, message = "the input is incomplete or malformed") {
    super("ERR_INVALID_INPUT", message, { problems });
    this.problems = problems;
  }
}

/** A verification rule refused; `code` names the rule. */
export class VerificationFailedError extends AgentError {
  readonly errors: VerificationIssue[];
  constructor(errors: VerificationIssue[]) {
    super(errors[0]?.code ?? "ERR_VERIFICATION_FAILED", errors.map((e) => e.message).join("; "), { errors });
    this.errors = errors;
  }
}

/** The chain (or another upstream) could not be reached or answered wrongly. */
export class UpstreamError extends AgentError {}

export interface VerificationIssue {
  code: string;
  message: string;
}

/** HTTP status for an error code; everything unknown is a 500 (and is a bug to be fixed). */
export function httpStatusFor(code: string): number {
  if (code === "ERR_BODY_TOO_LARGE" || code === "ERR_IMAGE_TOO_LARGE") return 413;
  // A face that cannot be used (none, several, not an image, failed liveness) is unprocessable input, not a missing resource.
  if (code === "ERR_FACE_NOT_FOUND" || code === "ERR_FACE_MULTIPLE" || code === "ERR_IMAGE_UNREADABLE" || code.startsWith("ERR_LIVENESS_")) return 422;
  if (code === "ERR_INVALID_INPUT" || code === "ERR_BAD_JSON") return 400;
  if (code === "ERR_UNSUPPORTED_MEDIA_TYPE") return 415;
  if (code.startsWith("ERR_NOT_FOUND") || code.endsWith("_NOT_FOUND")) return 404;
  if (code === "ERR_UNAUTHORIZED" || code === "ERR_OAUTH_INVALID_TOKEN" || code === "ERR_SESSION_EXPIRED") return 401;
  if (code === "ERR_WALLET_LOCKED") return 429;
  // Refused signed requests for a trace (a person's own, a notary's legal request) are all "forbidden".
  if (code.startsWith("ERR_LEGAL_REQUEST_") || code.startsWith("ERR_TRACE_REQUEST_") || code === "ERR_NOTARY_NOT_REGISTERED" || code === "ERR_LEGAL_BASIS_MISSING") return 403;
  if (code === "ERR_FORBIDDEN" || code === "ERR_FORBIDDEN_ORIGIN" || code === "ERR_FORBIDDEN_HOST" || code === "ERR_RISK_REFUSED" || code.startsWith("ERR_DEVICE_")) return 403;
  if (code === "ERR_RESPONSE_CODE_INVALID") return 403;
  if (code === "ERR_RATE_LIMITED") return 429;
  if (code === "ERR_CHAIN_UNAVAILABLE" || code === "ERR_UPSTREAM" || code === "ERR_STORAGE_UNAVAILABLE" || code === "ERR_ISSUER_METADATA_UNAVAILABLE" || code === "ERR_REGISTRY_UPSTREAM") return 503;
  if (code === "ERR_CONFLICT" || code === "ERR_NONCE_REUSED" || code === "ERR_STORE_IN_USE" || code === "ERR_IDENTITY_CONFLICT") return 409;
  if (code === "ERR_REPLAYED") return 409;
  if (code === "ERR_IDENTITY_ITEMS_REQUIRED") return 422;
  if (code === "ERR_IDENTITY_NOT_CONFIRMED" || code === "ERR_FACE_NOT_CONFIRMED" || code === "ERR_ATTESTATION_REGISTRY_MISMATCH") return 422;
  if (code === "ERR_REQUEST_EXPIRED") return 410;
  if (code.startsWith("ERR_")) return 400;
  return 500;
}
