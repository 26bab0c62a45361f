/**
 * Hostile parties for tests and drills, as real HTTP servers on loopback:
 * - a registered merchant that swaps its request: it signs (with its own did:key) a `verified` request the
 *   first time the request object is fetched and a `full` one every time after, and records what answers
 *   bring it, so a test can say whether the wallet answered what the person saw;
 * - a phishing page that relays a real merchant's login challenge under its own origin;
 * - a counter: a server that only counts the requests it gets (does a page make the wallet fetch?).
 */
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createAuthorizationRequest,
  createGrantReceipt,
  didKeyFromPublicKey,
  fetchJson,
  fromB64url,
  keyObjectSigner,
  receiptHash,
  type JwsSigner,
} from "@realname/agent";

export interface Answer {
  level: string;
  /** The names of the claims the presentation disclosed. */
  disclosed: string[];
}

export interface SwappingMerchant {
  url: string;
  did: string;
  name: string;
  /** Request objects served, by request id. */
  served: Map<string, number>;
  /** What answers arrived (in order). */
  answers: Answer[];
  /** Requests that did not fetch a request object or post an answer (e.g. the wallet's anchoring refresh). */
  otherRequests: string[];
  /** A fresh swapping request: the link a wallet opens (`openid4vp://?client_id=…&request_uri=…`). */
  newRequest(): Promise<{ requestId: string; link: string; requestUri: string }>;
  close(): Promise<void>;
}

const LEVELS = { verified: { claims: [] as string[] }, full: { claims: ["full_name", "id_number"] } };

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const closer = (server: Server) => () =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new Error("too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The claim names an SD-JWT presentation discloses (its disclosures are `[salt, name, value]`). */
export function disclosedNames(presentation: string): string[] {
  return presentation
    .split("~")
    .slice(1, -1)
    .map((d) => JSON.parse(fromB64url(d).toString("utf8")) as unknown[])
    .filter((d) => d.length === 3)
    .map((d) => String(d[1]));
}

/** A merchant key pair with its did:key (what the issuer's admin registers). */
export function merchantKey(): { did: string; signer: JwsSigner } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { did: didKeyFromPublicKey(fromB64url(publicKey.export({ format: "jwk" }).x as string)), signer: keyObjectSigner(privateKey) };
}

/**
 * Starts the swapping merchant. It is honest in everything but the swap: its requests are genuinely
 * signed, its purpose is `purpose`, and it counter-signs whatever consent it receives.
 */
export async function startSwappingMerchant(args: { name: string; purpose: string; clientName?: string; vct?: string }): Promise<SwappingMerchant> {
  const key = merchantKey();
  const served = new Map<string, number>();
  const answers: Answer[] = [];
  const otherRequests: string[] = [];
  const objects = new Map<string, { verified: string; full: string }>();
  let base = "";
  const server = createServer((req, res) => void handle(req, res).catch(() => res.writeHead(500).end()));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", base).pathname;
    const object = /^\/requests\/([0-9a-f-]{36})$/.exec(path);
    const response = /^\/requests\/([0-9a-f-]{36})\/response$/.exec(path);
    if (req.method === "GET" && object && objects.has(object[1]!)) {
      const n = (served.get(object[1]!) ?? 0) + 1;
      served.set(object[1]!, n);
      // The swap: what the person is shown first, then something else.
      const jwt = n === 1 ? objects.get(object[1]!)!.verified : objects.get(object[1]!)!.full;
      res.writeHead(200, { "content-type": "application/oauth-authz-req+jwt" }).end(jwt);
      return;
    }
    if (req.method === "POST" && response) {
      const text = await readBody(req);
      const form = new URLSearchParams(text);
      const json = (req.headers["content-type"] ?? "").includes("json") ? (JSON.parse(text) as Record<string, string>) : undefined;
      const presentation = json?.presentation ?? (JSON.parse(form.get("vp_token") ?? "{}") as Record<string, string[]>).realname_identity?.[0] ?? "";
      const consentReceipt = json?.consentReceipt ?? form.get("consent_receipt") ?? "";
      const consent = JSON.parse(fromB64url(consentReceipt.split(".")[1] ?? "").toString("utf8") || "{}") as { iss?: string; vc?: { credentialSubject?: { receiptId: string; level: string; claimNames: string[] } } };
      const record = consent.vc?.credentialSubject;
      answers.push({ level: String(record?.level), disclosed: disclosedNames(presentation) });
      const now = new Date();
      const grant = await createGrantReceipt(
        { grantTimestamp: now.toISOString(), consentReceiptId: String(record?.receiptId), consentReceiptHash: receiptHash(consentReceipt), level: (record?.level ?? "verified") as "verified", claimNames: record?.claimNames ?? [], retentionUntil: now.toISOString() },
        String(consent.iss),
        { did: key.did, signer: key.signer },
        now,
      );
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "accepted", grantId: randomUUID(), grantReceipt: grant.jwt }));
      return;
    }
    otherRequests.push(`${req.method} ${path}`);
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "ERR_NOT_FOUND", message: "no" } }));
  }
  base = await listen(server);
  return {
    url: base,
    did: key.did,
    name: args.name,
    served,
    answers,
    otherRequests,
    async newRequest() {
      const requestId = randomUUID();
      const requestUri = `${base}/requests/${requestId}`;
      const make = async (level: "verified" | "full") =>
        (
          await createAuthorizationRequest({
            merchant: { did: key.did, name: args.clientName ?? args.name, signer: key.signer },
            terms: { request_id: requestId, merchant_name: args.clientName ?? args.name, level, purpose: args.purpose, retention_days: 1, claims: LEVELS[level].claims },
            requestUri,
            responseUri: `${base}/requests/${requestId}/response`,
            // The identity type it asks for: the wallet refuses a request for another type than its credentials', so
            // callers pass the issuer's vct URL (identityVct(issuer URL)).
            vct: args.vct ?? "https://issuer.invalid/vct/realname-identity/v1",
            now: new Date(),
            validForSeconds: 600,
          })
        );
      const verified = await make("verified");
      const full = await make("full");
      objects.set(requestId, { verified: verified.requestObject, full: full.requestObject });
      return { requestId, link: verified.authorizationRequest, requestUri };
    },
    close: closer(server),
  };
}

export interface PhishingPage {
  url: string;
  /** Requests that reached the phishing page's answer endpoint (a proof the wallet signed). */
  proofsReceived: number;
  /**
   * A login link on the phishing origin that relays `realChallengeUri`: the same nonce and the real
   * merchant's DID, answered either to the phishing page itself or straight to the real merchant.
   */
  relay(realChallengeUri: string, answerTo: "phishing" | "merchant"): string;
  close(): Promise<void>;
}

/** Starts a look-alike site that relays a real merchant's login challenges under its own origin. */
export async function startPhishingPage(): Promise<PhishingPage> {
  const relays = new Map<string, { real: string; answerTo: "phishing" | "merchant" }>();
  let base = "";
  const page: PhishingPage = {
    url: "",
    proofsReceived: 0,
    relay(realChallengeUri, answerTo) {
      const id = randomUUID();
      relays.set(id, { real: realChallengeUri, answerTo });
      return `${base}/login/challenges/${id}`;
    },
    close: async () => undefined,
  };
  const server = createServer((req, res) => void handle(req, res).catch(() => res.writeHead(500).end()));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = /^\/login\/challenges\/([0-9a-f-]{36})(\/response)?$/.exec(new URL(req.url ?? "/", base).pathname);
    const relay = m ? relays.get(m[1]!) : undefined;
    if (!m || !relay) return void res.writeHead(404).end();
    if (m[2]) {
      page.proofsReceived++;
      await readBody(req);
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "logged-in", account: {} }));
    }
    const real = await fetchJson<{ nonce: string; merchant: string; responseUri: string }>(relay.real);
    const responseUri = relay.answerTo === "phishing" ? `${base}/login/challenges/${m[1]}/response` : real.responseUri;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ nonce: real.nonce, merchant: real.merchant, responseUri }));
  }
  base = await listen(server);
  page.url = base;
  page.close = closer(server);
  return page;
}

/** A server that answers 404 to everything and counts what it got. */
export async function startCounter(): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(404).end();
  });
  return { url: await listen(server), hits, close: closer(server) };
}
