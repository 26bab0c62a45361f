import { AgentError } from "../errors.js";
import { DEFAULT_DEPLOYMENT_FILE, DEFAULT_RPC_URL, deployAnchorRegistry, devAccountKey, HARDHAT_CHAIN_ID, isDeploymentLive, providerFor, readDeployment, writeDeployment, type Deployment } from "./registry-contract.js";
import { Wallet } from "ethers";

/**
 * Finds the AnchorRegistry for a chain endpoint: the deployment file if it is live there, otherwise (on a
 * Hardhat dev chain only, or when a deployer key is given) deploys it and writes the file. Used by the
 * demo and the deploy script; services only read, they never deploy.
 */
export async function resolveChain(args: { rpcUrl?: string; deploymentFile?: string; deployIfMissing?: boolean; deployerKey?: string } = {}): Promise<{ rpcUrl: string; deployment: Deployment; deployed: boolean }> {
  const rpcUrl = args.rpcUrl ?? process.env.CHAIN_RPC_URL ?? DEFAULT_RPC_URL;
  const file = args.deploymentFile ?? DEFAULT_DEPLOYMENT_FILE;
  const provider = providerFor(rpcUrl);
  try {
    let chainId: bigint;
    try {
      chainId = (await provider.getNetwork()).chainId;
    } catch (cause) {
      throw new AgentError("ERR_CHAIN_UNAVAILABLE", `no chain answers at ${rpcUrl} (start one with \`npm run chain\`)`, undefined, { cause });
    }
    const existing = readDeployment(file);
    if (existing && (await isDeploymentLive(provider, existing))) return { rpcUrl, deployment: existing, deployed: false };
    if (!args.deployIfMissing) throw new AgentError("ERR_REGISTRY_NOT_DEPLOYED", `the AnchorRegistry is not deployed on ${rpcUrl}: run \`npm run deploy\``);
    const deployerKey = args.deployerKey ?? process.env.DEPLOYER_PRIVATE_KEY ?? (chainId === HARDHAT_CHAIN_ID ? devAccountKey(0) : undefined);
    if (!deployerKey) throw new AgentError("ERR_NO_DEPLOYER_KEY", "set DEPLOYER_PRIVATE_KEY to deploy on a chain that is not a Hardhat dev chain");
    const anchorers = (process.env.ANCHORERS?.split(",").filter(Boolean) ??
      (chainId === HARDHAT_CHAIN_ID ? [1, 2, 3, 4, 5].map((i) => new Wallet(devAccountKey(i)).address) : [])) as string[];
    const deployment = await deployAnchorRegistry({ rpcUrl, deployerKey, anchorers });
    writeDeployment(deployment, file);
    return { rpcUrl, deployment, deployed: true };
  } finally {
    provider.destroy();
  }
}
