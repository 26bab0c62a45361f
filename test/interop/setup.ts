/**
 * The interop suite's world: a real Hardhat chain, OUR issuer and OUR merchant verifier as real processes
 * (started the way the README and the dev-network helpers start them), OUR wallet driven only through its
 * command line, and the counterpart wallet/verifier from ./counterpart. Admin calls use the issuer's
 * documented admin API (devices, merchants, reissue, revoke).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";
import type { CounterpartVerifier } from "./counterpart/verifier.js";

const exec = promisify(execFile);
export const ADMIN_TOKEN = "interop-admin-token-0123456789";
export const PURPOSES = { verified: "interop verified", pseudonymous: "interop pseudonymous", full: "interop full" } as const;

export interface Person {
  name: string;
  idNumber: string;
  portrait: string;
}
const portrait = (file: string) => join(REPO_ROOT, "issuer-service", "fixtures", "portraits", file);
export const ZHANG_SAN: Person = { name: "张三", idNumber: "110105199003071239", portrait: portrait("zhang-san-live.jpg") };
export const LI_SI: Person = { name: "李四", idNumber: "310115198508154561", portrait: portrait("li-si-live.jpg") };
export const WANG_XIAOMING: Person = { name: "王小明", idNumber: "440305201206017897", portrait: portrait("wang-xiaoming-live.jpg") };

export interface CliResult {
  code: number;
  json: any;
  stdout: string;
  stderr: string;
}

/** Our wallet, as a person's shell would run it. */
export class OurWalletCli {
  constructor(readonly dir: string, readonly pin = "135790") {}

  async run(...args: string[]): Promise<CliResult> {
    return this.runWithInput("", ...args);
  }

  /** Runs a command and types `input` at its prompts (e.g. "n\n" to decline). */
  async runWithInput(input: string, ...args: string[]): Promise<CliResult> {
    try {
      const pending = exec(process.execPath, [join(REPO_ROOT, "agent", "bin", "wallet.js"), "--json", "--dir", this.dir, "--pin", this.pin, ...args], { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 16 << 20 });
      pending.child.stdin?.end(input);
      const { stdout, stderr } = await pending;
      return { code: 0, json: parse(stdout), stdout, stderr };
    } catch (e: any) {
      return { code: typeof e.code === "number" ? e.code : 1, json: parse(e.stdout ?? ""), stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
  }

  /**
   * Runs a command on a terminal (util-linux `script` gives it a pty) and types `input` at its prompt, as a
   * person would: the wallet asks for confirmation only on a terminal.
   */
  async runOnTerminal(input: string, ...args: string[]): Promise<CliResult> {
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, join(REPO_ROOT, "agent", "bin", "wallet.js"), "--json", "--dir", this.dir, "--pin", this.pin, ...args].map(quote).join(" ");
    try {
      const pending = exec("script", ["-qec", command, "/dev/null"], { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 16 << 20 });
      pending.child.stdin?.end(input);
      const { stdout, stderr } = await pending;
      return { code: 0, json: parse(stdout), stdout, stderr };
    } catch (e: any) {
      return { code: typeof e.code === "number" ? e.code : 1, json: parse(e.stdout ?? ""), stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
  }

  async must(...args: string[]): Promise<any> {
    const r = await this.run(...args);
    if (r.code !== 0) throw new Error(`wallet ${args[0]} exited ${r.code}: ${r.stdout}${r.stderr}`);
    return r.json;
  }
}

function parse(text: string): any {
  const lines = text.trim().split("\n").filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(lines.slice(i).join("\n"));
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

export interface World {
  work: string;
  chain: EmbeddedChain;
  /** The anchor registry's deployment, and our verifier's settings: for starting another merchant verifier of ours. */
  deploymentFile: string;
  ourVerifierEnv: Record<string, string>;
  issuer: ServiceProcess;
  shop: ServiceProcess;
  admin(path: string, body: unknown, method?: string): Promise<{ status: number; body: any }>;
  /** The vct values the issuer's metadata names, per credential configuration. */
  issuerMetadata: Record<string, any>;
  vct: string;
  registerMerchant(did: string, origin: string, name: string): Promise<void>;
  /** Counterpart verifiers the issuer's registry refused, with the reason. */
  registrationErrors: Map<string, string>;
  /** A wallet of ours, registered as `person` (device registered by the admin first). */
  ourWallet(person: Person, batch?: number): Promise<OurWalletCli>;
  /** A fresh OpenID4VCI offer for `person` (the admin's reissue: revokes what the person held before). */
  offerFor(person: Person): Promise<string>;
  close(): Promise<void>;
}

export async function startWorld(counterparts: CounterpartVerifier[] = [], issuerEnv: Record<string, string> = {}): Promise<World> {
  const work = mkdtempSync(join(tmpdir(), "interop-"));
  const { chain, deploymentFile } = await chainWithRegistry();
  const issuer = await startService("issuer-service", {
    DATA_DIR: join(work, "issuer"),
    CHAIN_RPC_URL: chain.url,
    DEPLOYMENT_FILE: deploymentFile,
    ISSUER_PASSPHRASE: "interop-issuer",
    ISSUER_DATA_KEY: "22".repeat(32),
    ADMIN_TOKEN,
    ANCHOR_DEV_ACCOUNT: "2",
    STATUS_PUBLISH_INTERVAL_SECONDS: "0.2",
    RISK_MAX_PER_ADDRESS: "1000",
    RISK_MAX_PER_ID_NUMBER: "1000",
    ...issuerEnv,
  });
  // Our verifier configured as the README says ("Algorithms: EdDSA and ES256"): the issuer's DID names only its
  // Ed25519 key, so its ES256 key (for the ES256 credential configuration) is a TRUSTED_ISSUER_KEYS entry read
  // from the issuer's JWKS.
  const jwks = (await (await fetch(`${issuer.url}/.well-known/jwks.json`)).json()) as { keys?: Record<string, unknown>[] };
  const es256IssuerKeys = (jwks.keys ?? []).filter((k) => k.kty === "EC" && k.crv === "P-256").map(({ kty, crv, x, y, kid }) => ({ iss: issuer.did, jwk: { kty, crv, x, y, kid } }));
  const ourVerifierEnv = {
    CHAIN_RPC_URL: chain.url,
    DEPLOYMENT_FILE: deploymentFile,
    ANCHOR_DEV_ACCOUNT: "1",
    TRUSTED_ISSUERS: issuer.did,
    TRUSTED_ISSUER_KEYS: JSON.stringify(es256IssuerKeys),
    ISSUER_URL: issuer.url,
    STATUS_CACHE_SECONDS: "0",
    ANCHOR_BATCH_AGE_MS: "300",
  };
  const shop = await startService("verifier-service", { ...ourVerifierEnv, DATA_DIR: join(work, "shop"), MERCHANT_NAME: "Interop Shop", MERCHANT_PASSPHRASE: "interop-shop" });
  const admin = async (path: string, body: unknown, method = "POST") => {
    const res = await fetch(`${issuer.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const registerMerchant = async (did: string, origin: string, name: string) => {
    const r = await admin("/admin/merchants", { did, name, maxLevel: "full", purposes: Object.values(PURPOSES), fullClaims: ["full_name", "id_number", "birth_date"], origins: [origin] }, "PUT");
    if (r.status !== 201) throw new Error(`registering merchant ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  // Merchants first: a batch carries a member pseudonym only for merchants registered before it was issued.
  await registerMerchant(shop.did, new URL(shop.url).origin, "Interop Shop");
  // A counterpart the registry refuses (e.g. a P-256 did:key before ES256 merchants are supported) is noted,
  // not fatal: the tests that need it fail with this reason.
  const registrationErrors = new Map<string, string>();
  for (const c of counterparts) {
    c.trust([issuer.did, issuer.url], "");
    await registerMerchant(c.did, new URL(c.url).origin, c.name).catch((e: Error) => registrationErrors.set(c.did, e.message));
  }

  const metaRes = await fetch(`${issuer.url}/.well-known/openid-credential-issuer`);
  const issuerMetadata = await metaRes.json();
  const vct = (Object.values(issuerMetadata.credential_configurations_supported) as { vct: string }[])[0].vct;
  for (const c of counterparts) c.trust([issuer.did, issuer.url], vct);

  let wallets = 0;
  const ourWallet = async (person: Person, batch = 10) => {
    const n = ++wallets;
    const cli = new OurWalletCli(join(work, `wallet-${n}`));
    await cli.must("init");
    const { publicJwk } = await cli.must("device-key");
    const deviceId = `interop-device-${n}`;
    const reg = await admin("/admin/devices", { deviceId, label: `interop device ${n}`, publicJwk });
    if (reg.status !== 201) throw new Error(`device: ${JSON.stringify(reg.body)}`);
    await cli.must("register", "--issuer", issuer.url, "--device-id", deviceId, "--name", person.name, "--id-number", person.idNumber, "--portrait", person.portrait, "--yes", "--batch", String(batch));
    return cli;
  };
  const registered = new Set<string>();
  const offerFor = async (person: Person) => {
    // The person must be known to the issuer once; registration goes through our wallet (the capture device).
    if (!registered.has(person.idNumber)) {
      await ourWallet(person, 1);
      registered.add(person.idNumber);
    }
    const r = await admin("/admin/identities/reissue", { idNumber: person.idNumber, reason: "interop: a credential offer for another wallet" });
    if (r.status !== 201) throw new Error(`reissue: ${JSON.stringify(r.body)}`);
    return r.body.credentialOffer as string;
  };
  return {
    work,
    chain,
    deploymentFile,
    ourVerifierEnv,
    issuer,
    shop,
    admin,
    issuerMetadata,
    vct,
    registerMerchant,
    registrationErrors,
    ourWallet,
    offerFor,
    close: async () => {
      await Promise.allSettled([issuer.stop(), shop.stop()]);
      await chain.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Our merchant's verifier: open a request the documented way (POST /requests). */
export async function ourRequest(shop: ServiceProcess, level: "verified" | "pseudonymous" | "full", claims: string[] = []): Promise<{ requestId: string; authorizationRequest: string; transactionSecret: string }> {
  const res = await fetch(`${shop.url}/requests`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ level, purpose: PURPOSES[level], claims: level === "full" ? claims : [] }) });
  if (!res.ok) throw new Error(`POST /requests: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function ourResult(shop: ServiceProcess, created: { requestId: string; transactionSecret: string }): Promise<any> {
  const res = await fetch(`${shop.url}/requests/${created.requestId}/result`, { headers: { "x-transaction-secret": created.transactionSecret } });
  return res.json();
}
