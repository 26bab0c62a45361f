import { AgentError, UpstreamError } from "../errors.js";

/** JSON over HTTP with a timeout and a response size cap; a service's `{error:{code,message}}` becomes an AgentError. */
export async function fetchJson<T>(url: string, init: { method?: string; body?: unknown; timeoutMs?: number; maxBytes?: number; accept?: string; headers?: Record<string, string> } = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: { accept: init.accept ?? "application/json", ...(init.body === undefined ? {} : { "content-type": "application/json" }), ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(init.timeoutMs ?? 15_000),
    });
  } catch (cause) {
    throw new UpstreamError("ERR_UPSTREAM", `${new URL(url).origin} cannot be reached`, undefined, { cause });
  }
  const text = await response.text();
  if (text.length > (init.maxBytes ?? 2_000_000)) throw new UpstreamError("ERR_UPSTREAM", "the response is too large");
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
