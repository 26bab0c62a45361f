/**
 * A counterpart VERIFIER written from the specification texts only: OpenID4VP 1.0 (signed request object by
 * reference, `decentralized_identifier:` or `x509_san_dns:` client id (§5.9.3, `x5c` leaf first), DCQL,
 * `transaction_data`, `direct_post` or `direct_post.jwt` with a fresh ECDH-ES P-256 key per request, §8.3 and
 * HAIP), RFC 9901 §7 +
 * SD-JWT VC for what arrives, and the Token Status List for status. jose, @sd-jwt/jwt-status-list and node:crypto;
 * no code shared with our OpenID4VC layer. It serves its request objects and takes answers on a small loopback
 * HTTP server, like any merchant's verifier would.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { compactDecrypt, compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { getListFromStatusListJWT } from "@sd-jwt/jwt-status-list";
import { algOfJwk, didKeyFromJwk, didKeyVerificationMethod, jwkFromDidKey, newKeyPair, type Alg, type KeyPair } from "./keys.js";
import { SdJwtError, verifySdJwtVc, jwtPayload, splitSdJwt } from "./sdjwt.js";
import { wellKnown } from "./wallet.js";

/**
 * The typed transaction data this verifier sends with a grant (OpenID4VP §8.4: `type` and `credential_ids`
 * plus type-specific fields). The type name and fields are the profile's (README, "Presentation profile").
 */
export const GRANT_TRANSACTION_TYPE = "realname_grant";

export type Level = "verified" | "pseudonymous" | "full";

export interface GrantAsk {
  level: Level;
  purpose: string;
  retentionDays?: number;
  /** For `full`: the identity claims asked for. */
  claims?: string[];
  /** Tests only: reuse a nonce (to isolate an `aud` refusal from a nonce refusal). */
  nonce?: string;
  /** `direct_post` (default) or `direct_post.jwt`: the answer encrypted to a key made for this request (§8.3). */
  responseMode?: "direct_post" | "direct_post.jwt";
  /** For direct_post.jwt: the `enc` values offered (default A128GCM and A256GCM, HAIP); `null` leaves the parameter out. */
  encValues?: string[] | null;
}

export interface OpenRequest {
  id: string;
  link: string;
  nonce: string;
  state: string;
  ask: GrantAsk;
  transactionData: string[];
  queryId: string;
  jwt: string;
  /** For direct_post.jwt: this request's own decryption key (never published) and what it accepts. */
  decryption?: { kid: string; privateKey: CryptoKey; encValues: string[] };
}

export interface Outcome {
  verified: boolean;
  errors: { code: string; message: string }[];
  claims?: Record<string, any>;
  declined?: boolean;
  presentation?: string;
  /** The answer (or decline) arrived as a JWE (direct_post.jwt) and was opened with the request's key. */
  encrypted?: boolean;
}

export interface CounterpartVerifierOptions {
  alg: Alg;
  /** The issuers whose credentials are accepted: their `iss` values (a did:key, or an https/loopback URL). */
  trustedIssuers: string[];
  vct: string;
  name?: string;
  clock?: () => Date;
  /** How old a KB-JWT may be, in seconds. */
  kbMaxAgeSeconds?: number;
  /** The host name its URLs use (default 127.0.0.1); an x509_san_dns verifier needs a DNS name (`localhost`). */
  host?: string;
}

const CREDENTIAL_QUERY_ID = "identity";

export class CounterpartVerifier {
  readonly key: KeyPair;
  readonly did: string;
  clientId: string;
  /** §5.9.3: its certificate chain (leaf first, base64 DER) when it acts as an x509_san_dns client. */
  private x5c?: string[];
  url = "";
  private server?: Server;
  readonly requests = new Map<string, OpenRequest>();
  readonly outcomes = new Map<string, Outcome>();
  /** Nonces whose answer was accepted: never again (replay). */
  private readonly spent = new Set<string>();
  clock: () => Date;
  readonly name: string;

  /**
   * The claim that carries this merchant's member pseudonym, computed from the formula the profile states
   * (README, "Presentation profile", `pseudonymous` for a standard wallet): "merchant_pseudonym_" +
   * base64url(SHA-256(UTF-8("realname-merchant-pseudonym-v1" || U+0000 || merchant DID))), first 22 characters.
   * The control test checks this against our issuer's credentials, so a mismatch shows as a documentation gap.
   */
  get pseudonymClaim(): string {
    const digest = createHash("sha256").update(Buffer.from(`realname-merchant-pseudonym-v1\u0000${this.did}`, "utf8")).digest("base64url");
    return `merchant_pseudonym_${digest.slice(0, 22)}`;
  }

  /** Which issuers it trusts and which credential type it asks for (known only once the issuer runs). */
  trust(trustedIssuers: string[], vct: string): this {
    this.opts.trustedIssuers = trustedIssuers;
    this.opts.vct = vct;
    return this;
  }

  constructor(private readonly opts: CounterpartVerifierOptions) {
    this.name = opts.name ?? "Counterpart Verifier";
    this.key = newKeyPair(opts.alg);
    this.did = didKeyFromJwk(this.key.publicJwk);
    this.clientId = `decentralized_identifier:${this.did}`;
    this.clock = opts.clock ?? (() => new Date());
  }

  private now(): number {
    return Math.floor(this.clock().getTime() / 1000);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res).catch((e) => send(res, 500, { error: "server_error", error_description: String(e) })));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://${this.opts.host ?? "127.0.0.1"}:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * §5.9.3: act as the client `x509_san_dns:<dnsName>` (or `x509_hash:<leaf hash>`) with a certificate for this verifier's own key (the leaf
   * first in `x5c`; the DNS name must be the host of its response_uri, i.e. of `url`).
   */
  useX509(x5c: string[], dnsName: string, prefix: "x509_san_dns" | "x509_hash" = "x509_san_dns"): this {
    if (new URL(this.url).hostname !== dnsName) throw new Error("the response_uri host must be the certificate's DNS name");
    this.x5c = x5c;
    // x509_hash: base64url(SHA-256(DER of the leaf)).
    this.clientId = prefix === "x509_hash" ? `x509_hash:${createHash("sha256").update(Buffer.from(x5c[0]!, "base64")).digest("base64url")}` : `x509_san_dns:${dnsName}`;
    return this;
  }

  /** The DCQL claims of a level: the smallest disclosure that proves it. */
  private claimsFor(ask: GrantAsk): string[] {
    if (ask.level === "verified") return ["real_name_verified"];
    if (ask.level === "pseudonymous") return ["real_name_verified", this.pseudonymClaim];
    return ["real_name_verified", ...(ask.claims ?? [])];
  }

  /** §5 + §5.10: a signed request object served by reference; the link a wallet opens. */
  async createRequest(ask: GrantAsk): Promise<OpenRequest> {
    const id = randomBytes(12).toString("base64url");
    const nonce = ask.nonce ?? randomBytes(16).toString("base64url");
    const state = randomBytes(16).toString("base64url");
    const td = {
      type: GRANT_TRANSACTION_TYPE,
      credential_ids: [CREDENTIAL_QUERY_ID],
      transaction_data_hashes_alg: ["sha-256"],
      level: ask.level,
      purpose: ask.purpose,
      retention_days: ask.retentionDays ?? 30,
      claims: ask.level === "full" ? ask.claims ?? [] : [],
      merchant: { id: this.did, name: this.name },
      request_id: id,
    };
    const transactionData = [Buffer.from(JSON.stringify(td)).toString("base64url")];
    // §8.3 + HAIP: an ephemeral ECDH-ES key on P-256 for this request only, its public JWK with kid, use, alg.
    let decryption: OpenRequest["decryption"];
    let encryptionMetadata: Record<string, unknown> = {};
    if (ask.responseMode === "direct_post.jwt") {
      const pair = await generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
      const kid = randomBytes(8).toString("base64url");
      const { kty, crv, x, y } = await exportJWK(pair.publicKey);
      const encValues = ask.encValues === null ? ["A128GCM"] : (ask.encValues ?? ["A128GCM", "A256GCM"]);
      decryption = { kid, privateKey: pair.privateKey, encValues };
      encryptionMetadata = { jwks: { keys: [{ kty, crv, x, y, kid, use: "enc", alg: "ECDH-ES" }] }, ...(ask.encValues === null ? {} : { encrypted_response_enc_values_supported: encValues }) };
    }
    const payload = {
      // §5.8: without wallet metadata (static discovery) the request object's aud is this value.
      aud: "https://self-issued.me/v2",
      iss: this.clientId,
      client_id: this.clientId,
      response_type: "vp_token",
      response_mode: ask.responseMode ?? "direct_post",
      response_uri: `${this.url}/responses/${id}`,
      nonce,
      state,
      dcql_query: {
        credentials: [
          {
            id: CREDENTIAL_QUERY_ID,
            format: "dc+sd-jwt",
            meta: { vct_values: [this.opts.vct] },
            claims: this.claimsFor(ask).map((name) => ({ path: [name] })),
          },
        ],
      },
      transaction_data: transactionData,
      client_metadata: {
        client_name: this.name,
        vp_formats_supported: { "dc+sd-jwt": { "sd-jwt_alg_values": ["EdDSA", "ES256"], "kb-jwt_alg_values": ["EdDSA", "ES256"] } },
        ...encryptionMetadata,
      },
    };
    const jwt = await new SignJWT(payload)
      .setProtectedHeader(this.x5c ? { alg: this.opts.alg, typ: "oauth-authz-req+jwt", x5c: this.x5c } : { alg: this.opts.alg, typ: "oauth-authz-req+jwt", kid: didKeyVerificationMethod(this.did) })
      .setIssuedAt(this.now())
      .setExpirationTime(this.now() + 300)
      .sign(this.key.privateKey);
    const link = `openid4vp://?${new URLSearchParams({ client_id: this.clientId, request_uri: `${this.url}/requests/${id}` })}`;
    const open = { id, link, nonce, state, ask, transactionData, queryId: CREDENTIAL_QUERY_ID, jwt, ...(decryption ? { decryption } : {}) };
    this.requests.set(id, open);
    return open;
  }

  /** The issuer's key: from its did:key, or from `/.well-known/jwt-vc-issuer` (SD-JWT VC §5) when `iss` is a URL. */
  async issuerKey(header: Record<string, any>, payload: Record<string, any>): Promise<JWK> {
    const iss = payload.iss;
    if (typeof iss !== "string" || !this.opts.trustedIssuers.includes(iss)) throw new SdJwtError("issuer_untrusted", "the issuer is not trusted");
    if (iss.startsWith("did:key:")) {
      if (header.kid !== undefined && header.kid.split("#")[0] !== iss && !header.kid.startsWith("#")) throw new SdJwtError("issuer_key", "kid is not a key of the issuer DID");
      return jwkFromDidKey(iss);
    }
    const res = await fetch(wellKnown(iss, "jwt-vc-issuer"), { headers: { accept: "application/json" } });
    if (!res.ok) throw new SdJwtError("issuer_key", `no JWT VC issuer metadata (${res.status})`);
    const meta = await res.json();
    if (meta.issuer !== iss) throw new SdJwtError("issuer_key", "the metadata's issuer differs from iss");
    const jwks = meta.jwks ?? (meta.jwks_uri ? await (await fetch(meta.jwks_uri)).json() : undefined);
    const keys: JWK[] = jwks?.keys ?? [];
    const key = header.kid ? keys.find((k) => k.kid === header.kid) : keys.length === 1 ? keys[0] : undefined;
    if (!key) throw new SdJwtError("issuer_key", "no issuer key for this kid");
    return key;
  }

  /** Token Status List §8.3: fetch the list the credential names, check it is the issuer's, read the index. */
  async checkStatus(payload: Record<string, any>, issuerKey: JWK): Promise<void> {
    const ref = payload.status?.status_list;
    if (!ref) return;
    if (typeof ref.uri !== "string" || typeof ref.idx !== "number") throw new SdJwtError("status_malformed", "status_list needs uri and idx");
    const res = await fetch(ref.uri, { headers: { accept: "application/statuslist+jwt" } });
    if (!res.ok) throw new SdJwtError("status_unavailable", `status list ${res.status}`);
    const jwt = (await res.text()).trim();
    const header = decodeProtectedHeader(jwt);
    if (header.typ !== "statuslist+jwt") throw new SdJwtError("status_malformed", `status list typ ${header.typ}`);
    // The list must be the credential's issuer's: signed by a key that issuer publishes (Token Status List §8.3;
    // SD-JWT VC §5: an issuer may publish several keys, and the list names its own with `kid`). The key that
    // signed the credential is tried first; a list carrying `iss` must carry the credential's.
    const list = jwtPayload(jwt);
    if (list.iss !== undefined && list.iss !== payload.iss) throw new SdJwtError("status_signature", "the status list names another issuer");
    const candidates = [issuerKey, ...(header.kid !== undefined ? [await this.issuerKey(header as never, payload).catch(() => undefined)] : [])].filter((k): k is JWK => !!k);
    let signed = false;
    for (const key of candidates) {
      const alg = algOfJwk(key);
      try {
        await compactVerify(jwt, await importJWK(key, alg), { algorithms: [alg] });
        signed = true;
        break;
      } catch {
        /* try the issuer's next key */
      }
    }
    if (!signed) throw new SdJwtError("status_signature", "the status list is not signed by the credential's issuer");
    if (list.sub !== ref.uri) throw new SdJwtError("status_malformed", "the status list's sub is not the uri referenced");
    if (typeof list.exp === "number" && list.exp < this.now()) throw new SdJwtError("status_expired", "the status list expired");
    const status = getListFromStatusListJWT(jwt).getStatus(ref.idx);
    if (status === 1) throw new SdJwtError("status_revoked", "the credential is revoked");
    if (status !== 0) throw new SdJwtError("status_invalid", `the credential's status is ${status}`);
  }

  /**
   * Everything a standard verifier checks on one presentation for an open request, without spending it:
   * RFC 9901 §7.1 + §7.3, SD-JWT VC (vct, issuer key), OpenID4VP (aud = client_id, nonce, transaction data
   * hashes, exactly the requested claims), status.
   */
  async check(presentation: string, request: OpenRequest): Promise<Outcome> {
    try {
      let issuerJwk: JWK | undefined;
      const verified = await verifySdJwtVc(
        presentation,
        async (h, p) => (issuerJwk = await this.issuerKey(h, p)),
        { aud: this.clientId, nonce: request.nonce, now: this.now(), maxAgeSeconds: this.opts.kbMaxAgeSeconds ?? 300, transactionData: request.transactionData },
      );
      if (verified.claims.vct !== this.opts.vct) throw new SdJwtError("vct", "another credential type");
      await this.checkStatus(jwtPayload(splitSdJwt(presentation).issuerJwt), issuerJwk!);
      const wanted = this.claimsFor(request.ask);
      for (const name of wanted) if (!(name in verified.claims)) throw new SdJwtError("claim_missing", `${name} not disclosed`);
      if (verified.claims.real_name_verified !== true) throw new SdJwtError("claim_value", "real_name_verified is not true");
      const disclosed = splitSdJwt(presentation).disclosures.map((d) => JSON.parse(Buffer.from(d, "base64url").toString("utf8"))[1]);
      const extra = disclosed.filter((n) => !wanted.includes(n));
      if (extra.length) throw new SdJwtError("over_disclosure", `disclosed beyond the request: ${extra.join(", ")}`);
      return { verified: true, errors: [], claims: verified.claims, presentation };
    } catch (e) {
      const code = e instanceof SdJwtError ? e.code : "invalid";
      return { verified: false, errors: [{ code, message: (e as Error).message }], presentation };
    }
  }

  /** §8.3: opens a response JWE: alg ECDH-ES only, an offered enc, this request's kid, a JSON object inside. */
  private async decrypt(jwe: string, key: NonNullable<OpenRequest["decryption"]>): Promise<Record<string, any>> {
    const header = decodeProtectedHeader(jwe);
    if (header.alg !== "ECDH-ES") throw new Error(`alg ${header.alg} not accepted`);
    if (typeof header.enc !== "string" || !key.encValues.includes(header.enc)) throw new Error(`enc ${header.enc} not offered`);
    if (header.kid !== key.kid) throw new Error("the response is encrypted to another key");
    const { plaintext } = await compactDecrypt(jwe, key.privateKey, { keyManagementAlgorithms: ["ECDH-ES"], contentEncryptionAlgorithms: key.encValues });
    const payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext));
    if (!payload || typeof payload !== "object" || Array.isArray(payload)) throw new Error("the decrypted response is not a JSON object");
    return payload;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const [, kind, id] = url.pathname.split("/");
    const open = id ? this.requests.get(id) : undefined;
    if (req.method === "GET" && kind === "requests" && open) {
      res.writeHead(200, { "content-type": "application/oauth-authz-req+jwt" });
      return void res.end(open.jwt);
    }
    if (req.method === "GET" && kind === "done" && id) return send(res, 200, { ok: true });
    if (req.method !== "POST" || kind !== "responses" || !open) return send(res, 404, { error: "not_found" });
    const form = new URLSearchParams(await readBody(req));
    let params: Record<string, any>;
    if (open.decryption) {
      // §8.3.1: exactly one parameter, `response`; a plain answer to this request is refused (no downgrade).
      const jwe = form.get("response");
      if (!jwe || [...form.keys()].length !== 1) return send(res, 400, { error: "invalid_request", error_description: "an encrypted response (direct_post.jwt) is required" });
      try {
        params = await this.decrypt(jwe, open.decryption);
      } catch (e) {
        return send(res, 400, { error: "invalid_request", error_description: (e as Error).message });
      }
    } else {
      if (form.has("response")) return send(res, 400, { error: "invalid_request", error_description: "this request asked for a plain direct_post response" });
      params = Object.fromEntries(form);
    }
    if (params.state !== open.state) return send(res, 400, { error: "invalid_request", error_description: "state does not match" });
    if (params.error) {
      this.outcomes.set(id, { verified: false, declined: params.error === "access_denied", errors: [{ code: String(params.error), message: String(params.error_description ?? "") }], ...(open.decryption ? { encrypted: true } : {}) });
      return send(res, 200, {});
    }
    let vpToken: Record<string, unknown>;
    try {
      // Plain: vp_token is a form field holding JSON text; in an encrypted response it is the JSON object itself.
      vpToken = typeof params.vp_token === "string" ? JSON.parse(params.vp_token) : params.vp_token;
      if (!vpToken || typeof vpToken !== "object" || Array.isArray(vpToken)) throw new Error("not an object");
    } catch {
      return send(res, 400, { error: "invalid_request", error_description: "vp_token is not a JSON object" });
    }
    const entry = vpToken?.[open.queryId];
    const presentation = Array.isArray(entry) && entry.length === 1 && typeof entry[0] === "string" ? entry[0] : undefined;
    if (!presentation || Object.keys(vpToken).length !== 1) return send(res, 400, { error: "invalid_request", error_description: "vp_token must hold one presentation for the credential query" });
    if (this.spent.has(open.nonce)) {
      this.outcomes.set(`${id}#replay`, { verified: false, errors: [{ code: "replay", message: "this request was already answered" }], presentation });
      return send(res, 400, { error: "invalid_request", error_description: "already answered" });
    }
    const outcome = { ...(await this.check(presentation, open)), ...(open.decryption ? { encrypted: true } : {}) };
    this.outcomes.set(id, outcome);
    if (!outcome.verified) return send(res, 400, { error: "invalid_request", error_description: outcome.errors[0].code });
    this.spent.add(open.nonce);
    return send(res, 200, { redirect_uri: `${this.url}/done/${id}` });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1_000_000) throw new Error("body too large");
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
