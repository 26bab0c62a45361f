import { Router, type Request, type Response } from "express";
import { AgentError } from "../errors.js";
import { boundedFetch, isLoopbackHttpUrl } from "../http/bounded-fetch.js";
import { handle } from "../http/service-kit.js";

/**
 * A page's own door to the platform (its CSP lets it talk to its own origin only): a fixed list of the
 * platform's terminal calls, forwarded as they are. The relay holds no key and reads nothing: the browser
 * signs, the platform verifies. Answers are passed back with their status and error code.
 */
export function platformRelay(platformUrl: () => string): Router {
  const r = Router();
  const forward = async (res: Response, method: "GET" | "POST", path: string, body?: unknown) => {
    const base = platformUrl();
    const upstream = await boundedFetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }, { allowLoopbackHttp: isLoopbackHttpUrl(base), timeoutMs: 15_000 }).catch((cause) => {
      throw new AgentError("ERR_UPSTREAM", "the payment platform cannot be reached", undefined, { cause });
    });
    const text = await upstream.text();
    res.status(upstream.status >= 500 ? 502 : upstream.status).type("application/json").send(text);
  };
  const post = (path: string) => handle(async (req: Request, res: Response) => forward(res, "POST", path, req.body));
  r.get("/platform", handle(async (_req, res) => forward(res, "GET", "/payments/platform")));
  r.post("/positions", post("/payments/positions"));
  r.post("/opt-in", post("/payments/opt-in"));
  r.post("/in-person", post("/payments/in-person"));
  r.post("/in-person/status", post("/payments/in-person/status"));
  r.post("/peer-answers", post("/payments/peer-answers"));
  r.post("/unlock", post("/payments/unlock"));
  return r;
}
