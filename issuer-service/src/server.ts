import { join } from "node:path";
import { AgentError, createRoleAgent, ensureIdentifier, FileIdentityRegistry, identifierSigner, LevelDatabase, REPO_ROOT } from "@realname/agent";
import { createApp } from "./app.js";
import { devPassphrase, listen, printHelpIfAsked } from "./config.js";

printHelpIfAsked();
const port = Number(process.env.PORT ?? 3001);
const host = process.env.HOST ?? "127.0.0.1";
const dataDir = process.env.DATA_DIR ?? join(REPO_ROOT, ".data", "issuer");
const registryFile = process.env.IDENTITY_REGISTRY_FILE ?? join(REPO_ROOT, "issuer-service", "fixtures", "identity-registry.json");

async function main() {
  const db = await LevelDatabase.open(dataDir);
  const { agent } = await createRoleAgent(db, process.env.ISSUER_PASSPHRASE ?? devPassphrase("ISSUER_PASSPHRASE"));
  const identifier = await ensureIdentifier(agent, "issuer");
  const app = createApp({
    issuer: { did: identifier.did, name: process.env.ISSUER_NAME ?? "Real-Name Identity Issuer (dev)", signer: identifierSigner(agent, identifier) },
    identityRegistry: new FileIdentityRegistry(registryFile),
    issuances: db.store("issuances"),
    log: (line) => process.stdout.write(line + "\n"),
  });
  await listen(app, { port, host, role: "issuer", did: identifier.did, onClose: () => db.close() });
}

main().catch((error) => {
  process.stderr.write(`issuer-service cannot start: ${error instanceof AgentError ? `${error.code}: ${error.message}` : String(error)}\n`);
  process.exit(1);
});
