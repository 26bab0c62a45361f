import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PgDatabase } from "@realname/agent";
import { startStack, type Stack } from "../../drill/stack.js";
import { checkSyncOrder, replicaDrill, syncOrderDrill } from "../../drill/durability.js";
import { PG_URL, uniqueSchema } from "../helpers/pg.js";

describe("Durability drills (short form)", function () {
  this.timeout(400_000);
  let stack: Stack;
  let traces: string;
  before(async () => {
    stack = await startStack();
    traces = mkdtempSync(join(tmpdir(), "sync-trace-"));
  });
  after(async () => {
    await stack?.stop();
    rmSync(traces, { recursive: true, force: true });
  });

  it("the trace checker flags a response written before the log write it follows was synced", () => {
    const log = "7<\/d\/000005.log>";
    const sock = "9<TCP:[127.0.0.1:1->127.0.0.1:2]>";
    const response = `writev(${sock}, [{iov_base="HTTP/1.1 200 OK\\r\\n"...}], 1) = 300`;
    const synced = [`1 1.0 write(${log}, "x"..., 10) = 10`, `2 1.1 fdatasync(${log} <unfinished ...>`, `2 1.2 <... fdatasync resumed>) = 0`, `1 1.3 ${response}`].join("\n");
    expect(checkSyncOrder(synced)).to.deep.equal({ responses: 1, responsesBeforeSync: 0, logWrites: 1, syncs: 1 });
    // A sync that started before the write does not cover it; nor does answering while the sync still runs.
    const early = [`2 1.0 fdatasync(${log} <unfinished ...>`, `1 1.1 write(${log}, "x"..., 10) = 10`, `2 1.2 <... fdatasync resumed>) = 0`, `1 1.3 ${response}`].join("\n");
    expect(checkSyncOrder(early).responsesBeforeSync).to.equal(1);
    const during = [`1 1.0 write(${log}, "x"..., 10) = 10`, `2 1.1 fdatasync(${log} <unfinished ...>`, `1 1.2 ${response}`, `2 1.3 <... fdatasync resumed>) = 0`].join("\n");
    expect(checkSyncOrder(during).responsesBeforeSync).to.equal(1);
  });

  it("strace of the verifier: every acknowledged answer's LevelDB log writes are fdatasync'd before its HTTP response", async () => {
    const r = await syncOrderDrill(stack, 6, { sync: true, traceFile: join(traces, "synced.txt") });
    expect(r.acknowledged).to.equal(6);
    expect(r.responses).to.be.at.least(6);
    expect(r.logWrites).to.be.greaterThan(0);
    expect(r.syncs).to.be.greaterThan(0);
    expect(r.responsesBeforeSync).to.equal(0);
  });

  it("control: the same drill with STORE_SYNC=0 finds answers acknowledged before their writes were synced", async () => {
    const r = await syncOrderDrill(stack, 4, { sync: false, traceFile: join(traces, "unsynced.txt") });
    expect(r.acknowledged).to.equal(4);
    expect(r.responsesBeforeSync).to.be.at.least(4);
  });

  it("three verifier replicas on one PostgreSQL database, the anchoring one killed -9 under load: every acknowledged receipt anchored exactly once, spent once across replicas, another replica takes over", async () => {
    const schema = uniqueSchema("replicas");
    try {
      const r = await replicaDrill(stack, 30, PG_URL, schema);
      expect(r.replicas).to.equal(3);
      expect(r.killedLeader).to.equal(true);
      expect(r.acknowledged).to.be.at.least(40);
      expect(r.doubleAccepted).to.equal(0);
      expect(r.missing).to.equal(0);
      expect(r.anchoredOnce).to.equal(r.acknowledged);
      expect(r.rootsAnchoredTwice).to.equal(0);
      expect(r.takeoverMs).to.be.within(0, 5_000);
    } finally {
      const db = await PgDatabase.open(PG_URL, { schema });
      await db.dropSchema();
      await db.close();
    }
  });
});
