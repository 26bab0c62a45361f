import type { DocumentStore } from "@realname/agent";

/** What expires in the verifier: an open request (its session and nonce), a login challenge, a response code. */
export interface ExpiryEntry {
  kind: "request" | "challenge" | "response-code";
  id: string;
}

/**
 * The index key of something that expires at `atMs`: keys sort by time, so the sweep reads the oldest first
 * and stops at the first one still alive (bounded work, no full scan of the stores).
 */
export function expiryKey(atMs: number, kind: ExpiryEntry["kind"], id: string): string {
  return `${String(Math.max(0, Math.floor(atMs))).padStart(16, "0")}:${kind}:${id}`;
}

export interface SweepStores {
  expiries: DocumentStore<ExpiryEntry>;
  sessions: DocumentStore<{ request: { exp: number; nonce: string }; responseCodeExpiresAt?: number }>;
  nonces: DocumentStore<unknown>;
  challenges: DocumentStore<{ expiresAt: number }>;
}

export interface SweepReport {
  requests: number;
  challenges: number;
  responseCodes: number;
  /** More expired entries wait for the next run (this one hit its limit). */
  more: boolean;
}

/**
 * How long an expired request or challenge is kept before it goes: a late answer or a checkout page still
 * hears "expired" (not "no such request") for a while. Expired things are refused by their own checks anyway.
 */
export const EXPIRED_KEPT_SECONDS = 600;

/**
 * Removes what expired more than `graceSeconds` before `now`: requests (session, unused nonce; checkout pages
 * are these sessions), login challenges and response codes. At most `limit` index entries per run. Grants,
 * accounts and receipts are never touched here (retention has its own sweep).
 */
export async function sweepExpired(stores: SweepStores, now: Date, options: { limit?: number; graceSeconds?: number } = {}): Promise<SweepReport> {
  const report: SweepReport = { requests: 0, challenges: 0, responseCodes: 0, more: false };
  const limit = options.limit ?? 500;
  const t = now.getTime() - (options.graceSeconds ?? EXPIRED_KEPT_SECONDS) * 1000;
  const due = await stores.expiries.list({ limit: limit + 1 });
  let processed = 0;
  for (const [key, entry] of due) {
    if (Number(key.slice(0, 16)) > t) return report;
    if (processed === limit) {
      report.more = true;
      return report;
    }
    processed++;
    if (entry.kind === "request") {
      const session = await stores.sessions.get(entry.id);
      // An answered request stays while its response code works (a later index entry covers it).
      if (session && Math.max(session.request.exp * 1000, session.responseCodeExpiresAt ?? 0) <= t) {
        await stores.nonces.del(session.request.nonce);
        await stores.sessions.del(entry.id);
        report.requests++;
      }
    } else if (entry.kind === "challenge") {
      const challenge = await stores.challenges.get(entry.id);
      if (challenge && challenge.expiresAt * 1000 <= t) {
        await stores.challenges.del(entry.id);
        report.challenges++;
      }
    } else if (entry.kind === "response-code") {
      if ((await stores.nonces.take(`rc:${entry.id}`)) !== undefined) report.responseCodes++;
    }
    await stores.expiries.del(key);
  }
  return report;
}
