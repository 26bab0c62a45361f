import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-ethers";
import "@nomicfoundation/hardhat-chai-matchers";

// The pragma's exact compiler version. It must equal the version of the `solc`
// npm package pinned in package.json: compilation happens offline with solc-js
// because this project may not download compilers (Hardhat's "custom solc" recipe).
const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  const compilerPath = require.resolve("solc/soljson.js");
  const solc = require("solc");
  return {
    compilerPath,
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: String(solc.version()).replace(/\.Emscripten\.clang$/, ""),
  };
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "cancun" },
  },
  networks: {
    hardhat: { chainId: 31337 },
    localhost: { url: process.env.CHAIN_RPC_URL ?? "http://127.0.0.1:8545" },
  },
  mocha: { timeout: 120_000 },
};

export default config;
