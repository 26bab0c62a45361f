import { AsyncLocalStorage } from "node:async_hooks";
import { isIP } from "node:net";
import { AgentError, UpstreamError } from "../errors.js";

/**
 * The one way anything here fetches from the network (wallet, verifier, issuer, notary, and the
 * @openid4vc libraries through their `fetch` callback):
 * - https only; plain http only to a loopback address and only when the call's policy allows it (a
 *   development setup on one machine), decided per call, never for the whole process;
 * - redirects handled by hand: followed only within the same origin, never to another host, never to a
 *   private or loopback address;
 * - one time limit for the whole exchange, body included;
 * - a size cap enforced while the body streams in: the connection is aborted at the cap, not after reading.
 */
export interface FetchPolicy {
  /** Allow plain http to 127.0.0.0/8, ::1 and localhost for this call (development). Default: no. */
  allowLoopbackHttp?: boolean;
  /** Milliseconds for the whole exchange, body included (default 10 s). */
  timeoutMs?: number;
  /** Largest body accepted, bytes (default 2 MB). */
  maxBytes?: number;
  /** Same-origin redirects followed at most (default 3). */
  maxRedirects?: number;
}

export const FETCH_DEFAULTS = { timeoutMs: 10_000, maxBytes: 2_000_000, maxRedirects: 3 } as const;

const LOOPBACK_NAMES = new Set(["localhost", "localhost.", "127.0.0.1", "::1", "[::1]"]);

/** A loopback host: localhost, 127.0.0.0/8, ::1 (also IPv4-mapped). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (LOOPBACK_NAMES.has(host) || host.endsWith(".localhost")) return true;
  const v4 = host.startsWith("::ffff:") ? host.slice(7) : host;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/** A host that is loopback, private, link-local, carrier-grade NAT, unspecified or unique-local. */
export function isPrivateHost(hostname: string): boolean {
  if (isLoopbackHost(hostname)) return true;
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const v4 = host.startsWith("::ffff:") ? host.slice(7) : host;
  if (isIP(v4) === 4) {
    const [a, b] = v4.split(".").map(Number) as [number, number];
    return a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
  }
  if (isIP(host) === 6) return host === "::" || /^f[cd]/.test(host) || /^fe[89ab]/.test(host);
  return false;
}

/** True for an http URL on a loopback host: what a developer's machine uses. */
export function isLoopbackHttpUrl(url: string | undefined): boolean {
  try {
    const u = new URL(url ?? "");
    return u.protocol === "http:" && isLoopbackHost(u.hostname);
  } catch {
    return false;
  }
}

/** Refuses a URL the policy does not allow (scheme and host), before any connection. */
export function checkFetchUrl(url: URL, policy: FetchPolicy): void {
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) {
    if (policy.allowLoopbackHttp) return;
    throw new AgentError("ERR_FETCH_INSECURE", `plain http to ${url.host} is allowed only in development (this call does not allow it)`);
  }
  throw new AgentError("ERR_FETCH_INSECURE", `only https URLs are fetched (${url.protocol}//${url.host} refused)`);
}

/**
 * Fetches `input` under `policy`; the answer's body is already read (within the cap), so it can be read
 * again freely. Refusals: ERR_FETCH_INSECURE, ERR_FETCH_REDIRECT_CROSS_HOST, ERR_FETCH_REDIRECT_PRIVATE,
 * ERR_FETCH_TOO_MANY_REDIRECTS, ERR_FETCH_TIMEOUT, ERR_FETCH_TOO_LARGE; an unreachable host is ERR_UPSTREAM.
 */
export async function boundedFetch(input: string | URL | Request, init: RequestInit = {}, callPolicy: FetchPolicy = {}): Promise<Response> {
  // What the call says wins; what it leaves open comes from the call chain it runs in (withFetchPolicy).
  const policy: FetchPolicy = { ...currentFetchPolicy(), ...stripUndefined(callPolicy) };
  const timeoutMs = policy.timeoutMs ?? FETCH_DEFAULTS.timeoutMs;
  const maxBytes = policy.maxBytes ?? FETCH_DEFAULTS.maxBytes;
  const maxRedirects = policy.maxRedirects ?? FETCH_DEFAULTS.maxRedirects;
  let request: RequestInit = init;
  if (input instanceof Request) {
    const body = input.method === "GET" || input.method === "HEAD" ? undefined : await input.arrayBuffer();
    request = { method: input.method, headers: input.headers, body, ...init };
  }
  let url = new URL(input instanceof Request ? input.url : String(input));
  checkFetchUrl(url, policy);
  const origin = url.origin;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
  try {
    for (let hop = 0; ; hop++) {
      let response: Response;
      try {
        response = await fetch(url, { ...request, redirect: "manual", signal });
      } catch (cause) {
        if (timedOut) throw new AgentError("ERR_FETCH_TIMEOUT", `${url.origin} did not answer within ${timeoutMs} ms`);
        throw new UpstreamError("ERR_UPSTREAM", `${url.origin} cannot be reached`, undefined, { cause });
      }
      if (response.status >= 300 && response.status < 400 && response.headers.has("location")) {
        await response.body?.cancel().catch(() => undefined);
        const next = new URL(response.headers.get("location")!, url);
        if (next.origin !== origin) {
          if (isPrivateHost(next.hostname)) throw new AgentError("ERR_FETCH_REDIRECT_PRIVATE", `${url.host} redirected to a private address (${next.hostname}); not followed`);
          throw new AgentError("ERR_FETCH_REDIRECT_CROSS_HOST", `${url.host} redirected to another host (${next.host}); not followed`);
        }
        if (hop + 1 > maxRedirects) throw new AgentError("ERR_FETCH_TOO_MANY_REDIRECTS", `more than ${maxRedirects} redirects`);
        checkFetchUrl(next, policy);
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && request.method && request.method !== "GET" && request.method !== "HEAD")) {
          request = { ...request, method: "GET", body: undefined };
        }
        url = next;
        continue;
      }
      const body = await readCapped(response, maxBytes, controller, () => timedOut, timeoutMs);
      const nullBody = response.status === 204 || response.status === 205 || response.status === 304;
      const answer = new Response(nullBody ? null : (body as BodyInit), { status: response.status, statusText: response.statusText, headers: response.headers });
      Object.defineProperty(answer, "url", { value: url.href });
      return answer;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the body chunk by chunk and aborts the connection as soon as it passes `maxBytes`. */
async function readCapped(response: Response, maxBytes: number, controller: AbortController, timedOut: () => boolean, timeoutMs: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    controller.abort();
    throw new AgentError("ERR_FETCH_TOO_LARGE", `the answer is larger than ${maxBytes} bytes`, { readBytes: 0, maxBytes });
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        controller.abort();
        throw new AgentError("ERR_FETCH_TOO_LARGE", `the answer is larger than ${maxBytes} bytes; reading stopped at the cap`, { readBytes: total, maxBytes });
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof AgentError) throw error;
    if (timedOut()) throw new AgentError("ERR_FETCH_TIMEOUT", `the answer did not arrive within ${timeoutMs} ms`);
    throw new UpstreamError("ERR_UPSTREAM", "the connection broke while reading the answer", undefined, { cause: error });
  }
  return Buffer.concat(chunks);
}

/** A `fetch` with `policy` built in: for the libraries' callbacks and for injection. */
export function boundedFetcher(policy: FetchPolicy = {}): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) => boundedFetch(input, init, policy)) as typeof fetch;
}

function stripUndefined(policy: FetchPolicy): FetchPolicy {
  return Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined)) as FetchPolicy;
}

/**
 * The policy of the call in progress, carried through its awaits (AsyncLocalStorage): the @openid4vc
 * libraries check URLs against a process-global flag, which `callbacks.ts` answers from here, so one
 * call's development permission never leaks into another call running at the same time.
 */
const callPolicy = new AsyncLocalStorage<FetchPolicy>();
export function currentFetchPolicy(): FetchPolicy | undefined {
  return callPolicy.getStore();
}
export function withFetchPolicy<R>(policy: FetchPolicy, fn: () => R): R {
  return callPolicy.run({ ...callPolicy.getStore(), ...stripUndefined(policy) }, fn);
}
/**
 * Runs `fn` with development permission for loopback http if `url` itself is http on loopback (the caller
 * named a loopback URL, so it is working on one machine). The permission holds inside `fn`'s async chain
 * only: it ends when `fn` settles, and other calls in flight never see it.
 */
export function withLoopbackHttpIf<R>(url: string, fn: () => R): R {
  return isLoopbackHttpUrl(url) ? withFetchPolicy({ allowLoopbackHttp: true }, fn) : fn();
}
