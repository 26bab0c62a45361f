import express, { type ErrorRequestHandler, type Express, type RequestHandler } from "express";
import helmet from "helmet";
import type { z } from "zod";
import { AgentError, httpStatusFor, InvalidInputError } from "../errors.js";
import { PAGE_CSP } from "../web/security.js";

/**
 * What both services share at the HTTP edge: security headers, a size-limited JSON body, schema
 * validation that lists every problem, one error middleware mapping codes to statuses, and an access log
 * that records method, path template, status and time only, never bodies (no personal data in logs).
 */
export function createServiceApp(options: {
  log?: (line: string) => void;
  bodyLimit?: string;
  rateLimit?: { max: number; windowMs: number };
  /** Exact paths whose route parses its own (larger) JSON body, e.g. a page posting camera frames. */
  ownJsonBody?: readonly string[];
} = {}): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  // One CSP for APIs and pages alike (the pages are served by the same apps).
  // Referrer-Policy same-origin, not helmet's no-referrer: with no-referrer, browsers send `Origin: null` on
  // form posts, and the pages' same-origin check needs the real origin.
  app.use(helmet({ contentSecurityPolicy: PAGE_CSP, referrerPolicy: { policy: "same-origin" } }));
  if (options.rateLimit) app.use(rateLimiter(options.rateLimit));
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      options.log?.(JSON.stringify({ t: new Date().toISOString(), method: req.method, route: req.route?.path ?? "(unmatched)", status: res.statusCode, ms: Math.round(ms * 10) / 10 }));
    });
    next();
  });
  const json = express.json({ limit: options.bodyLimit ?? "100kb", type: ["application/json"] });
  const own = new Set(options.ownJsonBody ?? []);
  app.use((req, res, next) => (own.has(req.path) ? next() : json(req, res, next)));
  return app;
}

/**
 * A fixed-window request budget per client address (429 ERR_RATE_LIMITED with Retry-After). In memory:
 * one process, one budget; a deployment behind a proxy would key on the proxy's client header instead.
 */
export function rateLimiter(limit: { max: number; windowMs: number }): RequestHandler {
  const windows = new Map<string, { start: number; count: number }>();
  return (req, res, next) => {
    const now = Date.now();
    const key = req.socket.remoteAddress ?? "unknown";
    let w = windows.get(key);
    if (!w || now - w.start >= limit.windowMs) {
      if (windows.size > 10_000) windows.clear();
      w = { start: now, count: 0 };
      windows.set(key, w);
    }
    if (++w.count > limit.max) {
      res.set("retry-after", String(Math.ceil((w.start + limit.windowMs - now) / 1000)));
      return next(new AgentError("ERR_RATE_LIMITED", "too many requests from this client; slow down"));
    }
    next();
  };
}

/** Rejects a body that is not JSON (415), before any handler reads it. */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is("application/json")) return next(new AgentError("ERR_UNSUPPORTED_MEDIA_TYPE", "send the body as application/json"));
  next();
};

/** Parses `input` with a zod schema; on failure throws ERR_INVALID_INPUT listing every problem. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new InvalidInputError(
    result.error.issues.map((i) => ({
      path: i.path.join(".") || "(body)",
      problem: i.code === "invalid_type" && /received undefined/.test(i.message) ? "required" : i.message,
    })),
  );
}

/** Wraps an async handler so its rejection reaches the error middleware. */
export const handle =
  (fn: (req: express.Request, res: express.Response) => Promise<void> | void): RequestHandler =>
  (req, res, next) => {
    Promise.resolve(fn(req, res)).catch(next);
  };

export const notFound: RequestHandler = (_req, _res, next) => next(new AgentError("ERR_NOT_FOUND", "no such endpoint"));

/** The one place errors become HTTP responses. Unknown errors are 500s, logged without request data. */
export function errorHandler(log: (line: string) => void = console.error): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    let code: string;
    let message: string;
    let details: unknown;
    if (error instanceof AgentError) {
      ({ code, message, details } = error);
    } else if (error?.type === "entity.too.large") {
      code = "ERR_BODY_TOO_LARGE";
      message = "the request body is too large";
    } else if (error?.type === "entity.parse.failed" || error instanceof SyntaxError) {
      code = "ERR_BAD_JSON";
      message = "the request body is not valid JSON";
    } else if (error?.code === "ENOSPC" || error?.code === "EIO" || /^LEVEL_/.test(String(error?.code ?? ""))) {
      // Storage trouble (disk full, database closed): nothing was acknowledged; the client may retry.
      code = "ERR_STORAGE_UNAVAILABLE";
      message = "the service cannot store data right now; nothing was accepted, try again later";
      log(JSON.stringify({ t: new Date().toISOString(), level: "error", event: "storage-unavailable", reason: String(error?.code) }));
    } else if (typeof error?.status === "number" && error.status >= 400 && error.status < 500) {
      code = "ERR_BAD_REQUEST";
      message = "the request could not be read";
    } else {
      code = "ERR_INTERNAL";
      message = "internal error";
      log(JSON.stringify({ t: new Date().toISOString(), level: "error", error: String(error?.stack ?? error).slice(0, 2000) }));
    }
    const status = code === "ERR_INTERNAL" ? 500 : httpStatusFor(code);
    res.status(status).json({ error: { code, message, ...(details !== undefined ? { details } : {}) } });
  };
}
