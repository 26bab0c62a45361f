import { AgentError } from "../errors.js";
import type { DocumentStore } from "../stores/document-store.js";
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
  let anchorKey = args.privateKey;
  if (!anchorKey) {
    const probe = await AnchorRegistryClient.connect({ rpcUrl: args.rpcUrl, address });
    probe.close();
    if (probe.chainId !== HARDHAT_CHAIN_ID) throw new AgentError("ERR_NO_ANCHOR_KEY", "set ANCHOR_PRIVATE_KEY (a key with ANCHORER_ROLE)");
    anchorKey = devAccountKey(args.devAccount);
  }
  const registry = await AnchorRegistryClient.connect({ rpcUrl: args.rpcUrl, address, privateKey: anchorKey });
  const queue = new AnchorQueue({
    store: args.store as never,
    registry,
    maxBatchSize: args.batchSize ?? 256,
    maxAgeMs: args.batchAgeMs ?? 2000,
    confirmations: args.confirmations ?? 1,
    onError: (e) => args.log(JSON.stringify({ t: new Date().toISOString(), level: "warn", event: "anchoring-retry", reason: String((e as Error)?.message ?? e).slice(0, 200) })),
    onAnchored: (b) => args.log(JSON.stringify({ t: new Date().toISOString(), event: "anchored", root: b.root, receipts: b.size, block: b.anchor.blockNumber, tx: b.anchor.txHash })),
  });
  queue.start();
  const audit = () =>
    void queue.audit().then((n) => n && args.log(JSON.stringify({ t: new Date().toISOString(), level: "warn", event: "anchors-missing-on-chain", reopenedBatches: n })));
  audit();
  setInterval(audit, args.auditMs ?? 60_000).unref();
  return { registry, queue, anchorKey };
}

/** The same, configured from a service's environment (CHAIN_RPC_URL, DEPLOYMENT_FILE, ANCHOR_*). */
export function connectAnchoringFromEnv(env: NodeJS.ProcessEnv, defaults: { devAccount: number; store: DocumentStore<never>; log: (line: string) => void }) {
  return connectAnchoring({
    rpcUrl: env.CHAIN_RPC_URL ?? DEFAULT_RPC_URL,
    deploymentFile: env.DEPLOYMENT_FILE,
    address: env.ANCHOR_REGISTRY_ADDRESS,
    privateKey: env.ANCHOR_PRIVATE_KEY,
    devAccount: Number(env.ANCHOR_DEV_ACCOUNT ?? defaults.devAccount),
    store: defaults.store,
    batchSize: Number(env.ANCHOR_BATCH_SIZE ?? 256),
    batchAgeMs: Number(env.ANCHOR_BATCH_AGE_MS ?? 2000),
    confirmations: Number(env.ANCHOR_CONFIRMATIONS ?? 1),
    auditMs: Number(env.ANCHOR_AUDIT_MS ?? 60_000),
    log: defaults.log,
  });
}
