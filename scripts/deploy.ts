/**
 * `npm run deploy`: deploys the AnchorRegistry to CHAIN_RPC_URL (default the local node from `npm run
 * chain`), grants ANCHORER_ROLE, and writes the deployment file the services read (DEPLOYMENT_FILE,
 * default deployments/localhost.json). Deploys again only if the recorded deployment is not live there
 * (a restarted Hardhat node keeps no state).
 */
import { resolveChain, DEFAULT_DEPLOYMENT_FILE, AgentError } from "@realname/agent";

try {
  const file = process.env.DEPLOYMENT_FILE ?? DEFAULT_DEPLOYMENT_FILE;
  const { rpcUrl, deployment, deployed } = await resolveChain({ deploymentFile: file, deployIfMissing: true });
  process.stdout.write(`${deployed ? "deployed" : "already live"}: AnchorRegistry ${deployment.address} on chain ${deployment.chainId} (${rpcUrl})\n`);
  process.stdout.write(`anchorers: ${deployment.anchorers.join(", ") || "none"}\ndeployment file: ${file}\n`);
} catch (error) {
  process.stderr.write(`deploy failed: ${error instanceof AgentError ? `${error.code}: ${error.message}` : String(error)}\n`);
  process.exit(1);
}
