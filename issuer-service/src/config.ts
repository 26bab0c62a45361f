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
  CHAIN_RPC_URL            chain endpoint for anchoring status-list changes (default http://127.0.0.1:8545)
  DEPLOYMENT_FILE          deployment written by \`npm run deploy\` (default deployments/localhost.json)
  ANCHOR_PRIVATE_KEY       key with ANCHORER_ROLE (default on a Hardhat dev chain: dev account ANCHOR_DEV_ACCOUNT, 2)
  ISSUER_DATA_KEY          32-byte key (hex or base64) sealing verified identities (AES-GCM); or ISSUER_DATA_KEY_FILE
  ADMIN_TOKEN              bearer token for /admin endpoints
  ISSUER_PASSPHRASE        seals the issuer's signing keys at rest
  ISSUER_DEMO_MODE=1       local demo: missing secrets are generated once into DATA_DIR (never in production)
  ISSUER_NAME              display name
  IDENTITY_REGISTRY_FILE   the local identity registry (default issuer-service/fixtures/identity-registry.json)
  CREDENTIAL_BATCH_SIZE    credentials per redemption (default 10)
  RISK_MAX_PER_DEVICE      registration attempts per capture device per hour (default 30)
  RISK_MAX_PER_ADDRESS     registration attempts per client address per hour (default 10)
  RISK_MAX_PER_ID_NUMBER   registration attempts per ID number per day (default 5)
  RATE_LIMIT_PER_MINUTE    requests per client address per minute (default 1200; 429 beyond)
  SWEEP_INTERVAL_MS        how often expired offers, nonces, registrations and spent jtis are deleted (default 60000)
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
