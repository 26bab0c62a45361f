import { AgentError } from "../errors.js";
import type { DocumentStore } from "../stores/document-store.js";
import type { Lease } from "../stores/lease.js";
import { AnchorQueue } from "./anchor-queue.js";
import { AnchorRegistryClient, DEFAULT_DEPLOYMENT_FILE, DEFAULT_RPC_URL, devAccountKey, HARDHAT_CHAIN_ID, readDeployment } from "./registry-contract.js";

/**
 * What a service needs to anchor: the registry (from the deployment file or an explicit address) with a
 * key holding ANCHORER_ROLE, and a durable queue that is already running. On a Hardhat dev chain the key
 * defaults to a well-known development account; anywhere else it must be given.
 */
export async function connectAnchoring(args: {
  rpcUrl: string;
  deploymentFile?: string;
  address?: string;
  privateKey?: string;
  devAccount: number;
  store: DocumentStore<never>;
  /** Replicas sharing the queue's store: only the holder anchors (default: this process alone). */
  lease?: Lease;
  batchSize?: number;
  batchAgeMs?: number;
  /** Blocks on top of the anchoring block before a receipt counts as anchored. */
  confirmations?: number;
  /** How often confirmed roots are checked against the chain (a reset chain is detected and re-anchored). */
  auditMs?: number;
  log: (line: string) => void;
}): Promise<{ registry: AnchorRegistryClient; queue: AnchorQueue; anchorKey: string }> {
  const address = args.address ?? readDeployment(args.deploymentFile ?? DEFAULT_DEPLOYMENT_FILE)?.address;
  if (!address) throw new AgentError("ERR_REGISTRY_NOT_DEPLOYED", "no AnchorRegistry known: run `npm run deploy` or set ANCHOR_REGISTRY_ADDRESS");
  // One connection (chain id and contract code asked together); the dev key is only chosen on a dev chain.
  const reader = await AnchorRegistryClient.connect({ rpcUrl: args.rpcUrl, address });
  if (!args.privateKey && reader.chainId !== HARDHAT_CHAIN_ID) {
    reader.close();
    throw new AgentError("ERR_NO_ANCHOR_KEY", "set ANCHOR_PRIVATE_KEY (a key with ANCHORER_ROLE)");
  }
  const anchorKey = args.privateKey ?? devAccountKey(args.devAccount);
  const registry = reader.withSigner(anchorKey);
  const queue = new AnchorQueue({
    store: args.store as never,
    registry,
    maxBatchSize: args.batchSize ?? 256,
    maxAgeMs: args.batchAgeMs ?? 2000,
    confirmations: args.confirmations ?? 1,
    lease: args.lease,
    onError: (e) => args.log(JSON.stringify({ t: new Date().toISOString(), level: "warn", event: "anchoring-retry", reason: String((e as Error)?.message ?? e).slice(0, 200) })),
    onLeaseChange: (held) => args.log(JSON.stringify({ t: new Date().toISOString(), event: "anchoring-lease", held })),
    onAnchored: (b) => args.log(JSON.stringify({ t: new Date().toISOString(), event: "anchored", root: b.root, receipts: b.size, block: b.anchor.blockNumber, tx: b.anchor.txHash })),
  });
  queue.start();
  const audit = () =>
    void queue
      .audit()
      .then((n) => n && args.log(JSON.stringify({ t: new Date().toISOString(), level: "warn", event: "anchors-missing-on-chain", reopenedBatches: n })))
      .catch((e) => args.log(JSON.stringify({ t: new Date().toISOString(), level: "warn", event: "anchor-audit-failed", reason: String((e as Error)?.message ?? e).slice(0, 200) })));
  audit();
  setInterval(audit, args.auditMs ?? 60_000).unref();
  return { registry, queue, anchorKey };
}

/** The same, configured from a service's environment (CHAIN_RPC_URL, DEPLOYMENT_FILE, ANCHOR_*). */
export function connectAnchoringFromEnv(env: NodeJS.ProcessEnv, defaults: { devAccount: number; store: DocumentStore<never>; lease?: Lease; log: (line: string) => void }) {
  return connectAnchoring({
    rpcUrl: env.CHAIN_RPC_URL ?? DEFAULT_RPC_URL,
    deploymentFile: env.DEPLOYMENT_FILE,
    address: env.ANCHOR_REGISTRY_ADDRESS,
    privateKey: env.ANCHOR_PRIVATE_KEY,
    devAccount: Number(env.ANCHOR_DEV_ACCOUNT ?? defaults.devAccount),
    store: defaults.store,
    lease: defaults.lease,
    batchSize: Number(env.ANCHOR_BATCH_SIZE ?? 256),
    batchAgeMs: Number(env.ANCHOR_BATCH_AGE_MS ?? 2000),
    confirmations: Number(env.ANCHOR_CONFIRMATIONS ?? 1),
    auditMs: Number(env.ANCHOR_AUDIT_MS ?? 60_000),
    log: defaults.log,
  });
}
