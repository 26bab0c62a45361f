import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveChain, type Deployment } from "@realname/agent";
import { startEmbeddedChain, type EmbeddedChain } from "../../scripts/lib/devnet.js";

/** A real Hardhat chain behind real JSON-RPC on a loopback port, with a freshly deployed AnchorRegistry. */
export async function chainWithRegistry(port = 0): Promise<{ chain: EmbeddedChain; deployment: Deployment; deploymentFile: string }> {
  const chain = await startEmbeddedChain(port);
  const deploymentFile = join(mkdtempSync(join(tmpdir(), "deploy-")), "deployment.json");
  const { deployment } = await resolveChain({ rpcUrl: chain.url, deploymentFile, deployIfMissing: true });
  return { chain, deployment, deploymentFile };
}
