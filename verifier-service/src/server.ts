import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { Wallet } from "ethers";
import { sweepRetention } from "./retention.js";
import { sweepExpired } from "./sweep.js";
import { AgentError, DEFAULT_STATUS_MAX_AGE_SECONDS, NotaryGate, StatusListResolver, TrustRegistryResolver, connectAnchoringFromEnv, createRoleAgent, DEFAULT_RPC_URL, ensureIdentifier, fetchJson, identifierKeyObjectSigner, identityVct, isLoopbackHttpUrl, jwkFromDidKey, merchantX5c, isUrlIssuer, IssuerMetadataResolver, didKeyFromJwk, openRoleDatabase, durably, privateUmask, publicJwkFrom, REPO_ROOT, RESPONSE_MODE_ENCRYPTED, RESPONSE_MODES, type ResponseMode, type TrustedIssuerKey } from "@realname/agent";
import { createApp } from "./app.js";
import { checkoutOffersSchema, DEFAULT_CHECKOUT_OFFERS, EXAMPLE_ORDER, type CheckoutConfig } from "./checkout.js";

const HELP = `verifier-service: a merchant's verifier. Creates signed presentation requests, verifies answers,
opens pseudonymous accounts, counter-signs grant receipts and anchors receipts on chain.

Environment:
  PORT                   port to listen on (default 3002; 0 picks a free one)
  HOST                   address to bind (default 127.0.0.1)
  PUBLIC_URL             base URL wallets reach this service at (default http://HOST:PORT)
  DATA_DIR               LevelDB folder (default .data/verifier)
  DATABASE_URL           PostgreSQL instead of LevelDB (postgres://…): replicas share its schema DATABASE_SCHEMA
                         (default verifier); one replica at a time anchors (advisory lock), another takes over
  CHAIN_RPC_URL          chain endpoint (default ${DEFAULT_RPC_URL})
  DEPLOYMENT_FILE        deployment written by \`npm run deploy\` (default deployments/localhost.json)
  ANCHOR_REGISTRY_ADDRESS overrides the deployment file's address
  ANCHOR_PRIVATE_KEY     key holding ANCHORER_ROLE (default on a Hardhat dev chain: dev account ANCHOR_DEV_ACCOUNT, 1)
  MERCHANT_NAME          the merchant's display name
  MERCHANT_PASSPHRASE    seals the merchant's private keys at rest (required)
  VERIFIER_DEMO_MODE=1   local demo: a missing passphrase is generated once into DATA_DIR (never in production)
  TRUSTED_ISSUERS        comma-separated issuers to trust: did:key DIDs, or https issuer URLs whose keys are read
                         from their /.well-known/jwt-vc-issuer metadata (cached; loopback http in development;
                         an issuer URL's metadata publishes its EdDSA and ES256 keys)
  TRUSTED_ISSUER_KEYS    JSON [{iss, jwk}]: further issuer keys (e.g. a DID issuer's ES256 key for its ES256 credentials)
  IDENTITY_VCT           the identity credential type asked for and accepted (default: the first trusted issuer
                         URL's, else ISSUER_URL's, /vct/realname-identity/v1)
  ISSUER_METADATA_CACHE_SECONDS how long an https issuer's keys are reused (default 300)
  MERCHANT_ALG           EdDSA (default) or ES256: the merchant's DID is then a P-256 did:key (ES256 request objects, receipts)
  MERCHANT_X509_CHAIN_FILE PEM of the merchant's certificate from the platform CA (POST /admin/merchants/:did/certificate
                         at the issuer; needs MERCHANT_ALG=ES256): the merchant is then the OpenID4VP client
                         x509_san_dns:<its dNSName>, and PUBLIC_URL must be on that name. Default: decentralized_identifier
  MERCHANT_X509_DNS      which of the certificate's dNSNames to use (default the first)
  MERCHANT_X509_PREFIX   x509_san_dns (default) or x509_hash (HAIP 1.0: the client id is the leaf's SHA-256)
  ISSUER_URL             the issuer (its registry of notaries; and if TRUSTED_ISSUERS is unset, whom to trust)
                         (development only; default http://127.0.0.1:3001)
  RATE_LIMIT_PER_MINUTE  requests per client address per minute (default 1200)
  STATUS_CACHE_SECONDS   how long an issuer's status list is trusted, whatever its ttl (default 60): a suspended or
                         revoked credential is refused within this bound; \`full\` grants always check fresh
  TRUST_REGISTRY_CACHE_SECONDS how long the issuer's merchant registry is reused (default 60); grant receipts name it
  RETENTION_SWEEP_MS     how often identity data past its retention is deleted (default 60000)
  EXPIRY_SWEEP_MS        how often expired requests, nonces, login challenges and response codes are removed,
                         10 minutes after they expire (default 30000; at most EXPIRY_SWEEP_LIMIT per run, default 500)
  RESPONSE_MODE          direct_post.jwt (default: answers encrypted to a key made for each request, ECDH-ES P-256
                         with A128GCM/A256GCM, as HAIP requires) or direct_post (plain answers)
  REQUEST_VALIDITY_SECONDS how long a presentation request stays answerable (default 300)
  RESPONSE_CODE_SECONDS  how long the wallet's one-time response code shows the result with its values (default 120)
  ANCHOR_BATCH_SIZE      receipts per batch (default 256); ANCHOR_BATCH_AGE_MS: oldest receipt's wait (default 2000)
  CHECKOUT               the demo checkout page at /checkout: on unless set to 0
  CHECKOUT_OFFERS        JSON list of what the checkout asks for: [{id,title,level,purpose,retentionDays,claims,ageOver18}]
                         (default: an age check, membership and an invoice; the issuer must register the purposes)
  POS                    the in-person payment page at /pos: on unless set to 0
  PAYMENT_PLATFORM_URL   where the POS reports (default ISSUER_URL): the issuer's /payments endpoints
  CHECKOUT_LOGO_URL      the shop's logo on the checkout (default: a monogram of its name)
  CHECKOUT_EXAMPLE_ORDER 0: no example order on the checkout (shown by default: this is a demo page)
  WALLET_WEB_URL         a web wallet's address: the checkout offers "open in your web wallet"
  ANCHOR_CONFIRMATIONS   blocks before a receipt counts as anchored (default 1); ANCHOR_AUDIT_MS: re-check of anchored roots (default 60000)
`;
if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(HELP);
  process.exit(0);
}

// Every file this process creates (LevelDB's tables and logs) is private to its user (0600).
privateUmask();
const env = process.env;
const port = Number(env.PORT ?? 3002);
const host = env.HOST ?? "127.0.0.1";
const dataDir = env.DATA_DIR ?? join(REPO_ROOT, ".data", "verifier");

/** The passphrase sealing the merchant's keys: required, except in demo mode where one is generated once. */
function merchantPassphrase(): string {
  if (env.MERCHANT_PASSPHRASE) return env.MERCHANT_PASSPHRASE;
  if (env.VERIFIER_DEMO_MODE !== "1") throw new AgentError("ERR_CONFIG", "MERCHANT_PASSPHRASE must be set (or run with VERIFIER_DEMO_MODE=1 for a local demo)");
  const file = join(dataDir, "demo-passphrase");
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString("hex"), { mode: 0o600 });
  process.stderr.write(`warning: MERCHANT_PASSPHRASE not set; demo mode uses ${file}\n`);
  return readFileSync(file, "utf8").trim();
}

/** The checkout page's offers: CHECKOUT_OFFERS (validated) or the defaults; off with CHECKOUT=0. */
function checkoutConfig(): CheckoutConfig | undefined {
  if (env.CHECKOUT === "0") return undefined;
  let offers = DEFAULT_CHECKOUT_OFFERS;
  if (env.CHECKOUT_OFFERS) {
    let raw: unknown;
    try {
      raw = JSON.parse(env.CHECKOUT_OFFERS);
    } catch {
      throw new AgentError("ERR_CONFIG", "CHECKOUT_OFFERS is not JSON");
    }
    const parsed = checkoutOffersSchema.safeParse(raw);
    if (!parsed.success) throw new AgentError("ERR_CONFIG", `CHECKOUT_OFFERS: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    offers = parsed.data;
  }
  // The demo checkout shows an example order (CHECKOUT_EXAMPLE_ORDER=0: none); CHECKOUT_LOGO_URL: the shop's logo.
  return { offers, walletUrl: env.WALLET_WEB_URL || undefined, logoUrl: env.CHECKOUT_LOGO_URL || undefined, order: env.CHECKOUT_EXAMPLE_ORDER === "0" ? undefined : EXAMPLE_ORDER };
}

function parseTrustedIssuerKeys(raw: string | undefined): TrustedIssuerKey[] {
  if (!raw) return [];
  try {
    const list = JSON.parse(raw) as Array<{ iss?: unknown; jwk?: unknown }>;
    if (!Array.isArray(list)) throw new TypeError("not an array");
    return list.map((e) => {
      if (typeof e?.iss !== "string" || e.iss.length === 0) throw new TypeError("iss missing");
      return { iss: e.iss, jwk: publicJwkFrom(e.jwk) };
    });
  } catch (error) {
    throw new AgentError("ERR_CONFIG", `TRUSTED_ISSUER_KEYS is not a JSON array of {iss, jwk} with Ed25519 or P-256 public keys: ${(error as Error).message}`);
  }
}

/** The did:key of an https issuer's Ed25519 key (from its metadata): what its signed registries are checked against. */
async function registrySignerOf(resolver: IssuerMetadataResolver, iss: string): Promise<string> {
  for (const { jwk } of await resolver.keysOf(iss)) {
    if (jwk.kty === "OKP") return didKeyFromJwk(jwk);
  }
  throw new AgentError("ERR_CONFIG", `the issuer ${iss} publishes no Ed25519 key to check its registry with`);
}

async function main() {
  const checkout = checkoutConfig();
  const responseMode = responseModeFrom(env.RESPONSE_MODE);
  const log = (line: string) => process.stdout.write(line + "\n");
  const { db, lease } = await openRoleDatabase(env, { role: "verifier", dataDir });
  const { registry, queue, anchorKey } = await connectAnchoringFromEnv(env, { devAccount: 1, store: db.store("anchor-queue"), lease: lease("anchoring"), log });

  let trustedIssuers = (env.TRUSTED_ISSUERS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  // Further issuer keys, e.g. an issuer's ES256 key: TRUSTED_ISSUER_KEYS='[{"iss":"did:key:…","jwk":{…}}]'.
  const trustedIssuerKeys = parseTrustedIssuerKeys(env.TRUSTED_ISSUER_KEYS);
  if (trustedIssuers.length === 0) {
    // Development convenience: trust whichever issuer answers at ISSUER_URL (default the local issuer).
    const issuerUrl = env.ISSUER_URL ?? "http://127.0.0.1:3001";
    // Whatever its credentials carry as `iss`: its DID, or its URL (then its keys come from its metadata).
    const info = await fetchJson<{ did: string; iss?: string }>(new URL("/.well-known/issuer", issuerUrl).href);
    trustedIssuers = [info.iss ?? info.did];
    process.stderr.write(`warning: TRUSTED_ISSUERS is not set; trusting the issuer at ${issuerUrl}: ${trustedIssuers[0]}\n`);
    // Trusting that issuer by its URL anyway: its ES256 key (JWKS) too, for its ES256 credentials.
    const { keys } = await fetchJson<{ keys?: Array<Record<string, unknown>> }>(new URL("/.well-known/jwks.json", issuerUrl).href).catch(() => ({ keys: [] }));
    for (const k of keys ?? []) if (k.kty === "EC" && k.crv === "P-256") trustedIssuerKeys.push({ iss: trustedIssuers[0]!, jwk: publicJwkFrom(k) });
  }
  if (trustedIssuers.length === 0) throw new AgentError("ERR_NO_TRUSTED_ISSUER", "set TRUSTED_ISSUERS (or ISSUER_URL) so the verifier knows whom to believe");
  // An https issuer is found from its URL alone: its keys come from its JWT VC Issuer Metadata (no DID
  // resolution). The merchant registry and notary registry it signs are checked against the did:key of that key.
  const issuerKeys = new IssuerMetadataResolver({ cacheSeconds: Number(env.ISSUER_METADATA_CACHE_SECONDS ?? 300) });
  const urlIssuer = trustedIssuers.find(isUrlIssuer);
  const registryIssuerDid = isUrlIssuer(trustedIssuers[0]!) ? await registrySignerOf(issuerKeys, trustedIssuers[0]!) : trustedIssuers[0]!;
  const issuerUrl = env.ISSUER_URL ?? urlIssuer ?? "http://127.0.0.1:3001";

  const { agent, box } = await createRoleAgent(db, merchantPassphrase());
  // MERCHANT_ALG=ES256: the merchant's DID is a P-256 did:key, so its request objects and grant receipts are
  // signed ES256 (HAIP wallets); EdDSA (Ed25519) stays the default. Each algorithm keeps its own identifier.
  const merchantAlg = env.MERCHANT_ALG ?? "EdDSA";
  if (merchantAlg !== "EdDSA" && merchantAlg !== "ES256") throw new AgentError("ERR_CONFIG", "MERCHANT_ALG is EdDSA or ES256");
  const identifier = merchantAlg === "ES256" ? await ensureIdentifier(agent, "merchant-es256", "ES256") : await ensureIdentifier(agent, "merchant");

  // x509_san_dns (OpenID4VP §5.9.3): the certificate must certify this very merchant key; checked here, at start.
  const x509Prefix = env.MERCHANT_X509_PREFIX ?? "x509_san_dns";
  if (x509Prefix !== "x509_san_dns" && x509Prefix !== "x509_hash") throw new AgentError("ERR_CONFIG", "MERCHANT_X509_PREFIX is x509_san_dns or x509_hash");
  const x509 = env.MERCHANT_X509_CHAIN_FILE ? merchantX5c([readFileSync(env.MERCHANT_X509_CHAIN_FILE, "utf8")], jwkFromDidKey(identifier.did) as unknown as Record<string, unknown>, env.MERCHANT_X509_DNS || undefined, x509Prefix) : undefined;

  let publicUrl = env.PUBLIC_URL ?? "";
  const app = createApp({
    merchant: { did: identifier.did, name: env.MERCHANT_NAME ?? "Demo Merchant", signer: await identifierKeyObjectSigner(db, box, identifier), ...(x509 ? { x509 } : {}) },
    trustedIssuers,
    trustedIssuerKeys,
    issuerKeys,
    identityVct: env.IDENTITY_VCT ?? identityVct(urlIssuer ?? issuerUrl),
    publicUrl: () => publicUrl,
    sessions: db.store("sessions"),
    nonces: db.store("nonces"),
    grants: db.store("grants"),
    accounts: db.store("accounts"),
    challenges: db.store("login-challenges"),
    expiries: db.store("expiries"),
    queue,
    durably: (work) => durably(db, work),
    seal: box,
    notaries: new NotaryGate({ audience: identifier.did, issuerUrl, issuerDid: registryIssuerDid, spentStore: db.store("notary-jtis"), allowLoopbackHttp: isLoopbackHttpUrl(issuerUrl) }),
    rateLimit: { max: Number(env.RATE_LIMIT_PER_MINUTE ?? 1200), windowMs: 60_000 },
    status: new StatusListResolver({ maxCacheSeconds: Number(env.STATUS_CACHE_SECONDS ?? DEFAULT_STATUS_MAX_AGE_SECONDS), allowLoopbackHttp: isLoopbackHttpUrl(issuerUrl) }),
    trustRegistry: new TrustRegistryResolver({ issuerUrl, issuerDid: registryIssuerDid, cacheSeconds: Number(env.TRUST_REGISTRY_CACHE_SECONDS ?? 60) }),
    requestValiditySeconds: Number(env.REQUEST_VALIDITY_SECONDS ?? 300),
    responseMode,
    responseCodeSeconds: Number(env.RESPONSE_CODE_SECONDS ?? 120),
    log,
    checkout,
    // The in-person payment page (/pos) reports to the payment platform, the issuer (POS=0: no page).
    ...(env.POS === "0" ? {} : { pos: { platformUrl: () => env.PAYMENT_PLATFORM_URL ?? issuerUrl } }),
  });
  const server = app.listen(port, host);
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const actualPort = (server.address() as { port: number }).port;
  publicUrl ||= `http://${host}:${actualPort}`;
  // Wallets send the answer only to the certified name (§5.9.3): a PUBLIC_URL elsewhere could never be answered.
  if (x509 && x509.prefix !== "x509_hash" && new URL(publicUrl).hostname !== x509.dnsName) throw new AgentError("ERR_CONFIG", `PUBLIC_URL must be on ${x509.dnsName}, the name the merchant certificate certifies`);
  log(JSON.stringify({ event: "listening", role: "verifier", url: publicUrl, did: identifier.did, anchorer: new Wallet(anchorKey).address }));

  // Identity data past its retention is deleted by a periodic sweep.
  const grantsStore = db.store<import("./app.js").StoredGrant>("grants");
  const sweeper = setInterval(() => {
    void sweepRetention(grantsStore, new Date())
      .then((n) => n && log(JSON.stringify({ t: new Date().toISOString(), event: "retention-sweep", deleted: n })))
      .catch((e) => log(JSON.stringify({ t: new Date().toISOString(), level: "warn", event: "retention-sweep-failed", reason: String(e).slice(0, 200) })));
  }, Number(env.RETENTION_SWEEP_MS ?? 60_000));
  sweeper.unref();

  // Expired requests, nonces, login challenges and response codes go too (bounded work per run).
  const expirySweeper = setInterval(() => {
    void sweepExpired({ expiries: db.store("expiries"), sessions: db.store("sessions"), nonces: db.store("nonces"), challenges: db.store("login-challenges") }, new Date(), { limit: Number(env.EXPIRY_SWEEP_LIMIT ?? 500) })
      .then((r) => (r.requests || r.challenges || r.responseCodes) && log(JSON.stringify({ t: new Date().toISOString(), event: "expiry-sweep", ...r })))
      .catch((e) => log(JSON.stringify({ t: new Date().toISOString(), level: "warn", event: "expiry-sweep-failed", reason: String(e).slice(0, 200) })));
  }, Number(env.EXPIRY_SWEEP_MS ?? 30_000));
  expirySweeper.unref();

  const shutdown = () => {
    clearInterval(sweeper);
    clearInterval(expirySweeper);
    server.close();
    server.closeAllConnections();
    void queue
      .stop()
      .then(() => queue.flush())
      .catch(() => undefined)
      .finally(async () => {
        await queue.stop();
        registry.close();
        await db.close();
        process.exit(0);
      });
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

main().catch((error) => {
  process.stderr.write(`verifier-service cannot start: ${error instanceof AgentError ? `${error.code}: ${error.message}` : String(error)}\n`);
  process.exit(1);
});

/** RESPONSE_MODE: one of the two OpenID4VP response modes; anything else stops the service at start. */
function responseModeFrom(value: string | undefined): ResponseMode {
  if (value === undefined || value === "") return RESPONSE_MODE_ENCRYPTED;
  if ((RESPONSE_MODES as readonly string[]).includes(value)) return value as ResponseMode;
  throw new AgentError("ERR_CONFIG", `RESPONSE_MODE must be one of ${RESPONSE_MODES.join(", ")}`);
}
