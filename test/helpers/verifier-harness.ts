import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import express from "express";
import { AnchorQueue, LevelDatabase, MemoryDocumentStore, NotaryGate, StatusListResolver, StatusListService, type AnchorRegistryClient, type JwsSigner } from "@realname/agent";
import { createApp, type VerifierDeps } from "../../verifier-service/src/app.js";
import { TEST_VCT } from "./sdjwt.js";

export interface InProcessVerifier {
  base: string;
  deps: VerifierDeps;
  /** The issuer's real status list, served on loopback for the verifier to fetch. */
  statusList: StatusListService;
  queueStore: ReturnType<LevelDatabase["store"]>;
  close(): Promise<void>;
}

/**
 * The merchant's verifier in process, over real HTTP on loopback, real LevelDB and real signatures, with an
 * injected clock, next to the issuer's real status list served on loopback (its `ttlSeconds` as given).
 */
export async function startInProcessVerifier(args: {
  issuer: { did: string; signer: JwsSigner };
  merchant: VerifierDeps["merchant"];
  clock: () => Date;
  statusTtlSeconds: number;
  checkout: VerifierDeps["checkout"];
  /** Default plain `direct_post`: most tests here hand-craft plain answers; encrypted-answer tests ask for `direct_post.jwt`. */
  responseMode?: VerifierDeps["responseMode"];
}): Promise<InProcessVerifier> {
  const work = mkdtempSync(join(tmpdir(), "verifier-"));
  const db = await LevelDatabase.open(join(work, "db"));
  let statusUri = "";
  const statusList = new StatusListService(new MemoryDocumentStore(), { listId: "1", uri: () => statusUri, issuer: args.issuer, size: 4096, ttlSeconds: args.statusTtlSeconds, clock: args.clock });
  const issuerApp = express();
  issuerApp.get("/status-lists/1", async (_req, res) => void res.type("application/statuslist+jwt").send(await statusList.signedList()));
  const statusServer: Server = issuerApp.listen(0, "127.0.0.1");
  await new Promise((r) => statusServer.once("listening", r));
  statusUri = `http://127.0.0.1:${(statusServer.address() as AddressInfo).port}/status-lists/1`;
  const queueStore = db.store("anchor-queue");
  let base = "";
  const deps: VerifierDeps = {
    merchant: args.merchant,
    trustedIssuers: [args.issuer.did],
    identityVct: TEST_VCT,
    publicUrl: () => base,
    sessions: db.store("sessions"),
    nonces: db.store("nonces"),
    grants: db.store("grants"),
    accounts: db.store("accounts"),
    challenges: db.store("login-challenges"),
    expiries: db.store("expiries"),
    queue: new AnchorQueue({ store: queueStore as never, registry: {} as AnchorRegistryClient }),
    seal: { encrypt: (p) => Buffer.from(p).toString("base64url"), decrypt: (s) => Buffer.from(s, "base64url").toString() },
    notaries: new NotaryGate({ audience: args.merchant.did }),
    rateLimit: { max: 100_000, windowMs: 60_000 },
    // The issuer's list is served on loopback http here: allowed for this resolver only (development).
    status: new StatusListResolver({ allowLoopbackHttp: true }),
    clock: args.clock,
    checkout: args.checkout,
    responseMode: args.responseMode ?? "direct_post",
  };
  const verifierServer: Server = createApp(deps).listen(0, "127.0.0.1");
  await new Promise((r) => verifierServer.once("listening", r));
  base = `http://127.0.0.1:${(verifierServer.address() as AddressInfo).port}`;
  return {
    base,
    deps,
    statusList,
    queueStore,
    async close() {
      verifierServer.close();
      statusServer.close();
      await db.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
