/**
 * A counterpart WALLET written from the specification texts only (OpenID4VCI 1.0 pre-authorized code flow,
 * OpenID4VP 1.0 with request by reference, DCQL, direct_post, direct_post.jwt and transaction_data, SD-JWT / SD-JWT VC), with
 * jose and node:crypto. It shares no code with our OpenID4VC layer: it stands in for "any standard wallet".
 *
 * Faults (`answerOptions`) let a test make it misbehave in exactly one way, to check a verifier's refusals.
 */
import { createHash, X509Certificate } from "node:crypto";
import { CompactEncrypt, compactVerify, decodeProtectedHeader, importJWK, SignJWT, type JWK } from "jose";
import { algOfJwk, didKeyVerificationMethod, jwkFromDidKey, newKeyPair, sha256b64url, type Alg, type KeyPair } from "./keys.js";
import { decodeDisclosure, jwtPayload, keyBindingJwt, selectDisclosures, splitSdJwt } from "./sdjwt.js";

export const PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

export interface HeldCredential {
  compact: string;
  holder: KeyPair;
  vct: string;
  /** The credential configuration it was issued under, and the issuer's signing alg. */
  configurationId: string;
  alg: string;
}

export interface DcqlCredentialQuery {
  id: string;
  format: string;
  meta?: { vct_values?: string[] };
  claims?: { id?: string; path: (string | number | null)[] }[];
  require_cryptographic_holder_binding?: boolean;
}

export interface ResolvedRequest {
  /** The compact request object, exactly as fetched. */
  jwt: string;
  header: Record<string, any>;
  payload: Record<string, any>;
  clientId: string;
  dcql: { credentials: DcqlCredentialQuery[] };
  /** Each entry as sent (base64url) and decoded. */
  transactionData: { encoded: string; decoded: Record<string, any> }[];
  /** For `direct_post.jwt` (§8.3): the verifier's key chosen from client_metadata.jwks and the `enc` to use. */
  encryption?: { jwk: JWK; enc: string };
}

/** HAIP: the content encryption algorithms a wallet supports for encrypted responses (ECDH-ES on P-256). */
const SUPPORTED_ENC = ["A128GCM", "A256GCM"];

/** Ways to misbehave when posting (tests of a verifier's refusals). */
export interface PostOptions {
  /** Send the parameters as plain form fields even though the request asked for direct_post.jwt. */
  plain?: boolean;
  /** Encrypt (direct_post.jwt) even though the request asked for plain direct_post: to this key, or a fresh one. */
  encryptTo?: { jwk: JWK; enc: string };
}

export interface AnswerOptions {
  /** Present for this audience instead of the request's client_id. */
  aud?: string;
  nonce?: string;
  /** KB-JWT `iat` (seconds); defaults to now. */
  iat?: number;
  /** Leave `transaction_data_hashes` out. */
  omitTransactionDataHashes?: boolean;
  /** Replace the value inside the first disclosure after the KB-JWT was signed (a tampered disclosure). */
  tamperDisclosure?: boolean;
  /** Disclose these claim names as well as those the DCQL query asks for. */
  extraClaims?: string[];
}

export interface PostResult {
  status: number;
  body: any;
}

type Fetch = typeof fetch;

/** RFC 8414 / OpenID4VCI §12.2.2: the well-known segment goes between the host and the path. */
export function wellKnown(identifier: string, name: string): string {
  const u = new URL(identifier);
  const path = u.pathname === "/" ? "" : u.pathname.replace(/\/$/, "");
  return `${u.origin}/.well-known/${name}${path}`;
}

async function getJson(f: Fetch, url: string): Promise<any> {
  const res = await f(url, { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

export class CounterpartWallet {
  readonly credentials: HeldCredential[] = [];
  /** Trust anchors (PEM) for x509_san_dns clients, pinned by whoever set the wallet up. */
  readonly x509Anchors: string[] = [];

  constructor(private readonly fetchImpl: Fetch = fetch, private readonly clock: () => Date = () => new Date()) {}

  private now(): number {
    return Math.floor(this.clock().getTime() / 1000);
  }

  // ---------------------------------------------------------------- OpenID4VCI 1.0

  /** §4.1: a credential offer by value (`credential_offer`) or by reference (`credential_offer_uri`). */
  async resolveOffer(link: string): Promise<Record<string, any>> {
    const q = new URL(link).searchParams;
    if (q.get("credential_offer")) return JSON.parse(q.get("credential_offer")!);
    if (q.get("credential_offer_uri")) return getJson(this.fetchImpl, q.get("credential_offer_uri")!);
    throw new Error("neither credential_offer nor credential_offer_uri");
  }

  async issuerMetadata(credentialIssuer: string): Promise<Record<string, any>> {
    const metadata = await getJson(this.fetchImpl, wellKnown(credentialIssuer, "openid-credential-issuer"));
    // §12.2.2: the credential_issuer in the metadata MUST be identical to the one used to fetch it.
    if (metadata.credential_issuer !== credentialIssuer) throw new Error("credential_issuer in the metadata differs from the offer's");
    return metadata;
  }

  /**
   * Redeems an offer (§3.5): token request with the pre-authorized code (§6.1), a c_nonce from the nonce
   * endpoint (§7), then one credential request (§8) with one `jwt` proof per fresh holder key (§8.2.1, F.1).
   * `alg` picks the credential configuration whose credential signature and proofs use it; refuses when the
   * issuer does not offer it.
   */
  async redeem(link: string | Record<string, any>, opts: { alg?: Alg; count?: number; txCode?: string } = {}): Promise<HeldCredential[]> {
    const alg = opts.alg ?? "EdDSA";
    const offer = typeof link === "string" ? await this.resolveOffer(link) : link;
    const metadata = await this.issuerMetadata(offer.credential_issuer);
    const configs: Record<string, any> = metadata.credential_configurations_supported ?? {};
    const configurationId = (offer.credential_configuration_ids as string[]).find((id) => {
      const c = configs[id];
      return c?.format === "dc+sd-jwt" && (c.credential_signing_alg_values_supported ?? []).includes(alg) && (c.proof_types_supported?.jwt?.proof_signing_alg_values_supported ?? []).includes(alg);
    });
    if (!configurationId) throw new Error(`the issuer offers no dc+sd-jwt configuration signed and proven with ${alg}`);
    const config = configs[configurationId];
    const grant = offer.grants?.[PRE_AUTHORIZED_GRANT];
    if (!grant?.["pre-authorized_code"]) throw new Error("the offer has no pre-authorized code");

    const asIdentifier = (metadata.authorization_servers as string[] | undefined)?.[0] ?? offer.credential_issuer;
    const asMetadata = await getJson(this.fetchImpl, wellKnown(asIdentifier, "oauth-authorization-server"));
    const tokenForm = new URLSearchParams({ grant_type: PRE_AUTHORIZED_GRANT, "pre-authorized_code": grant["pre-authorized_code"] });
    if (grant.tx_code) {
      if (!opts.txCode) throw new Error("the offer needs a transaction code");
      tokenForm.set("tx_code", opts.txCode);
    }
    const tokenRes = await this.fetchImpl(asMetadata.token_endpoint, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body: tokenForm });
    const token = await tokenRes.json();
    if (!tokenRes.ok) throw new Error(`token endpoint: ${tokenRes.status} ${JSON.stringify(token)}`);
    if (String(token.token_type).toLowerCase() !== "bearer") throw new Error(`token_type ${token.token_type} not supported by this wallet`);

    let cNonce: string | undefined;
    if (metadata.nonce_endpoint) {
      const nonceRes = await this.fetchImpl(metadata.nonce_endpoint, { method: "POST" });
      if (!nonceRes.ok) throw new Error(`nonce endpoint: ${nonceRes.status}`);
      cNonce = (await nonceRes.json()).c_nonce;
    }
    const batch = metadata.batch_credential_issuance?.batch_size ?? 1;
    const count = Math.min(opts.count ?? 1, batch);
    const holders = Array.from({ length: count }, () => newKeyPair(alg));
    const proofs = await Promise.all(
      holders.map((h) => {
        const claims: Record<string, unknown> = { aud: offer.credential_issuer, iat: this.now() };
        if (cNonce) claims.nonce = cNonce;
        return new SignJWT(claims).setProtectedHeader({ alg, typ: "openid4vci-proof+jwt", jwk: h.publicJwk }).sign(h.privateKey);
      }),
    );
    const credRes = await this.fetchImpl(metadata.credential_endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${token.access_token}` },
      body: JSON.stringify({ credential_configuration_id: configurationId, proofs: { jwt: proofs } }),
    });
    const body = await credRes.json();
    if (!credRes.ok) throw new Error(`credential endpoint: ${credRes.status} ${JSON.stringify(body)}`);
    if (!Array.isArray(body.credentials) || body.credentials.length !== holders.length) throw new Error("the credential response does not hold one credential per proof");
    const received: HeldCredential[] = body.credentials.map((c: { credential: string }) => {
      const payload = jwtPayload(splitSdJwt(c.credential).issuerJwt);
      const holder = holders.find((h) => JSON.stringify(sortJwk(h.publicJwk)) === JSON.stringify(sortJwk(payload.cnf?.jwk ?? {})));
      if (!holder) throw new Error("a credential is bound to none of the proof keys");
      if (payload.vct !== config.vct) throw new Error("the credential's vct is not the configuration's");
      return { compact: c.credential, holder, vct: payload.vct, configurationId, alg: decodeProtectedHeader(c.credential.split("~")[0]).alg as string };
    });
    this.credentials.push(...received);
    return received;
  }

  // ---------------------------------------------------------------- OpenID4VP 1.0

  /**
   * §5 + §5.10: `openid4vp://?client_id=…&request_uri=…`; the request object is fetched (GET, or POST when
   * `request_uri_method=post`), must be a JWT of `typ` oauth-authz-req+jwt whose `client_id` equals the URL's,
   * signed (§5.9.3, `decentralized_identifier:` prefix) by a key of that DID named in `kid`.
   */
  async resolveRequest(link: string): Promise<ResolvedRequest> {
    const q = new URL(link).searchParams;
    const clientId = q.get("client_id");
    const requestUri = q.get("request_uri");
    if (!clientId || !requestUri) throw new Error("client_id and request_uri are required");
    const post = q.get("request_uri_method") === "post";
    const res = await this.fetchImpl(requestUri, post
      ? { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/oauth-authz-req+jwt" }, body: new URLSearchParams({}) }
      : { headers: { accept: "application/oauth-authz-req+jwt" } });
    if (!res.ok) throw new Error(`request_uri: ${res.status}`);
    const jwt = (await res.text()).trim();
    const header = decodeProtectedHeader(jwt) as Record<string, any>;
    if (header.typ !== "oauth-authz-req+jwt") throw new Error(`request object typ ${header.typ}`);
    let jwk: JWK;
    if (clientId.startsWith("x509_san_dns:")) {
      jwk = this.x509ClientKey(clientId.slice("x509_san_dns:".length), header);
    } else if (clientId.startsWith("x509_hash:")) {
      // §5.9.3 x509_hash: base64url of the SHA-256 of the leaf's DER; the chain is trusted as for x509_san_dns.
      if (!Array.isArray(header.x5c) || createHash("sha256").update(Buffer.from(String(header.x5c[0]), "base64")).digest("base64url") !== clientId.slice("x509_hash:".length)) throw new Error("x509_hash does not match the leaf certificate");
      jwk = this.x509ClientKey(undefined, header);
    } else {
      if (!clientId.startsWith("decentralized_identifier:")) throw new Error("this wallet trusts decentralized_identifier and x509_san_dns client ids only");
      const did = clientId.slice("decentralized_identifier:".length);
      if (typeof header.kid !== "string" || header.kid.split("#")[0] !== did) throw new Error("the request object's kid is not a key of the client's DID");
      if (header.kid !== didKeyVerificationMethod(did)) throw new Error("kid names no verification method of this did:key");
      jwk = jwkFromDidKey(did);
    }
    const alg = algOfJwk(jwk);
    if (header.alg !== alg) throw new Error(`request object alg ${header.alg} does not fit the client's key`);
    try {
      await compactVerify(jwt, await importJWK(jwk, alg), { algorithms: [alg] });
    } catch {
      throw new Error("the request object signature does not verify");
    }
    const payload = jwtPayload(jwt);
    // §5.9.3: the response_uri's host must be the DNS name (this wallet has no other way to trust its URIs).
    if (clientId.startsWith("x509_san_dns:") && new URL(String(payload.response_uri)).hostname !== clientId.slice("x509_san_dns:".length)) throw new Error("response_uri is not on the client's DNS name");
    if (payload.client_id !== clientId) throw new Error("client_id in the request object differs from the link's");
    if (typeof payload.exp === "number" && payload.exp < this.now()) throw new Error("the request object expired");
    if (payload.response_type !== "vp_token") throw new Error(`response_type ${payload.response_type}`);
    if (payload.response_mode !== "direct_post" && payload.response_mode !== "direct_post.jwt") throw new Error(`response_mode ${payload.response_mode} not supported by this wallet`);
    const encryption = payload.response_mode === "direct_post.jwt" ? encryptionKeyOf(payload.client_metadata) : undefined;
    if (typeof payload.response_uri !== "string" || typeof payload.nonce !== "string") throw new Error("response_uri and nonce are required");
    if (!payload.dcql_query?.credentials?.length) throw new Error("no DCQL query");
    const ids = new Set((payload.dcql_query.credentials as DcqlCredentialQuery[]).map((c) => c.id));
    const transactionData = ((payload.transaction_data ?? []) as string[]).map((encoded) => {
      const decoded = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
      // §8.4: type and credential_ids are required; each id must name a credential query.
      if (typeof decoded.type !== "string" || !Array.isArray(decoded.credential_ids) || !decoded.credential_ids.every((id: string) => ids.has(id))) throw new Error("malformed transaction_data");
      if (decoded.transaction_data_hashes_alg && !decoded.transaction_data_hashes_alg.includes("sha-256")) throw new Error("no supported transaction_data_hashes_alg");
      return { encoded, decoded };
    });
    return { jwt, header, payload, clientId, dcql: payload.dcql_query, transactionData, ...(encryption ? { encryption } : {}) };
  }

  /**
   * §5.9.3 x509_san_dns, with RFC 7515 §4.1.6 `x5c` (leaf first) and RFC 5280 path rules, on node:crypto: every
   * certificate valid now, each issued and signed by the next, every issuer a CA, the last issued by a pinned
   * anchor, the leaf no CA with the DNS name in its subjectAltName. Returns the leaf's public key.
   */
  private x509ClientKey(dnsName: string | undefined, header: Record<string, any>): JWK {
    if (!Array.isArray(header.x5c) || header.x5c.length === 0) throw new Error("x509_san_dns request object without x5c");
    const chain = header.x5c.map((c: string) => new X509Certificate(Buffer.from(c, "base64")));
    const anchors = this.x509Anchors.map((pem) => new X509Certificate(pem));
    const now = this.clock().getTime();
    const leaf = chain[0]!;
    if (leaf.ca) throw new Error("the leaf certificate is a CA");
    if (dnsName !== undefined && leaf.checkHost(dnsName, { subject: "never" }) !== dnsName) throw new Error("the leaf certificate's subjectAltName does not name the client's DNS name");
    for (let i = 0; i + 1 < chain.length; i++) {
      if (!chain[i + 1].ca || !chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) throw new Error("x5c is not a chain of CA-issued certificates");
    }
    const last = chain[chain.length - 1]!;
    const anchor = anchors.find((a) => a.raw.equals(last.raw)) ?? anchors.find((a) => a.ca && last.checkIssued(a) && last.verify(a.publicKey));
    if (!anchor) throw new Error("x5c does not lead to a pinned trust anchor");
    for (const c of [...chain, anchor]) {
      if (now < Date.parse(c.validFrom) || now > Date.parse(c.validTo)) throw new Error("a certificate in the chain is not valid now");
    }
    return leaf.publicKey.export({ format: "jwk" }) as JWK;
  }

  /** A held credential that satisfies one DCQL credential query (format, vct_values, every claim path present). */
  private match(query: DcqlCredentialQuery): HeldCredential {
    if (query.format !== "dc+sd-jwt") throw new Error(`format ${query.format} not held`);
    const found = this.credentials.find((c) => {
      if (query.meta?.vct_values && !query.meta.vct_values.includes(c.vct)) return false;
      const names = new Set(splitSdJwt(c.compact).disclosures.map((d) => decodeDisclosure(d).name));
      const plain = jwtPayload(splitSdJwt(c.compact).issuerJwt);
      return (query.claims ?? []).every((cl) => names.has(String(cl.path[0])) || String(cl.path[0]) in plain);
    });
    if (!found) throw new Error(`no credential answers the query ${query.id}`);
    return found;
  }

  /** Appendix B.3.6: one presentation per credential query, with exactly the requested claims and a KB-JWT. */
  async buildVpToken(request: ResolvedRequest, opts: AnswerOptions = {}): Promise<Record<string, string[]>> {
    const vpToken: Record<string, string[]> = {};
    for (const query of request.dcql.credentials) {
      const credential = this.match(query);
      const wanted = [...(query.claims ?? []).map((c) => String(c.path[0])), ...(opts.extraClaims ?? [])];
      let sdJwtPart = selectDisclosures(credential.compact, wanted);
      const tdFor = request.transactionData.filter((t) => t.decoded.credential_ids.includes(query.id)).map((t) => sha256b64url(t.encoded));
      const kb = await keyBindingJwt(sdJwtPart, credential.holder, {
        aud: opts.aud ?? request.clientId,
        nonce: opts.nonce ?? request.payload.nonce,
        iat: opts.iat ?? this.now(),
        transaction_data_hashes: tdFor.length && !opts.omitTransactionDataHashes ? tdFor : undefined,
      });
      if (opts.tamperDisclosure) sdJwtPart = tamperFirstDisclosure(sdJwtPart);
      vpToken[query.id] = [`${sdJwtPart}${kb}`];
    }
    return vpToken;
  }

  /**
   * §8.2: direct_post of `vp_token` (a JSON object keyed by credential query id) and `state`; for
   * direct_post.jwt (§8.3.1) the same parameters as the JSON payload of a JWE in the form field `response`.
   */
  async postVpToken(request: ResolvedRequest, vpToken: Record<string, string[]>, opts: PostOptions = {}): Promise<PostResult> {
    const parameters: Record<string, unknown> = { vp_token: vpToken };
    if (request.payload.state) parameters.state = request.payload.state;
    return this.postParameters(request, parameters, opts);
  }

  /** The response parameters, plain (form fields, objects as JSON text) or encrypted, as the request asked. */
  async postParameters(request: ResolvedRequest, parameters: Record<string, unknown>, opts: PostOptions = {}): Promise<PostResult> {
    const to = opts.encryptTo ?? (opts.plain ? undefined : request.encryption);
    if (to) return this.post(request.payload.response_uri, new URLSearchParams({ response: await encryptResponse(parameters, to) }));
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(parameters)) form.set(k, typeof v === "string" ? v : JSON.stringify(v));
    return this.post(request.payload.response_uri, form);
  }

  async answer(link: string, opts: AnswerOptions = {}): Promise<PostResult & { request: ResolvedRequest; vpToken: Record<string, string[]> }> {
    const request = await this.resolveRequest(link);
    const vpToken = await this.buildVpToken(request, opts);
    return { ...(await this.postVpToken(request, vpToken)), request, vpToken };
  }

  /** §8.5: the person declined; the error goes to the response_uri like a response. */
  async decline(link: string, opts: PostOptions = {}): Promise<PostResult> {
    const request = await this.resolveRequest(link);
    const parameters: Record<string, unknown> = { error: "access_denied", error_description: "the person declined" };
    if (request.payload.state) parameters.state = request.payload.state;
    return this.postParameters(request, parameters, opts);
  }

  private async post(uri: string, form: URLSearchParams): Promise<PostResult> {
    const res = await this.fetchImpl(uri, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body: form });
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      /* not JSON */
    }
    return { status: res.status, body };
  }
}

/**
 * §8.3: the verifier's encryption key from client_metadata.jwks: this wallet takes an EC P-256 key whose `alg`
 * (required) is ECDH-ES, `use` absent or "enc", with public members only; `enc` is the first of the verifier's
 * encrypted_response_enc_values_supported this wallet supports, A128GCM when the verifier lists none.
 */
export function encryptionKeyOf(clientMetadata: any): { jwk: JWK; enc: string } {
  const keys: any[] = Array.isArray(clientMetadata?.jwks?.keys) ? clientMetadata.jwks.keys : [];
  if (keys.some((k) => k && typeof k === "object" && "d" in k)) throw new Error("the verifier's jwks holds a private key");
  const jwk = keys.find((k) => k?.kty === "EC" && k.crv === "P-256" && k.alg === "ECDH-ES" && (k.use === undefined || k.use === "enc") && typeof k.x === "string" && typeof k.y === "string");
  if (!jwk) throw new Error("no ECDH-ES P-256 key in client_metadata.jwks");
  const offered = clientMetadata.encrypted_response_enc_values_supported;
  const enc = offered === undefined ? "A128GCM" : (offered as string[]).find((e) => SUPPORTED_ENC.includes(e));
  if (!enc) throw new Error("no supported enc value offered");
  return { jwk, enc };
}

/** §8.3: an unsigned JWE, `alg` the key's, `kid` the key's when it has one, payload the response parameters. */
export async function encryptResponse(parameters: Record<string, unknown>, to: { jwk: JWK; enc: string }, header: Record<string, unknown> = {}): Promise<string> {
  const alg = to.jwk.alg ?? "ECDH-ES";
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(parameters)))
    .setProtectedHeader({ alg, enc: to.enc, ...(to.jwk.kid ? { kid: to.jwk.kid } : {}), ...header } as never)
    .encrypt(await importJWK(to.jwk, alg));
}

/** §8.2: a 200 with `{}` or `{redirect_uri}` is success; anything else is not. */
export function isDirectPostSuccess(r: PostResult): boolean {
  return r.status === 200 && typeof r.body === "object" && r.body !== null && (r.body.redirect_uri === undefined || typeof r.body.redirect_uri === "string");
}

function sortJwk(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return y ? { kty, crv, x, y } : { kty, crv, x };
}

/** Re-encodes the first disclosure with another value (same salt and name): its digest no longer matches. */
export function tamperFirstDisclosure(sdJwtPart: string): string {
  const [jwt, first, ...rest] = sdJwtPart.split("~");
  if (!first) throw new Error("nothing disclosed to tamper with");
  const arr = JSON.parse(Buffer.from(first, "base64url").toString("utf8"));
  arr[arr.length - 1] = typeof arr[arr.length - 1] === "string" ? `${arr[arr.length - 1]}x` : !arr[arr.length - 1];
  return [jwt, Buffer.from(JSON.stringify(arr)).toString("base64url"), ...rest].join("~");
}
