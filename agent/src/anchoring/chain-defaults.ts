import { join } from "node:path";
import { REPO_ROOT } from "../repo-root.js";

// Defaults a command line names in its help: kept apart from registry-contract.ts so printing the help
// does not load ethers.
export const DEFAULT_DEPLOYMENT_FILE = join(REPO_ROOT, "deployments", "localhost.json");
export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";
export const HARDHAT_CHAIN_ID = 31337n;
