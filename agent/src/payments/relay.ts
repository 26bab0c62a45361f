import { Router, type Request, type Response } from "express";
import { AgentError } from "../errors.js";
import { boundedFetch, isLoopbackHttpUrl } from "../http/bounded-fetch.js";
import { handle } from "../http/service-kit.js";

/**
 * A page's own door to the platform (its CSP lets it talk to its own origin only): a fixed list of the
 * platform's terminal calls, forwarded as they are. The relay holds no key and reads nothing: the browser
 * signs, the platform verifies. Answers are passed back with their status and error code.
 */
/** The platform's terminal calls a page may relay; each page relays only its own terminal's. */
export type RelayedCall = "positions" | "opt-in" | "in-person" | "in-person-status" | "peer-answers" | "unlock";
/** A till: reports, opt-in, starting a payment and reading its state, answering as a peer. */
export const POS_CALLS: readonly RelayedCall[] = ["positions", "opt-in", "in-person", "in-person-status", "peer-answers"];
/** A wallet: reports, opt-in, answering as a peer, unlocking its own payments (never starting one). */
export const WALLET_CALLS: readonly RelayedCall[] = ["positions", "opt-in", "peer-answers", "unlock"];

export function platformRelay(platformUrl: () => string, calls: readonly RelayedCall[]): Router {
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
  const routes: Record<RelayedCall, [string, string]> = {
    positions: ["/positions", "/payments/positions"],
    "opt-in": ["/opt-in", "/payments/opt-in"],
    "in-person": ["/in-person", "/payments/in-person"],
    "in-person-status": ["/in-person/status", "/payments/in-person/status"],
    "peer-answers": ["/peer-answers", "/payments/peer-answers"],
    unlock: ["/unlock", "/payments/unlock"],
  };
  for (const call of calls) r.post(routes[call][0], post(routes[call][1]));
  return r;
}
