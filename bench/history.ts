/**
 * Pre-seeds a verifier's data folder with answers of history, as the service itself would have left them:
 * accepted sessions, stored grants, and two receipts per answer anchored through the real AnchorQueue on
 * the real chain (batches of 256). Written straight into the stores (the service must be stopped: LevelDB
 * has one owner), so 100,000 answers of history take a minute instead of hours of HTTP.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { AnchorQueue, AnchorRegistryClient, LevelDatabase, devAccountKey } from "@realname/agent";

export async function seedHistory(args: { dataDir: string; answers: number; rpcUrl: string; registryAddress: string; devAccount: number }): Promise<void> {
  const db = await LevelDatabase.open(args.dataDir);
  const registry = await AnchorRegistryClient.connect({ rpcUrl: args.rpcUrl, address: args.registryAddress, privateKey: devAccountKey(args.devAccount) });
  try {
    const sessions = db.store<Record<string, unknown>>("sessions");
    const grants = db.store<Record<string, unknown>>("grants");
    const queue = new AnchorQueue({ store: db.store("anchor-queue") as never, registry, maxBatchSize: 256, maxAgeMs: 60_000 });
    const now = new Date();
    const filler = (n: number) => randomBytes(Math.ceil(n * 0.75)).toString("base64url").slice(0, n);
    const CHUNK = 500;
    for (let done = 0; done < args.answers; done += CHUNK) {
      const n = Math.min(CHUNK, args.answers - done);
      const sessionOps = [];
      const grantOps = [];
      for (let i = 0; i < n; i++) {
        const requestId = randomUUID();
        const grantId = randomUUID();
        // Sizes as the service stores them: a signed request object ~1.5 kB, receipts ~1 kB each.
        sessionOps.push({ type: "put" as const, key: requestId, value: { requestId, requestJwt: filler(1500), request: { request_id: requestId, level: "verified", purpose: "bench", exp: Math.floor(now.getTime() / 1000) - 3600 }, payload: {}, authorizationRequest: filler(300), transactionSecretHash: filler(64), status: "accepted", createdAt: now.toISOString(), grantId } });
        grantOps.push({ type: "put" as const, key: grantId, value: { grantId, requestId, level: "verified", claims: { real_name_verified: true }, consentReceipt: filler(1000), holderDid: `did:key:z6Mk${filler(44)}`, grantReceipt: filler(1100), grantedAt: now.toISOString(), retentionUntil: new Date(now.getTime() + 365 * 86_400_000).toISOString() } });
        await queue.enqueue(randomBytes(32).toString("hex"));
        await queue.enqueue(randomBytes(32).toString("hex"));
      }
      await sessions.batch(sessionOps);
      await grants.batch(grantOps);
    }
    await queue.flush();
  } finally {
    registry.close();
    await db.close();
  }
}
