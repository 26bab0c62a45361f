import { AgentError, UpstreamError } from "../errors.js";
import { boundedFetch, isLoopbackHttpUrl } from "./bounded-fetch.js";

/**
 * JSON over HTTP through the bounded fetch (https only, redirects within the origin only, a time limit, a
 * size cap while streaming); a service's `{error:{code,message}}` becomes an AgentError. Plain http is
 * allowed when the caller says so (`allowLoopbackHttp`), or, by default, when the URL the caller passed is
 * itself http on loopback (the caller named a local service: development); never for a redirect elsewhere.
 */
export async function fetchJson<T>(url: string, init: { method?: string; body?: unknown; timeoutMs?: number; maxBytes?: number; accept?: string; headers?: Record<string, string>; allowLoopbackHttp?: boolean } = {}): Promise<T> {
  const response = await boundedFetch(
    url,
    {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: { accept: init.accept ?? "application/json", ...(init.body === undefined ? {} : { "content-type": "application/json" }), ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    },
    { timeoutMs: init.timeoutMs ?? 15_000, maxBytes: init.maxBytes ?? 2_000_000, allowLoopbackHttp: init.allowLoopbackHttp ?? (isLoopbackHttpUrl(url) || undefined) },
  );
  const text = await response.text();
  let body: unknown = text;
  if ((response.headers.get("content-type") ?? "").includes("json")) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new UpstreamError("ERR_UPSTREAM", "the response is not valid JSON");
    }
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string; details?: unknown } })?.error;
    throw new AgentError(error?.code ?? "ERR_UPSTREAM", error?.message ?? `HTTP ${response.status}`, error?.details);
  }
  return body as T;
}
