import type { Express } from "express";
import type { AddressInfo } from "node:net";

const HELP = `issuer-service: registers people against the identity registry and issues SD-JWT VC identity credentials.

Environment:
  PORT                     port to listen on (default 3001; 0 picks a free one)
  HOST                     address to bind (default 127.0.0.1)
  PUBLIC_URL               base URL wallets reach the issuer at (default http://HOST:PORT); https in production.
                           The credential type (vct) is PUBLIC_URL/vct/realname-identity/v1 (served there)
  ISSUER_IDENTIFIER        what credentials and status lists carry as iss: url (PUBLIC_URL, whose
                           /.well-known/jwt-vc-issuer publishes the key) or did (the issuer's did:key). Default: url
                           when PUBLIC_URL is https, did otherwise. The metadata is served in both modes
  DATA_DIR                 LevelDB folder (default .data/issuer)
  DATABASE_URL             PostgreSQL instead of LevelDB (postgres://…): replicas share its schema DATABASE_SCHEMA
                           (default issuer); one replica at a time anchors (advisory lock)
  CHAIN_RPC_URL            chain endpoint for anchoring status-list changes (default http://127.0.0.1:8545)
  DEPLOYMENT_FILE          deployment written by \`npm run deploy\` (default deployments/localhost.json)
  ANCHOR_PRIVATE_KEY       key with ANCHORER_ROLE (default on a Hardhat dev chain: dev account ANCHOR_DEV_ACCOUNT, 2)
  ISSUER_DATA_KEY          32-byte key (hex or base64) sealing verified identities (AES-GCM); or ISSUER_DATA_KEY_FILE
  ADMIN_TOKEN              bearer token for /admin endpoints
  ISSUER_PASSPHRASE        seals the issuer's signing keys at rest
  ISSUER_DEMO_MODE=1       local demo: missing secrets are generated once into DATA_DIR (never in production)
  ISSUER_NAME              display name
  IDENTITY_REGISTRY        file (default) or https: which identity registry adapter answers lookups
  IDENTITY_REGISTRY_FILE   file adapter: JSON {"people":[...]} or .ndjson, one record per line (default
                           issuer-service/fixtures/identity-registry.json; npm run make-registry writes larger ones)
  IDENTITY_REGISTRY_URL    https adapter: base URL of the ID-check service (GET /people/{idNumber})
  IDENTITY_REGISTRY_CLIENT_CERT, IDENTITY_REGISTRY_CLIENT_KEY  PEM files of the issuer's client certificate (mTLS)
  IDENTITY_REGISTRY_CA     PEM file of the CA that signs the service's certificate (system roots otherwise)
  CREDENTIAL_BATCH_SIZE    credentials per redemption (default 10)
  RISK_MAX_PER_DEVICE      registration attempts per capture device per window (default 30 per RISK_DEVICE_WINDOW_SECONDS=3600)
  RISK_MAX_PER_ADDRESS     registration attempts per client address per window (default 10 per RISK_ADDRESS_WINDOW_SECONDS=3600)
  RISK_MAX_PER_ID_NUMBER   registration attempts per ID number per window (default 5 per RISK_ID_NUMBER_WINDOW_SECONDS=86400)
  RISK_MAX_PER_REGION      attempts per ID region before it counts as busy: no trust, typed details (default 200 per RISK_REGION_WINDOW_SECONDS=3600)
  RISK_MAX_DEVICE_FAILURES identity/face mismatches that refuse a device, sliding (default 3 per RISK_DEVICE_FAILURE_WINDOW_SECONDS=3600)
  TRUST_MIN_DEVICE_SUCCESSES, TRUST_WINDOW_SECONDS, TRUST_MIN_ACCOUNT_AGE_SECONDS  trust detection (default 3, 30 days, 1 day)
  RATE_LIMIT_PER_MINUTE    requests per client address per minute (default 1200; 429 beyond)
  SWEEP_INTERVAL_MS        how often expired offers, nonces, registrations and spent jtis are deleted (default 60000)
  REQUIRE_LIVENESS         1: a registration must carry the active liveness challenge's frames (default: replay check only)
`;

export function printHelpIfAsked(): void {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(HELP);
    process.exit(0);
  }
}

/** Listens, prints one JSON line with the URL (the demo and tests read it), and shuts down cleanly on signals. */
export async function listen(app: Express, args: { port: number; host: string; role: string; did: string; onClose: () => Promise<void>; beforeAnnounce?: (port: number) => void }): Promise<number> {
  const server = app.listen(args.port, args.host);
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const { port } = server.address() as AddressInfo;
  args.beforeAnnounce?.(port);
  process.stdout.write(JSON.stringify({ event: "listening", role: args.role, url: `http://${args.host}:${port}`, did: args.did }) + "\n");
  const shutdown = () => {
    server.close(() => void args.onClose().finally(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
  return port;
}
