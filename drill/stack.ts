/** The whole system on loopback for drills: a chain, the issuer, one merchant, a registered person. */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchJson, HolderWallet, REPO_ROOT, resolveChain, type Deployment, type Transport } from "@realname/agent";
import { startEmbeddedChain, startService, type EmbeddedChain, type ServiceProcess } from "../scripts/lib/devnet.js";

export const PERSON = { fullName: "张三", idNumber: "110105199003071239", birthDate: "1990-03-07" };

export interface Stack {
  chain: EmbeddedChain;
  chainPort: number;
  deployment: Deployment;
  deploymentFile: string;
  issuer: ServiceProcess;
  verifier: ServiceProcess;
  verifierEnv: Record<string, string>;
  wallet: HolderWallet;
  work: string;
  admin(path: string, body?: unknown, method?: string): Promise<unknown>;
  /** Every answer takes a fresh credential: waits for the wallet's background refresh, or fetches a batch when empty. */
  ensureCredential(): Promise<void>;
  /** A genuine answer to a fresh request, captured before it is sent. */
  captureAnswer(level?: "verified" | "pseudonymous" | "full"): Promise<{ requestId: string; url: string; body: { presentation: string; consentReceipt: string; pairwiseProof?: string }; payload: Record<string, unknown> }>;
  restartVerifier(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const work = mkdtempSync(join(tmpdir(), "drill-"));
  const chain = await startEmbeddedChain(0);
  const chainPort = Number(new URL(chain.url).port);
  const deploymentFile = join(work, "deployment.json");
  const { deployment } = await resolveChain({ rpcUrl: chain.url, deploymentFile, deployIfMissing: true });
  const ADMIN = randomBytes(16).toString("hex");
  const issuer = await startService("issuer-service", { DATA_DIR: join(work, "issuer"), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: deploymentFile, ISSUER_PASSPHRASE: "drill", ISSUER_DATA_KEY: "44".repeat(32), ADMIN_TOKEN: ADMIN, ANCHOR_DEV_ACCOUNT: "2", ANCHOR_BATCH_AGE_MS: "300", RISK_MAX_PER_ADDRESS: "100000", RISK_MAX_PER_ID_NUMBER: "100000" });
  // Plain answers (RESPONSE_MODE): the drills post hand-made answers in the JSON form straight to the verifier.
  const verifierEnv = { DATA_DIR: join(work, "verifier"), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: deploymentFile, ANCHOR_DEV_ACCOUNT: "1", MERCHANT_NAME: "Drill Shop", MERCHANT_PASSPHRASE: "drill", RESPONSE_MODE: "direct_post", TRUSTED_ISSUERS: issuer.did, ISSUER_URL: issuer.url, RATE_LIMIT_PER_MINUTE: "10000000", REQUEST_VALIDITY_SECONDS: "600", ANCHOR_BATCH_AGE_MS: "300" };
  let verifier = await startService("verifier-service", verifierEnv);
  const admin = (path: string, body?: unknown, method = "POST") => fetchJson(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN}` } });
  await admin("/admin/merchants", { did: verifier.did, name: "Drill Shop", maxLevel: "full", purposes: ["drill"], fullClaims: ["full_name", "id_number"], origins: [new URL(verifier.url).origin] }, "PUT");
  const wallet = await HolderWallet.open({ dir: join(work, "wallet"), pin: "0000" });
  await admin("/admin/devices", { deviceId: "drill", label: "drill", publicJwk: (await wallet.deviceKey()).publicJwk });
  const portrait = readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-live.jpg"));
  await wallet.register(issuer.url, { fullName: PERSON.fullName, idNumber: PERSON.idNumber, portrait }, { deviceId: "drill", confirm: async () => true, batchSize: 3 });
  const stack: Stack = {
    chain,
    chainPort,
    deployment,
    deploymentFile,
    issuer,
    get verifier() {
      return verifier;
    },
    verifierEnv,
    wallet,
    work,
    admin,
    /** Every answer takes a fresh credential: wait for a refresh the wallet started, or fetch one when empty. */
    async ensureCredential() {
      await wallet.backgroundRefresh;
      if ((await wallet.credentialsLeft()) === 0) await wallet.refreshBatch();
    },
    async captureAnswer(level = "verified") {
      await this.ensureCredential();
      const created = await fetchJson<{ requestId: string; authorizationRequest: string }>(`${verifier.url}/requests`, { body: { level, purpose: "drill", claims: level === "full" ? ["full_name", "id_number"] : [] } });
      const preview = await wallet.preview(created.authorizationRequest);
      let captured!: { url: string; body: { presentation: string; consentReceipt: string; pairwiseProof?: string } };
      const transport: Transport = async (url, body) => {
        captured = { url, body };
        throw Object.assign(new Error("captured"), { code: "CAPTURED" });
      };
      await wallet.answer(preview, { transport }).catch((e) => {
        if (e.code !== "CAPTURED") throw e;
      });
      return { requestId: created.requestId, ...captured, payload: preview.payload };
    },
    async restartVerifier() {
      // Same port: requests already handed out name it in their response_uri.
      verifier = await startService("verifier-service", { ...verifierEnv, PORT: new URL(verifier.url).port });
    },
    async stop() {
      await wallet.close().catch(() => undefined);
      await Promise.allSettled([verifier.stop(), issuer.stop()]);
      await chain.close().catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    },
  } as Stack;
  return stack;
}
