/**
 * The issuer's composition root: reads configuration, builds every part over one LevelDB, listens.
 */
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import {
  AgentError,
  AttestedIdentities,
  connectAnchoringFromEnv,
  createRoleAgent,
  CredentialIssuance,
  DataKey,
  PlatformCa,
  riskLimitsFromEnv,
  DeviceEnrolment,
  DeviceRegistry,
  enrolmentPolicyFromEnv,
  ensureIdentifier,
  identityRegistryFromEnv,
  isFaceSearchable,
  RegistryFaceIndex,
  HolderKeyIndex,
  PlatformTrace,
  TraceService,
  IdentityIssuer,
  IdentityVault,
  identifierKeyObjectSigner,
  ensureKeyObjectSigner,
  jwkFromDidKey,
  jwkThumbprint,
  type P256PublicJwk,
  identityVct,
  isUrlIssuer,
  openRoleDatabase,
  duplicateFaceByEmbedding,
  HumanFaceMatcher,
  HumanLivenessCheck,
  loadHuman,
  privateUmask,
  receiptHash,
  RegistrationService,
  REPO_ROOT,
  RiskEngine,
  RiskState,
  SpentTokens,
  StatusListService,
  sweepIssuer,
  TrustRegistry,
  writePrivateFile,
} from "@realname/agent";
import { createApp } from "./app.js";
import { buildPaymentsPlatform } from "./payments-platform.js";
import { listen, printHelpIfAsked } from "./config.js";

printHelpIfAsked();
// Every file this process creates (LevelDB's tables and logs, demo secrets) is private to its user (0600).
privateUmask();
const env = process.env;
const port = Number(env.PORT ?? 3001);
const host = env.HOST ?? "127.0.0.1";
const dataDir = env.DATA_DIR ?? join(REPO_ROOT, ".data", "issuer");
const demoMode = env.ISSUER_DEMO_MODE === "1";
const log = (line: string) => process.stdout.write(line + "\n");

/** In demo mode a missing secret is generated once and kept in DATA_DIR (so a restart loses nothing). */
function secret(name: string, file: string, bytes: number): string {
  const value = env[name];
  if (value) return value;
  if (!demoMode) throw new AgentError("ERR_CONFIG", `${name} must be set (or run with ISSUER_DEMO_MODE=1 for a local demo)`);
  const path = join(dataDir, file);
  if (!existsSync(path)) writePrivateFile(path, randomBytes(bytes).toString("hex"));
  process.stderr.write(`warning: ${name} not set; demo mode uses ${path}\n`);
  return readFileSync(path, "utf8").trim();
}

async function main() {
  const { db, lease } = await openRoleDatabase(env, { role: "issuer", dataDir });
  const dataKey = DataKey.fromEnvironment(env) ?? new DataKey(Buffer.from(secret("ISSUER_DATA_KEY", "demo-data.key", 32), "hex"));
  const adminToken = secret("ADMIN_TOKEN", "demo-admin.token", 24);
  const { agent, box } = await createRoleAgent(db, env.ISSUER_PASSPHRASE ?? secret("ISSUER_PASSPHRASE", "demo-passphrase", 24));
  const identifier = await ensureIdentifier(agent, "issuer");
  let baseUrl = env.PUBLIC_URL ?? "";
  // What credentials and status lists carry as `iss`: this issuer's public URL, whose /.well-known/jwt-vc-issuer
  // publishes its key (what a standard verifier resolves), or its did:key. Default: the URL when PUBLIC_URL is
  // https (a deployment: the name is stable), the DID otherwise (a development port changes at every start,
  // and a name that changes would orphan the credentials already issued). See README, "Discovery".
  const identifierMode = env.ISSUER_IDENTIFIER ?? (baseUrl.startsWith("https://") ? "url" : "did");
  if (identifierMode !== "did" && identifierMode !== "url") throw new AgentError("ERR_CONFIG", "ISSUER_IDENTIFIER must be did or url");
  if (identifierMode === "url" && env.PUBLIC_URL !== undefined && !isUrlIssuer(env.PUBLIC_URL)) throw new AgentError("ERR_CONFIG", "ISSUER_IDENTIFIER=url needs PUBLIC_URL to be https (or http on loopback), without query or fragment");
  const issuer = {
    did: identifier.did,
    name: env.ISSUER_NAME ?? "Real-Name Identity Issuer (dev)",
    signer: await identifierKeyObjectSigner(db, box, identifier),
    ...(identifierMode === "url" ? { iss: () => baseUrl } : {}),
  };
  // The ES256 (P-256) key of the second credential configuration: a Veramo key sealed like the Ed25519 one.
  const es256Key = await ensureKeyObjectSigner(agent, db, box, "issuer-es256", "ES256");
  const es256Jwk = jwkFromDidKey(es256Key.identifier.did) as P256PublicJwk;
  // Its kid (in the header of ES256 credentials, the JWKS and the jwt-vc-issuer metadata): the issuer's DID with the key's RFC 7638 thumbprint.
  const es256 = { jwk: es256Jwk, kid: `${issuer.did}#${jwkThumbprint(es256Jwk)}`, signer: es256Key.signer };

  const { queue, registry } = await connectAnchoringFromEnv(env, { devAccount: 2, store: db.store("anchor-queue"), lease: lease("anchoring"), log });

  const vault = new IdentityVault(db.store("identities"), dataKey);
  const status = new StatusListService(db.store("status-lists"), {
    listId: "1",
    uri: () => `${baseUrl}/status-lists/1`,
    issuer,
    ttlSeconds: Number(env.STATUS_TTL_SECONDS ?? 300),
    // Every change of the list is anchored: "was this credential valid when the grant was made?" has an answer.
    onChange: async (jwt) => void (await queue.enqueue(receiptHash(jwt))),
    // Status changes are published on fixed slots, a person's spread over several (see StatusListService).
    schedule: { intervalSeconds: Number(env.STATUS_PUBLISH_INTERVAL_SECONDS ?? 5), spreadSlots: Number(env.STATUS_SPREAD_SLOTS ?? 6) },
  });
  const publisher = setInterval(() => void status.publishDue().catch((error) => log(JSON.stringify({ event: "status-publish-failed", code: (error as AgentError).code ?? "ERR_INTERNAL" }))), Number(env.STATUS_PUBLISH_INTERVAL_SECONDS ?? 5) * 1000);
  publisher.unref();
  const devices = new DeviceRegistry(db.store("devices"));
  const faces = new HumanFaceMatcher();
  // The duplicate-face rule on the face model's embeddings, at the matcher's own threshold.
  const risk = new RiskEngine(new RiskState(db.store("risk-state"), riskLimitsFromEnv(env)), db.store("risk-log"), { duplicateFaceCheck: duplicateFaceByEmbedding(faces.threshold) });
  // Every registry JWT served is kept and anchored, like the status list (evidence names the one a merchant relied on).
  const trust = new TrustRegistry(db.store("trust-registry"), issuer, undefined, { snapshots: db.store("trust-registry-snapshots"), onSigned: async (jwt) => void (await queue.enqueue(receiptHash(jwt))) });
  // Whose holder keys the platform bound at issuance: the trace and the escrow find the person by them alone.
  const holderKeys = new HolderKeyIndex(db.store("holder-keys"), dataKey);
  const identityIssuer = new IdentityIssuer({
    holderKeys,
    issuer,
    es256,
    vct: () => identityVct(baseUrl),
    vault,
    status,
    validForSeconds: Number(env.CREDENTIAL_VALIDITY_DAYS ?? 365) * 86_400,
    // One pseudonym per person per merchant that may open accounts: the merchant enforces "one account each" with it.
    pseudonyms: {
      merchants: async () => (await trust.document()).merchants.filter((m) => m.maxLevel !== "verified").map((m) => m.did),
      value: (ref, merchantDid) => dataKey.index("merchant-pseudonym", `${ref}\u0000${merchantDid}`),
    },
    onIssued: (args, now) => risk.recordIssued(args, now),
  });
  const identityRegistry = identityRegistryFromEnv(env, join(REPO_ROOT, "issuer-service", "fixtures", "identity-registry.json"));
  // The face model loads in the background at start-up (not on the first registration); listening does not wait for it.
  void loadHuman().catch((error) => log(JSON.stringify({ event: "face-model-load-failed", message: String(error) })));
  const attestations = new AttestedIdentities({ registry: identityRegistry, faces, vault, risk, key: dataKey, reviews: db.store("identity-reviews") });
  // Face-first registration (seed 002) searches the registry's photos when the registry can list them; the
  // embeddings are computed once in the background (kept by photo hash) and refreshed hourly.
  const candidates = isFaceSearchable(identityRegistry) ? new RegistryFaceIndex({ registry: identityRegistry, faces, embeddings: db.store("registry-face-index") }) : undefined;
  if (candidates && env.FACE_FIRST !== "0") void candidates.load().then(({ candidates: n }) => log(JSON.stringify({ event: "face-index-loaded", candidates: n })), (error) => log(JSON.stringify({ event: "face-index-load-failed", message: String(error) })));
  const registration = new RegistrationService({
    audience: issuer.did,
    registry: identityRegistry,
    faces,
    ...(candidates && env.FACE_FIRST !== "0" ? { candidates } : {}),
    liveness: new HumanLivenessCheck({ challenges: db.store("liveness-challenges"), verifyDevice: (proof, expected) => devices.verifySubmission(proof, expected) }),
    // Off by default until the browser capture page sends frames; REQUIRE_LIVENESS=1 refuses portraits without them.
    requireLiveness: env.REQUIRE_LIVENESS === "1",
    devices,
    risk,
    vault,
    key: dataKey,
    nonces: db.store("registration-nonces"),
    pending: db.store("pending-registrations"),
  });
  const issuance = new CredentialIssuance({
    baseUrl: () => baseUrl,
    issuer,
    offers: db.store("offers"),
    nonces: db.store("c-nonces"),
    batchSize: Number(env.CREDENTIAL_BATCH_SIZE ?? 10),
    es256,
    issue: (ref, keys, alg) => identityIssuer.issue(ref, keys, alg),
  });
  const spentTokens = new SpentTokens(db.store("spent-jtis"));
  // The merchant CA: its P-256 key sealed by the data key, its root kept; created at the first start.
  const platformCa = await PlatformCa.open(db.store("platform-ca"), dataKey, { now: new Date() });
  // Self-enrolment of capture devices under the issuer's attestation policy (off unless AAGUIDs are listed).
  const enrolmentPolicy = enrolmentPolicyFromEnv(env, (path) => readFileSync(path, "utf8"));
  const enrolment = new DeviceEnrolment({ devices, risk, policy: () => enrolmentPolicy, origin: () => baseUrl, rpName: issuer.name, pending: db.store("device-enrolments") });
  const traceService = new TraceService({
    platformDid: issuer.did,
    trace: new PlatformTrace({ personKeys: db.store("trace-person-keys"), entries: db.store("trace-entries"), escrow: db.store("trace-escrow") }, dataKey),
    holderKeys,
    vault,
    trust,
    spent: spentTokens,
    anchor: queue,
  });
  // In-person payments (seed 003): the same face matcher and identity registry as registration.
  const inPerson = buildPaymentsPlatform({ db, vault, registry: identityRegistry, faces, trust, issuer, queue, log });
  const app = createApp({
    issuer,
    baseUrl: () => baseUrl,
    registration,
    devices,
    enrolment,
    attestations,
    addressRef: (address) => dataKey.index("address", address),
    risk,
    issuance,
    identityIssuer,
    status,
    trust,
    vault,
    queue,
    platformCa,
    adminToken,
    spentTokens,
    trace: traceService,
    payments: inPerson.payments,
    rateLimit: { max: Number(env.RATE_LIMIT_PER_MINUTE ?? 1200), windowMs: 60_000 },
    log,
  });
  // Expired offers, c_nonces, registration nonces, unconfirmed registrations and spent jtis are swept.
  const sweeper = setInterval(() => {
    void sweepIssuer({ issuance, registration, spentTokens }, new Date())
      .then((n) => n.total && log(JSON.stringify({ t: new Date().toISOString(), event: "issuer-sweep", ...n })))
      .catch((e) => log(JSON.stringify({ t: new Date().toISOString(), level: "warn", event: "issuer-sweep-failed", reason: String(e).slice(0, 200) })));
  }, Number(env.SWEEP_INTERVAL_MS ?? 60_000));
  sweeper.unref();
  const actualPort = await listen(app, {
    port,
    host,
    role: "issuer",
    did: identifier.did,
    onClose: async () => {
      clearInterval(sweeper);
      clearInterval(publisher);
      inPerson.stop();
      await queue.stop();
      registry.close();
      await db.close();
    },
    beforeAnnounce: (p) => {
      baseUrl ||= `http://${host}:${p}`;
    },
  });
  void actualPort;
}

main().catch((error) => {
  process.stderr.write(`issuer-service cannot start: ${error instanceof AgentError ? `${error.code}: ${error.message}` : String(error)}\n`);
  process.exit(1);
});
