import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { AgentError } from "../errors.js";
import { AnchorRegistryClient, DEFAULT_DEPLOYMENT_FILE } from "../anchoring/registry-contract.js";
import { publicJwkFrom, type PublicJwk } from "../identity/did-key.js";

/**
 * What a notary trusts, configured by the notary and never read from the bundle: the chain (its id, and the
 * endpoint asked), the AnchorRegistry contract(s) whose roots count, and the issuer DID(s) whose signed
 * registry decides who is a merchant (and whose signatures make a credential or a status list genuine).
 */
export interface TrustAnchors {
  /** The chain id the notary trusts; unset only when the notary named none and the endpoint was not asked yet. */
  chainId?: string;
  rpcUrl: string;
  contracts: string[];
  issuers: string[];
  /** Further keys of trusted issuers, e.g. an issuer's ES256 key for its ES256 credentials (its DID names only its Ed25519 key). */
  issuerKeys?: Array<{ iss: string; jwk: PublicJwk }>;
  /** Where these anchors came from (a file, flags), for the report. */
  source: string;
}

/** Consent and grant times may be this much after the anchoring block's time (clocks differ a little). */
export const ANCHOR_TIME_SKEW_SECONDS = 120;

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const did = z.string().startsWith("did:key:").max(200);
/**
 * A trust file: `{chainId, rpcUrl?, contracts: [...], issuers: [...]}`. The deployment file the demo and
 * `npm run deploy` write is one too (`address` for the contract, `trustedIssuers` recorded by the demo).
 */
export const trustAnchorsSchema = z.object({
  chainId: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(String).optional(),
  rpcUrl: z.string().url().optional(),
  contracts: z.array(address).max(16).optional(),
  address: address.optional(),
  issuers: z.array(did).max(16).optional(),
  trustedIssuers: z.array(did).max(16).optional(),
  issuerKeys: z.array(z.object({ iss: did, jwk: z.record(z.string(), z.unknown()) })).max(16).optional(),
});

/**
 * The notary's trust anchors: a trust file (`--trust`), else the deployment file (default the one the demo
 * and `npm run deploy` write); `--contract`, `--issuer` and `--chain-id` override what the file says.
 */
export function loadTrustAnchors(args: { trustFile?: string; deploymentFile?: string; rpcUrl: string; contracts?: string[]; issuers?: string[]; chainId?: string }): TrustAnchors {
  const file = args.trustFile ?? args.deploymentFile ?? DEFAULT_DEPLOYMENT_FILE;
  let fromFile: z.infer<typeof trustAnchorsSchema> = {};
  if (existsSync(file)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      throw new AgentError("ERR_INVALID_INPUT", `the trust file ${file} is not JSON`);
    }
    const parsed = trustAnchorsSchema.safeParse(raw);
    if (!parsed.success) throw new AgentError("ERR_INVALID_INPUT", `the trust file ${file} is not a trust file: ${parsed.error.issues.slice(0, 2).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    fromFile = parsed.data;
  } else if (args.trustFile) throw new AgentError("ERR_INVALID_INPUT", `the trust file ${args.trustFile} does not exist`);
  for (const c of args.contracts ?? []) if (!address.safeParse(c).success) throw new AgentError("ERR_INVALID_INPUT", `--contract ${c} is not an address`);
  for (const d of args.issuers ?? []) if (!did.safeParse(d).success) throw new AgentError("ERR_INVALID_INPUT", `--issuer ${d} is not a did:key`);
  if (args.chainId !== undefined && !/^\d+$/.test(args.chainId)) throw new AgentError("ERR_INVALID_INPUT", "--chain-id must be a number");
  const contracts = args.contracts?.length ? args.contracts : (fromFile.contracts ?? (fromFile.address ? [fromFile.address] : []));
  if (contracts.length === 0) throw new AgentError("ERR_NO_TRUST_ANCHORS", `no trusted AnchorRegistry: pass --trust FILE or --contract ADDRESS (${file} does not name one; \`npm run deploy\` writes it)`);
  const issuers = args.issuers?.length ? args.issuers : (fromFile.issuers ?? fromFile.trustedIssuers ?? []);
  const usedFlags = !!(args.contracts?.length || args.issuers?.length || args.chainId);
  return {
    chainId: args.chainId ?? fromFile.chainId,
    rpcUrl: args.rpcUrl,
    contracts: [...new Set(contracts.map((c) => c.toLowerCase()))],
    issuers: [...new Set(issuers)],
    // Only keys of issuers that are trusted at all (flags may have narrowed the list).
    ...(fromFile.issuerKeys?.length ? { issuerKeys: fromFile.issuerKeys.filter((k) => issuers.includes(k.iss)).map((k) => ({ iss: k.iss, jwk: publicJwkFrom(k.jwk) })) } : {}),
    source: existsSync(file) ? `${file}${usedFlags ? " and command-line flags" : ""}` : "command-line flags",
  };
}

/**
 * Connects to every trusted registry at the notary's endpoint. A chain id left unset is taken from the
 * endpoint (the notary configured that endpoint). Throws ERR_CHAIN_UNAVAILABLE when the chain cannot be reached.
 */
export async function connectTrustedRegistries(trust: TrustAnchors): Promise<AnchorRegistryClient[]> {
  const clients: AnchorRegistryClient[] = [];
  try {
    for (const address of trust.contracts) clients.push(await AnchorRegistryClient.connect({ rpcUrl: trust.rpcUrl, address }));
  } catch (error) {
    for (const c of clients) c.close();
    throw error;
  }
  trust.chainId ??= clients[0]?.chainId.toString();
  return clients;
}
