import { Contract, ContractFactory, HDNodeWallet, JsonRpcProvider, Mnemonic, NonceManager, Wallet, type Signer } from "ethers";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "../repo-root.js";
import { DEFAULT_DEPLOYMENT_FILE } from "./chain-defaults.js";
import { AgentError, UpstreamError } from "../errors.js";

/** The AnchorRegistry ABI (contracts/IAnchorRegistry.sol); a test checks it against the compiled artifact. */
export const ANCHOR_REGISTRY_ABI = [
  "function ANCHORER_ROLE() view returns (bytes32)",
  "function anchor(bytes32 root, uint32 leafCount)",
  "function anchorBatch(bytes32[] roots, uint32[] leafCounts)",
  "function anchorWithSignature(bytes32 root, uint32 leafCount, address owner, uint256 deadline, bytes signature)",
  "function nonces(address owner) view returns (uint256)",
  "function verifyInclusion(bytes32 root, bytes32 leaf, bytes32[] proof) view returns (bool)",
  "function anchorOf(bytes32 root) view returns (tuple(uint64 blockNumber, uint64 timestamp, uint32 leafCount, address anchorer))",
  "function anchoredAt(bytes32 root) view returns (uint64 blockNumber, uint64 timestamp)",
  "function isAnchored(bytes32 root) view returns (bool)",
  "function grantRole(bytes32 role, address account)",
  "function hasRole(bytes32 role, address account) view returns (bool)",
  "event RootAnchored(bytes32 indexed root, uint32 leafCount, address indexed anchorer)",
  "event RootAnchoredFor(bytes32 indexed root, address indexed owner, address indexed relayer)",
  "error ZeroRoot()",
  "error RootAlreadyAnchored(bytes32 root, uint64 blockNumber)",
  "error EmptyBatch(bytes32 root)",
  "error BatchLengthMismatch(uint256 roots, uint256 leafCounts)",
  "error ExpiredSignature(uint256 deadline)",
  "error InvalidSigner(address signer, address owner)",
  "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
] as const;

export { REPO_ROOT } from "../repo-root.js";
export { DEFAULT_DEPLOYMENT_FILE, DEFAULT_RPC_URL, HARDHAT_CHAIN_ID } from "./chain-defaults.js";
/** Hardhat's public development mnemonic. Its keys are only ever used on chain id 31337. */
const HARDHAT_DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Well-known development accounts: 0 deploys and administers, 1-5 anchor (verifier, issuer, more merchants). */
export function devAccountKey(index: number): string {
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_DEV_MNEMONIC), `m/44'/60'/0'/0/${index}`).privateKey;
}

export interface Deployment {
  chainId: string;
  address: string;
  deployer: string;
  txHash: string;
  blockNumber: number;
  deployedAt: string;
  anchorers: string[];
  /** Issuer DIDs a notary trusts with this deployment (the demo records its issuer here; see notary/trust.ts). */
  trustedIssuers?: string[];
}

export function readDeployment(file = DEFAULT_DEPLOYMENT_FILE): Deployment | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as Deployment;
}

export function writeDeployment(deployment: Deployment, file = DEFAULT_DEPLOYMENT_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(deployment, null, 2) + "\n");
}

export function providerFor(rpcUrl: string): JsonRpcProvider {
  // The chain id is asked once per provider (`staticNetwork`), not before every call as ethers does by
  // default: a restarted dev chain keeps its id anyway, and a lost registry is noticed by `isLive` (code at
  // the address). No batch stall: calls made in the same tick still go out as one JSON-RPC batch, without
  // ethers' default 10 ms wait before each. No response caching, so every read sees the chain as it is now.
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, batchStallTime: 0, cacheTimeout: -1 });
  provider.pollingInterval = 250;
  return provider;
}

/** Is the deployment live on this chain (same chain id, contract code at the address)? */
export async function isDeploymentLive(provider: JsonRpcProvider, deployment: Deployment): Promise<boolean> {
  const [network, code] = await Promise.all([provider.getNetwork(), provider.getCode(deployment.address)]);
  return network.chainId.toString() === deployment.chainId && code !== "0x";
}

function readArtifact(): { abi: unknown[]; bytecode: string } {
  const file = join(REPO_ROOT, "artifacts", "contracts", "AnchorRegistry.sol", "AnchorRegistry.json");
  // Compiled once (at `npm install`, else here on first use), never on every start: Hardhat needs ~1 s
  // even to find that nothing changed.
  if (!existsSync(file)) {
    try {
      execFileSync(process.execPath, [join(REPO_ROOT, "node_modules", "hardhat", "internal", "cli", "bootstrap.js"), "compile", "--quiet"], { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "inherit"] });
    } catch {
      /* reported just below */
    }
  }
  if (!existsSync(file)) throw new AgentError("ERR_NOT_COMPILED", "contracts are not compiled: run `npx hardhat compile`");
  return JSON.parse(readFileSync(file, "utf8"));
}

/** Deploys the registry with `admin` as admin and grants ANCHORER_ROLE to `anchorers`. */
export async function deployAnchorRegistry(args: { rpcUrl: string; deployerKey: string; anchorers: string[] }): Promise<Deployment> {
  const provider = providerFor(args.rpcUrl);
  try {
    const deployer = new NonceManager(new Wallet(args.deployerKey, provider));
    const artifact = readArtifact();
    const address0 = await deployer.getAddress();
    const factory = new ContractFactory(artifact.abi as never, artifact.bytecode, deployer);
    const contract = await factory.deploy(address0);
    const deployTx = contract.deploymentTransaction()!;
    const receipt = await deployTx.wait();
    const registry = new Contract(await contract.getAddress(), ANCHOR_REGISTRY_ABI, deployer);
    const role = await registry.ANCHORER_ROLE();
    // Sent one after another (an automining node refuses a nonce gap), mined together.
    const grants = [];
    for (const anchorer of args.anchorers) grants.push(await registry.grantRole(role, anchorer));
    await Promise.all(grants.map((tx) => tx.wait()));
    const network = await provider.getNetwork();
    return {
      chainId: network.chainId.toString(),
      address: await contract.getAddress(),
      deployer: address0,
      txHash: deployTx.hash,
      blockNumber: receipt!.blockNumber,
      deployedAt: new Date().toISOString(),
      anchorers: args.anchorers,
    };
  } finally {
    provider.destroy();
  }
}

/**
 * The registry as the services and the notary see it: reads for everyone, `anchor` for a signer holding
 * ANCHORER_ROLE. The endpoint is a URL, so a real EVM network can replace the local Hardhat node.
 */
export class AnchorRegistryClient {
  readonly contract: Contract;
  private constructor(
    readonly provider: JsonRpcProvider,
    readonly address: string,
    readonly chainId: bigint,
    readonly signer?: Signer,
  ) {
    this.contract = new Contract(address, ANCHOR_REGISTRY_ABI, signer ?? provider);
  }

  static async connect(args: { rpcUrl: string; address: string; privateKey?: string }): Promise<AnchorRegistryClient> {
    const provider = providerFor(args.rpcUrl);
    try {
      // The chain id first, alone: it fails fast when nothing answers (a call before it would make ethers
      // retry its start-up every second, printing to stdout).
      const network = await provider.getNetwork();
      if ((await provider.getCode(args.address)) === "0x") {
        throw new AgentError("ERR_REGISTRY_NOT_DEPLOYED", `no AnchorRegistry at ${args.address} on chain ${network.chainId}`);
      }
      const signer = args.privateKey ? new NonceManager(new Wallet(args.privateKey, provider)) : undefined;
      return new AnchorRegistryClient(provider, args.address, network.chainId, signer);
    } catch (error) {
      provider.destroy();
      if (error instanceof AgentError) throw error;
      throw new UpstreamError("ERR_CHAIN_UNAVAILABLE", `the chain at ${args.rpcUrl} cannot be reached`, undefined, { cause: error });
    }
  }

  /** The same registry on the same connection, sending as `privateKey` (no second connection to open). */
  withSigner(privateKey: string): AnchorRegistryClient {
    return new AnchorRegistryClient(this.provider, this.address, this.chainId, new NonceManager(new Wallet(privateKey, this.provider)));
  }

  /** Sends `anchor(root, leafCount)` and waits for `confirmations`; returns where it landed. */
  async anchor(root: string, leafCount: number, confirmations = 1): Promise<ChainAnchor> {
    return (await this.anchorMany([{ root, leafCount }], confirmations)).get(root)!;
  }

  /**
   * Anchors several roots in one transaction (`anchorBatch`, or `anchor` for one) and waits for
   * `confirmations`. Only a RootAnchored event of this registry for each root counts: a transaction to an
   * address without the contract (e.g. a reset dev chain) "succeeds" silently and is refused here.
   */
  async anchorMany(batches: Array<{ root: string; leafCount: number }>, confirmations = 1): Promise<Map<string, ChainAnchor>> {
    if (!this.signer) throw new TypeError("this client has no signer");
    if (batches.length === 0) return new Map();
    const tx =
      batches.length === 1
        ? await this.contract.anchor(batches[0]!.root, batches[0]!.leafCount)
        : await this.contract.anchorBatch(batches.map((b) => b.root), batches.map((b) => b.leafCount));
    const receipt = await tx.wait(confirmations);
    const emitted = new Set<string>();
    for (const log of receipt.logs as Array<{ address: string; topics: readonly string[]; data: string }>) {
      if (log.address.toLowerCase() !== this.address.toLowerCase()) continue;
      const event = this.contract.interface.parseLog(log);
      if (event?.name === "RootAnchored") emitted.add(String(event.args.root));
    }
    const block = await this.provider.getBlock(receipt.blockNumber);
    const out = new Map<string, ChainAnchor>();
    for (const b of batches) {
      if (!emitted.has(b.root)) throw new AgentError("ERR_ANCHOR_NOT_CONFIRMED", `the anchoring transaction ${receipt.hash} did not record root ${b.root}`);
      out.set(b.root, { chainId: this.chainId.toString(), contract: this.address, txHash: receipt.hash, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash, timestamp: block!.timestamp });
    }
    return out;
  }

  /** Is the registry still there (a reset dev chain loses it)? */
  async isLive(): Promise<boolean> {
    return (await this.provider.getCode(this.address)) !== "0x";
  }

  /** Where `root` is anchored according to the chain itself, or undefined if the chain does not show it. */
  async findAnchor(root: string): Promise<ChainAnchor | undefined> {
    const [blockNumber] = (await this.contract.anchoredAt(root)) as [bigint, bigint];
    if (blockNumber === 0n) return undefined;
    // The event and the block are independent reads: asked together, they go out as one batch.
    const [events, block] = await Promise.all([
      this.contract.queryFilter(this.contract.filters.RootAnchored(root), Number(blockNumber), Number(blockNumber)),
      this.provider.getBlock(Number(blockNumber)),
    ]);
    const event = events[0];
    if (!event || !block) return undefined;
    return {
      chainId: this.chainId.toString(),
      contract: this.address,
      txHash: event.transactionHash,
      blockNumber: Number(blockNumber),
      blockHash: block.hash!,
      timestamp: block.timestamp,
    };
  }

  /**
   * What the chain says about an anchor someone claims (an evidence bundle's): the block the registry records
   * for `root`, the RootAnchored event and the block at the claimed height, and the claimed transaction's
   * receipt, all asked at once (one JSON-RPC batch, one round trip) instead of one after another.
   */
  async readClaimedAnchor(root: string, claimed: { blockNumber: number; txHash: string }): Promise<{ anchoredAtBlock: number; found?: ChainAnchor; receiptLogs?: ReadonlyArray<{ address: string; topics: readonly string[]; data: string }> }> {
    // Only the registry's own answer must succeed; a claimed block or transaction that is not there (or not
    // even well-formed) just leaves its part empty, and the caller reports the mismatch.
    const [anchoredAt, events, block, receipt] = await Promise.allSettled([
      this.contract.anchoredAt(root) as Promise<[bigint, bigint]>,
      this.contract.queryFilter(this.contract.filters.RootAnchored(root), claimed.blockNumber, claimed.blockNumber),
      this.provider.getBlock(claimed.blockNumber),
      this.provider.getTransactionReceipt(claimed.txHash),
    ]);
    if (anchoredAt.status === "rejected") throw anchoredAt.reason;
    const anchoredAtBlock = Number(anchoredAt.value[0]);
    const event = events.status === "fulfilled" ? events.value[0] : undefined;
    const header = block.status === "fulfilled" ? block.value : undefined;
    const found =
      anchoredAtBlock === claimed.blockNumber && event && header
        ? { chainId: this.chainId.toString(), contract: this.address, txHash: event.transactionHash, blockNumber: anchoredAtBlock, blockHash: header.hash!, timestamp: header.timestamp }
        : undefined;
    return { anchoredAtBlock, found, receiptLogs: receipt.status === "fulfilled" ? receipt.value?.logs : undefined };
  }

  close(): void {
    this.provider.destroy();
  }
}

/** Where a root landed on chain: what evidence cites. */
export interface ChainAnchor {
  chainId: string;
  contract: string;
  txHash: string;
  blockNumber: number;
  blockHash: string;
  timestamp: number;
}
