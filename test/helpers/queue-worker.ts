/**
 * A child process for the crash drill: enqueues receipts `0..total-1` (deterministic hashes) into a durable
 * AnchorQueue over LevelDB and anchors them, printing progress. The parent kills it with SIGKILL at random
 * moments and starts it again over the same folder.
 */
import { AnchorQueue, AnchorRegistryClient, devAccountKey, LevelDatabase, receiptHash } from "@realname/agent";

const [dir, rpcUrl, address, totalArg] = process.argv.slice(2) as [string, string, string, string];
const total = Number(totalArg);
const db = await LevelDatabase.open(dir);
const registry = await AnchorRegistryClient.connect({ rpcUrl, address, privateKey: devAccountKey(5) });
const queue = new AnchorQueue({ store: db.store("q"), registry, maxBatchSize: 256, maxAgeMs: 100, onError: () => undefined });
queue.start(50);
const progress = await db.store<{ n: number }>("progress").get("enqueued");
// Twenty at a time, as concurrent answers would: each synced write is shared by the twenty (group commit).
for (let i = progress?.n ?? 0; i < total; i += 20) {
  await Promise.all(Array.from({ length: Math.min(20, total - i) }, (_, k) => queue.enqueue(receiptHash(`drill-receipt-${i + k}`), `receipt-${i + k}`)));
  if ((i + 20) % 100 === 0) await db.store<{ n: number }>("progress").put("enqueued", { n: i + 20 });
}
await db.store<{ n: number }>("progress").put("enqueued", { n: total });
for (;;) {
  const backlog = await queue.backlog();
  if (backlog.pending === 0 && backlog.unconfirmedBatches === 0) break;
  await queue.flush();
}
await queue.stop();
process.stdout.write("done\n");
registry.close();
await db.close();
process.exit(0);
