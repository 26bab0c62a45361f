import type { Express } from "express";
import type { AddressInfo } from "node:net";

const HELP = `issuer-service: registers people against the identity registry and issues SD-JWT VC identity credentials.

Environment:
  PORT                     port to listen on (default 3001; 0 picks a free one)
  HOST                     address to bind (default 127.0.0.1)
  DATA_DIR                 LevelDB folder (default .data/issuer)
  CHAIN_RPC_URL            chain endpoint (default http://127.0.0.1:8545; used for status anchoring in later versions)
  ISSUER_PASSPHRASE        seals the issuer's private keys at rest (a development default is used if unset)
  ISSUER_NAME              display name
  IDENTITY_REGISTRY_FILE   the local identity registry (default issuer-service/fixtures/identity-registry.json)
`;

export function printHelpIfAsked(): void {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(HELP);
    process.exit(0);
  }
}

/** Development default for a passphrase, announced loudly so nobody mistakes it for a production setting. */
export function devPassphrase(variable: string): string {
  process.stderr.write(`warning: ${variable} is not set; using the development passphrase (never do this in production)\n`);
  return "development-only-passphrase";
}

/** Listens, prints one JSON line with the URL (the demo and tests read it), and shuts down cleanly on signals. */
export async function listen(app: Express, args: { port: number; host: string; role: string; did: string; onClose: () => Promise<void> }): Promise<void> {
  const server = app.listen(args.port, args.host);
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const { port } = server.address() as AddressInfo;
  process.stdout.write(JSON.stringify({ event: "listening", role: args.role, url: `http://${args.host}:${port}`, did: args.did }) + "\n");
  const shutdown = () => {
    server.close(() => void args.onClose().finally(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}
