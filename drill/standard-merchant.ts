/**
 * A merchant written from OpenID4VP 1.0 alone, as a real HTTP server on loopback: what our wallet meets at a
 * standard verifier. Its request object is signed ES256 (P-256, HAIP) or EdDSA by a did:key client identifier,
 * carries no `transaction_data` and none of our private parameters, names its own DCQL credential query id,
 * and it replies to an answer the standard way: `{redirect_uri}` or an empty 200. It keeps what arrived.
 * Built with node:crypto only (no code of our OpenID4VC layer), so the wallet cannot pass by sharing a bug.
 */
import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { bytesToMultibase } from "did-jwt";

export interface StandardAnswer {
  form: Record<string, string>;
  /** The presentation under the DCQL query id, when the answer carried one. */
  presentation?: string;
  /** The decoded key-binding JWT payload of that presentation. */
  keyBinding?: Record<string, unknown>;
}

export interface StandardMerchant {
  url: string;
  did: string;
  clientId: string;
  answers: StandardAnswer[];
  /** A fresh request for these claim paths: the `openid4vp://` link a wallet opens. */
  newRequest(claims: string[], options?: { byValue?: boolean; minimal?: boolean }): Promise<{ link: string; state: string }>;
  close(): Promise<void>;
}

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");
const P256_DID_PREFIX = "p256-pub";

function didKeyOf(publicKey: KeyObject, alg: "ES256" | "EdDSA"): string {
  const jwk = publicKey.export({ format: "jwk" }) as { x: string; y?: string };
  if (alg === "EdDSA") return `did:key:${bytesToMultibase(Buffer.from(jwk.x, "base64url"), "base58btc", "ed25519-pub")}`;
  const y = Buffer.from(jwk.y!, "base64url");
  const compressed = Buffer.concat([Buffer.from([y[y.length - 1]! & 1 ? 3 : 2]), Buffer.from(jwk.x, "base64url")]);
  return `did:key:${bytesToMultibase(compressed, "base58btc", P256_DID_PREFIX)}`;
}

export async function startStandardMerchant(args: { alg: "ES256" | "EdDSA"; reply: "redirect" | "empty"; dcqlId?: string; vct: string }): Promise<StandardMerchant> {
  const { privateKey, publicKey } = args.alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("ed25519");
  const did = didKeyOf(publicKey, args.alg);
  const clientId = `decentralized_identifier:${did}`;
  const dcqlId = args.dcqlId ?? "pid";
  const objects = new Map<string, string>();
  const answers: StandardAnswer[] = [];
  let base = "";

  const signJwt = (header: Record<string, unknown>, payload: Record<string, unknown>) => {
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const signature = args.alg === "ES256" ? sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" }) : sign(null, Buffer.from(input), privateKey);
    return `${input}.${b64url(signature)}`;
  };

  const server = createServer((req, res) => void handle(req, res).catch(() => res.writeHead(500).end()));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", base).pathname;
    const object = /^\/request\/([0-9a-f-]{36})$/.exec(path);
    if (req.method === "GET" && object && objects.has(object[1]!)) {
      return void res.writeHead(200, { "content-type": "application/oauth-authz-req+jwt" }).end(objects.get(object[1]!));
    }
    if (req.method === "POST" && path === "/response") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
      const answer: StandardAnswer = { form };
      if (form.vp_token) {
        const presentation = (JSON.parse(form.vp_token) as Record<string, string[]>)[dcqlId]?.[0];
        if (presentation) {
          answer.presentation = presentation;
          answer.keyBinding = JSON.parse(Buffer.from(presentation.slice(presentation.lastIndexOf("~") + 1).split(".")[1] ?? "", "base64url").toString("utf8"));
        }
      }
      answers.push(answer);
      // §8.2: a 200; the body may carry a redirect_uri, or be empty.
      if (args.reply === "redirect") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ redirect_uri: `${base}/done#${randomUUID()}` }));
      return void res.writeHead(200).end();
    }
    res.writeHead(404).end();
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    did,
    clientId,
    answers,
    /** `byValue`: the request object in the link (`request=`); `minimal`: no exp, no state, no client_metadata. */
    async newRequest(claims, options = {}) {
      const id = randomUUID();
      const state = createHash("sha256").update(id).digest("base64url").slice(0, 24);
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: clientId,
        aud: "https://self-issued.me/v2",
        iat: now,
        ...(options.minimal ? {} : { exp: now + 300 }),
        response_type: "vp_token",
        response_mode: "direct_post",
        response_uri: `${base}/response`,
        client_id: clientId,
        nonce: b64url(createHash("sha256").update(`${id}nonce`).digest()).slice(0, 32),
        ...(options.minimal ? {} : { state }),
        dcql_query: { credentials: [{ id: dcqlId, format: "dc+sd-jwt", meta: { vct_values: [args.vct] }, claims: claims.map((c) => ({ path: [c] })) }] },
        ...(options.minimal ? {} : { client_metadata: { vp_formats_supported: { "dc+sd-jwt": { "sd-jwt_alg_values": ["ES256", "EdDSA"], "kb-jwt_alg_values": ["ES256", "EdDSA"] } } } }),
      };
      const jwt = signJwt({ alg: args.alg, typ: "oauth-authz-req+jwt", kid: `${did}#${did.slice("did:key:".length)}` }, payload);
      objects.set(id, jwt);
      const link = options.byValue
        ? `openid4vp://?client_id=${encodeURIComponent(clientId)}&request=${encodeURIComponent(jwt)}`
        : `openid4vp://?client_id=${encodeURIComponent(clientId)}&request_uri=${encodeURIComponent(`${base}/request/${id}`)}`;
      return { link, state };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
