import { randomBytes, randomUUID } from "node:crypto";
import { Oauth2AuthorizationServer, Oauth2ResourceServer, preAuthorizedCodeGrantIdentifier, SupportedAuthenticationScheme, type Jwk } from "@openid4vc/oauth2";
import { Openid4vciIssuer, Openid4vciDraftVersion, type IssuerMetadataResult } from "@openid4vc/openid4vci";
import QRCode from "qrcode";
import { AgentError } from "../errors.js";
import { decodeJws, type JwsSigner } from "../crypto/jws.js";
import { didKeyKid, jwkFromDidKey, publicJwkFrom, type Ed25519PublicJwk, type P256PublicJwk, type PublicJwk } from "../identity/did-key.js";
import { isJwsAlg, jwkThumbprint, verifyJwt, type JwsAlg } from "../crypto/algorithms.js";
import type { TrustedIssuerKey } from "../sdjwt/verify.js";
import { identityVct } from "../sdjwt/identity-credential.js";
import type { DocumentStore } from "../stores/document-store.js";
import { oid4vcCallbacks } from "../oid4vc/callbacks.js";
import { boundedFetch } from "../http/bounded-fetch.js";

/** The EdDSA configuration (the issuer's Ed25519 did:key signs). */
export const CREDENTIAL_CONFIGURATION_ID = "RealNameIdentity_dc_sd_jwt";
/** The ES256 configuration (HAIP): the same credential signed by the issuer's P-256 key. */
export const CREDENTIAL_CONFIGURATION_ID_ES256 = "RealNameIdentity_dc_sd_jwt_es256";
/** Proofs of possession (and so holder keys) accepted for either configuration. */
const PROOF_ALGS: Record<JwsAlg, JwsAlg[]> = { EdDSA: ["EdDSA", "ES256"], ES256: ["ES256", "EdDSA"] };
/** The kid of the issuer's Ed25519 key in its JWKS (also the access tokens' key). */
const EDDSA_JWKS_KID = "issuer-key";
/** Lifetime of an access token from the token endpoint. */
const ACCESS_TOKEN_SECONDS = 300;

interface OfferDoc {
  offerId: string;
  identityRef: string;
  preAuthorizedCode: string;
  createdAt: string;
  expiresAt: number;
  state: "offered" | "token-issued" | "redeemed";
}

/** An HTTP request as the OAuth libraries see it. */
export interface HttpRequestLike {
  method: "GET" | "POST";
  url: string;
  headers: Headers;
}

/**
 * OpenID4VCI issuance, pre-authorized code flow, built on @openid4vc/openid4vci and @openid4vc/oauth2:
 * an offer per verified identity (single use, expiring), a token endpoint, a nonce endpoint and a credential
 * endpoint that issues a batch, one credential per proof-of-possession key.
 */
export class CredentialIssuance {
  private readonly issuerLib: Openid4vciIssuer;
  private readonly authServer: Oauth2AuthorizationServer;
  private readonly resourceServer: Oauth2ResourceServer;
  private readonly issuerJwk: Ed25519PublicJwk;
  /** Credential configuration id -> the algorithm its credentials are signed with. */
  private readonly configurations: Map<string, JwsAlg>;

  constructor(
    private readonly deps: {
      baseUrl: () => string;
      issuer: { did: string; name: string; signer: JwsSigner };
      /**
       * The issuer's P-256 key for the ES256 configuration: same `iss`, its own `kid` (published in the JWKS;
       * default `<issuer DID>#<RFC 7638 thumbprint>`). Without it only the EdDSA configuration is offered.
       */
      es256?: { jwk: P256PublicJwk; kid?: string; signer: JwsSigner };
      offers: DocumentStore<OfferDoc | { offerId: string }>;
      nonces: DocumentStore<{ expiresAt: number }>;
      batchSize: number;
      /** Issues one credential per holder key for the identity; returns them in the same order. */
      issue: (identityRef: string, holderJwks: PublicJwk[], alg: JwsAlg) => Promise<string[]>;
      clock?: () => Date;
      offerValiditySeconds?: number;
    },
  ) {
    this.issuerJwk = jwkFromDidKey(deps.issuer.did) as Ed25519PublicJwk;
    if (this.issuerJwk.kty !== "OKP") throw new TypeError("the issuer's DID must be an Ed25519 did:key");
    this.configurations = new Map<string, JwsAlg>([[CREDENTIAL_CONFIGURATION_ID, "EdDSA"], ...(deps.es256 ? [[CREDENTIAL_CONFIGURATION_ID_ES256, "ES256"] as [string, JwsAlg]] : [])]);
    const callbacks = oid4vcCallbacks({
      signerFor: (jwk) => ((jwk as Ed25519PublicJwk).x === this.issuerJwk.x ? deps.issuer.signer : undefined),
      // The access token is verified against our own key set: answered locally, never over the network.
      fetch: async (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        if (url === `${this.deps.baseUrl()}/.well-known/jwks.json`) return Response.json(this.jwks(), { headers: { "content-type": "application/jwk-set+json" } });
        return boundedFetch(input, init);
      },
    });
    this.issuerLib = new Openid4vciIssuer({ callbacks: callbacks as never });
    this.authServer = new Oauth2AuthorizationServer({ callbacks: callbacks as never });
    this.resourceServer = new Oauth2ResourceServer({ callbacks: callbacks as never });
  }

  private now(): Date {
    return (this.deps.clock ?? (() => new Date()))();
  }

  /** The kid under which the ES256 key signs (undefined without one). */
  es256Kid(): string | undefined {
    const k = this.deps.es256;
    return k ? (k.kid ?? `${this.deps.issuer.did}#${jwkThumbprint(k.jwk)}`) : undefined;
  }

  jwks() {
    const es256 = this.deps.es256 ? [{ ...this.deps.es256.jwk, kid: this.es256Kid()!, alg: "ES256", use: "sig" }] : [];
    return { keys: [{ ...this.issuerJwk, kid: EDDSA_JWKS_KID, alg: "EdDSA", use: "sig" }, ...es256] };
  }

  /**
   * The keys credentials are signed with, each with the `kid` credential headers name: the Ed25519 key (its
   * did:key verification method) and the P-256 key when there is one. Published in the JWT VC Issuer Metadata.
   */
  credentialSigningKeys(): Array<PublicJwk & { kid: string }> {
    const es256 = this.deps.es256 ? [{ ...this.deps.es256.jwk, kid: this.es256Kid()! }] : [];
    return [{ ...this.issuerJwk, kid: didKeyKid(this.deps.issuer.did) }, ...es256];
  }

  /**
   * The issuer as a verifier's trust list names it: its DID (Ed25519 key) and, for ES256 credentials, its P-256
   * key; and the same keys under its URL, for credentials whose `iss` is the URL (ISSUER_IDENTIFIER=url).
   */
  trustedIssuerKeys(): Array<string | TrustedIssuerKey> {
    const base = this.deps.baseUrl();
    return [
      this.deps.issuer.did,
      ...(this.deps.es256 ? [{ iss: this.deps.issuer.did, jwk: this.deps.es256.jwk }] : []),
      ...this.credentialSigningKeys().map(({ kid, ...jwk }) => ({ iss: base, jwk: jwk as PublicJwk, kid })),
    ];
  }

  /** The configuration ids this issuer offers, EdDSA first. */
  configurationIds(): string[] {
    return [...this.configurations.keys()];
  }

  authorizationServerMetadata() {
    const base = this.deps.baseUrl();
    return this.authServer.createAuthorizationServerMetadata({
      issuer: base,
      token_endpoint: `${base}/token`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      "pre-authorized_grant_anonymous_access_supported": true,
      grant_types_supported: [preAuthorizedCodeGrantIdentifier],
    } as never);
  }

  credentialIssuerMetadata() {
    const base = this.deps.baseUrl();
    return this.issuerLib.createCredentialIssuerMetadata({
      credential_issuer: base,
      credential_endpoint: `${base}/credential`,
      nonce_endpoint: `${base}/nonce`,
      authorization_servers: [base],
      batch_credential_issuance: { batch_size: this.deps.batchSize },
      display: [{ name: this.deps.issuer.name, locale: "en" }],
      credential_configurations_supported: Object.fromEntries(
        [...this.configurations].map(([id, alg]) => [
          id,
          {
            format: "dc+sd-jwt",
            vct: identityVct(base),
            scope: "RealNameIdentity",
            cryptographic_binding_methods_supported: ["jwk"],
            credential_signing_alg_values_supported: [alg],
            proof_types_supported: { jwt: { proof_signing_alg_values_supported: PROOF_ALGS[alg] } },
            credential_metadata: { display: [{ name: alg === "ES256" ? "Real-name identity (ES256)" : "Real-name identity", locale: "en" }] },
          },
        ]),
      ),
    } as never);
  }

  private issuerMetadata(): IssuerMetadataResult {
    const credentialIssuer = this.credentialIssuerMetadata();
    return {
      credentialIssuer,
      authorizationServers: [this.authorizationServerMetadata()],
      knownCredentialConfigurations: this.issuerLib.getKnownCredentialConfigurationsSupported(credentialIssuer),
      originalDraftVersion: Openid4vciDraftVersion.V1,
    } as unknown as IssuerMetadataResult;
  }

  /** A credential offer for a verified identity: a link (and QR code) the wallet redeems once. */
  async createOffer(identityRef: string): Promise<{ offerId: string; credentialOffer: string; offerUri: string; expiresAt: string }> {
    const offerId = randomUUID();
    const preAuthorizedCode = randomBytes(16).toString("base64url");
    const expiresAt = Math.floor(this.now().getTime() / 1000) + (this.deps.offerValiditySeconds ?? 600);
    const offerUri = `${this.deps.baseUrl()}/offers/${offerId}`;
    const created = await this.issuerLib.createCredentialOffer({
      credentialConfigurationIds: this.configurationIds(),
      grants: { [preAuthorizedCodeGrantIdentifier]: { "pre-authorized_code": preAuthorizedCode } },
      issuerMetadata: this.issuerMetadata(),
      credentialOfferUri: offerUri,
      credentialOfferScheme: "openid-credential-offer://",
    });
    const doc: OfferDoc = { offerId, identityRef, preAuthorizedCode, createdAt: this.now().toISOString(), expiresAt, state: "offered" };
    await this.deps.offers.batch([
      { type: "put", key: `offer:${offerId}`, value: doc },
      { type: "put", key: `code:${preAuthorizedCode}`, value: { offerId } },
    ]);
    return { offerId, credentialOffer: created.credentialOffer, offerUri, expiresAt: new Date(expiresAt * 1000).toISOString() };
  }

  /** The offer object behind `credential_offer_uri`; gone once redeemed or expired. */
  async offerObject(offerId: string): Promise<Record<string, unknown>> {
    const doc = (await this.deps.offers.get(`offer:${offerId}`)) as OfferDoc | undefined;
    if (!doc || doc.state !== "offered" || doc.expiresAt <= Math.floor(this.now().getTime() / 1000)) throw new AgentError("ERR_OFFER_NOT_FOUND", "no such open credential offer");
    return {
      credential_issuer: this.deps.baseUrl(),
      credential_configuration_ids: this.configurationIds(),
      grants: { [preAuthorizedCodeGrantIdentifier]: { "pre-authorized_code": doc.preAuthorizedCode } },
    };
  }

  static async qrPng(text: string): Promise<Buffer> {
    return QRCode.toBuffer(text, { type: "png", errorCorrectionLevel: "M", margin: 2, scale: 6 });
  }
  static async qrTerminal(text: string): Promise<string> {
    return QRCode.toString(text, { type: "terminal", small: true });
  }

  /** Token endpoint: exchanges the pre-authorized code (once) for an access token bound to the offer. */
  async token(body: Record<string, unknown>, request: HttpRequestLike): Promise<Record<string, unknown>> {
    const parsed = this.authServer.parseAccessTokenRequest({ accessTokenRequest: body, request } as never);
    if (parsed.grant.grantType !== preAuthorizedCodeGrantIdentifier) throw new AgentError("ERR_OAUTH_UNSUPPORTED_GRANT", "only the pre-authorized code grant is supported");
    const code = (parsed.grant as { preAuthorizedCode: string }).preAuthorizedCode;
    const link = (await this.deps.offers.take(`code:${code}`)) as { offerId: string } | undefined;
    const offer = link ? ((await this.deps.offers.get(`offer:${link.offerId}`)) as OfferDoc | undefined) : undefined;
    if (!offer || offer.state !== "offered" || offer.expiresAt <= Math.floor(this.now().getTime() / 1000)) throw new AgentError("ERR_OAUTH_INVALID_GRANT", "the pre-authorized code is unknown, used or expired");
    await this.authServer.verifyPreAuthorizedCodeAccessTokenRequest({
      authorizationServerMetadata: this.authorizationServerMetadata(),
      grant: parsed.grant,
      accessTokenRequest: parsed.accessTokenRequest,
      expectedPreAuthorizedCode: offer.preAuthorizedCode,
      request,
      dpop: { required: false, ...parsed.dpop },
      clientAttestation: { required: false, ...parsed.clientAttestation },
      now: this.now(),
    } as never);
    // Only the holder of the code gets here (take above); the state moves on only from "offered".
    if (!(await this.transition(offer.offerId, "offered", "token-issued"))) throw new AgentError("ERR_OAUTH_INVALID_GRANT", "the pre-authorized code is unknown, used or expired");
    return this.authServer.createAccessTokenResponse({
      audience: this.deps.baseUrl(),
      authorizationServer: this.deps.baseUrl(),
      signer: { method: "jwk", alg: "EdDSA", publicJwk: { ...this.issuerJwk, kid: EDDSA_JWKS_KID } as Jwk },
      subject: offer.offerId,
      expiresInSeconds: ACCESS_TOKEN_SECONDS,
      scope: "RealNameIdentity",
      now: this.now(),
    } as never) as Promise<Record<string, unknown>>;
  }

  /** Moves an offer from one state to the next atomically; false if it was not in `from` (someone else moved it). */
  private async transition(offerId: string, from: OfferDoc["state"], to: OfferDoc["state"]): Promise<boolean> {
    let moved = false;
    await this.deps.offers.update(`offer:${offerId}`, (doc) => {
      const offer = doc as OfferDoc | undefined;
      if (!offer || offer.state !== from) return doc;
      moved = true;
      return { ...offer, state: to };
    });
    return moved;
  }

  /**
   * Deletes what can no longer be used: offers (and their pre-authorized codes) past their expiry plus the
   * access token's lifetime (a token issued just before the offer expired still finds its offer), and c_nonces
   * past theirs. Returns how many entries went.
   */
  async sweep(now = this.now()): Promise<{ offers: number; nonces: number }> {
    const t = Math.floor(now.getTime() / 1000);
    let offers = 0;
    for (const [key, doc] of await this.deps.offers.list({ prefix: "offer:" })) {
      const offer = doc as OfferDoc;
      if (offer.expiresAt + ACCESS_TOKEN_SECONDS > t) continue;
      await this.deps.offers.batch([
        { type: "del", key },
        { type: "del", key: `code:${offer.preAuthorizedCode}` },
      ]);
      offers++;
    }
    let nonces = 0;
    for (const [key, doc] of await this.deps.nonces.list()) {
      if (doc.expiresAt > t) continue;
      await this.deps.nonces.del(key);
      nonces++;
    }
    return { offers, nonces };
  }

  /**
   * OpenID4VCI 1.0 §8.3.1.2: a request naming a credential configuration this issuer does not offer is
   * `unknown_credential_configuration`; a `credential_identifier` is `unknown_credential_identifier` (the token
   * response carries no authorization_details, so this issuer hands out no identifiers).
   */
  private checkRequestedConfiguration(body: Record<string, unknown>): void {
    if (body.credential_identifier !== undefined) throw new AgentError("ERR_UNKNOWN_CREDENTIAL_IDENTIFIER", "this issuer issues no credential identifiers: name a credential_configuration_id");
    const id = body.credential_configuration_id;
    if (id === undefined) return;
    const offered = Object.keys((this.credentialIssuerMetadata() as { credential_configurations_supported?: Record<string, unknown> }).credential_configurations_supported ?? {});
    if (typeof id !== "string" || !offered.includes(id)) throw new AgentError("ERR_UNKNOWN_CREDENTIAL_CONFIGURATION", "the requested credential configuration is not one this issuer offers");
  }

  /** Nonce endpoint: a fresh single-use `c_nonce` for proofs of possession. */
  async nonce(): Promise<Record<string, unknown>> {
    const cNonce = randomBytes(16).toString("base64url");
    await this.deps.nonces.put(cNonce, { expiresAt: Math.floor(this.now().getTime() / 1000) + 300 });
    return this.issuerLib.createNonceResponse({ cNonce, cNonceExpiresIn: 300 } as never) as Record<string, unknown>;
  }

  /** Credential endpoint: verifies the access token and every proof, then issues the batch. */
  async credential(body: Record<string, unknown>, request: HttpRequestLike): Promise<Record<string, unknown>> {
    const { tokenPayload } = await this.resourceServer.verifyResourceRequest({
      authorizationServers: [this.authorizationServerMetadata()],
      resourceServer: this.deps.baseUrl(),
      request,
      allowedAuthenticationSchemes: [SupportedAuthenticationScheme.Bearer, SupportedAuthenticationScheme.DPoP],
      now: this.now(),
    } as never);
    const offer = (await this.deps.offers.get(`offer:${tokenPayload.sub}`)) as OfferDoc | undefined;
    if (!offer || offer.state !== "token-issued") throw new AgentError("ERR_OAUTH_INVALID_TOKEN", "this access token has already been used or belongs to no offer");
    // Built (and validated by the library) once per request, not once per proof of the batch.
    const issuerMetadata = this.issuerMetadata();
    this.checkRequestedConfiguration(body);
    // Proofs in an algorithm we never accept (alg none, HS256, …) are refused with our code before the library parses them.
    const rawProofs = (body.proofs as { jwt?: unknown } | undefined)?.jwt;
    if (Array.isArray(rawProofs) && rawProofs.some((p) => !isJwsAlg(decodeJws(p)?.header.alg))) throw new AgentError("ERR_PROOF_ALG", "proofs of possession are signed EdDSA or ES256");
    const parsed = this.issuerLib.parseCredentialRequest({ issuerMetadata, credentialRequest: body });
    const proofs = parsed.proofs?.jwt ?? [];
    if (proofs.length === 0) throw new AgentError("ERR_PROOF_MISSING", "proofs of possession (jwt) are required");
    if (proofs.length > this.deps.batchSize) throw new AgentError("ERR_BATCH_TOO_LARGE", `at most ${this.deps.batchSize} proofs per request`);
    const nonceInProof = decodeJws(proofs[0])?.payload.nonce;
    const nonce = typeof nonceInProof === "string" ? await this.deps.nonces.take(nonceInProof) : undefined;
    if (!nonce || nonce.expiresAt <= Math.floor(this.now().getTime() / 1000)) throw new AgentError("ERR_PROOF_NONCE", "the proofs do not carry a fresh nonce from this issuer");
    // Which configuration: named by the request (draft 15+/1.0), else the EdDSA one (a request by `format`).
    const configurationId = parsed.credentialConfigurationId ?? CREDENTIAL_CONFIGURATION_ID;
    const alg = this.configurations.get(configurationId);
    if (!alg) throw new AgentError("ERR_UNKNOWN_CREDENTIAL_CONFIGURATION", "this issuer offers no such credential configuration");
    const holderJwks: PublicJwk[] = [];
    for (const jwt of proofs) {
      // The library checks the signature (our callback fixes the algorithm by the key), not the metadata's list.
      const proofHeader = decodeJws(jwt)?.header;
      if (typeof proofHeader?.alg !== "string" || !PROOF_ALGS[alg].includes(proofHeader.alg as JwsAlg)) throw new AgentError("ERR_PROOF_ALG", `proofs for ${configurationId} are signed ${PROOF_ALGS[alg].join(" or ")}`);
      // Our own check first, for a stable code: the header's key decides the algorithm (no alg confusion).
      if (proofHeader.jwk !== undefined) {
        const own = verifyJwt(jwt, proofHeader.jwk as PublicJwk, { typ: "openid4vci-proof+jwt" });
        const code = own.errors[0]?.code;
        if (code === "ERR_UNSUPPORTED_KEY") throw new AgentError("ERR_UNSUPPORTED_KEY", own.errors[0]!.message);
        if (code === "ERR_JWS_ALG") throw new AgentError("ERR_PROOF_ALG", own.errors[0]!.message);
        if (code) throw new AgentError("ERR_PROOF_INVALID", own.errors[0]!.message);
      }
      const verified = await this.issuerLib.verifyCredentialRequestJwtProof({
        issuerMetadata,
        jwt,
        expectedNonce: nonceInProof as string,
        nonceExpiresAt: new Date(nonce.expiresAt * 1000),
        now: this.now(),
      } as never);
      holderJwks.push(publicJwkFrom((verified.signer as { publicJwk?: Jwk }).publicJwk));
    }
    if (new Set(holderJwks.map((k) => jwkThumbprint(k))).size !== holderJwks.length) throw new AgentError("ERR_PROOF_KEYS_REUSED", "each credential of the batch needs its own key");
    // The access token is spent here, atomically: of concurrent requests with one token exactly one moves the
    // offer from "token-issued" to "redeemed" and is issued a batch; the others are refused.
    if (!(await this.transition(offer.offerId, "token-issued", "redeemed"))) throw new AgentError("ERR_OAUTH_INVALID_TOKEN", "this access token has already been used or belongs to no offer");
    let credentials: string[];
    try {
      credentials = await this.deps.issue(offer.identityRef, holderJwks, alg);
    } catch (error) {
      await this.transition(offer.offerId, "redeemed", "token-issued"); // nothing was issued: the token stays usable
      throw error;
    }
    return this.issuerLib.createCredentialResponse({ credentialRequest: parsed, credentials: credentials.map((credential) => ({ credential })) } as never) as Record<string, unknown>;
  }
}
