import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnchorQueue, AnchorRegistryClient, devAccountKey, LevelDatabase, receiptHash, REPO_ROOT, resolveChain, verifyMerkleInclusion, type AnchorRecord } from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { freePort, startHardhatNodeProcess } from "../../scripts/lib/devnet.js";

describe("Anchoring drills: crashes and chain resets", function () {
  this.timeout(300_000);

  it("kill -9 at random points while 10,000 receipts are queued: all anchored, none twice", async () => {
    const { chain, deployment } = await chainWithRegistry();
    const dir = mkdtempSync(join(tmpdir(), "drill-"));
    const total = 10_000;
    const run = (killAfterMs?: number) =>
      new Promise<"done" | "killed">((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "test", "helpers", "queue-worker.ts"), dir, chain.url, deployment.address, String(total)], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout!.on("data", (d) => (out += d));
        const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
        child.once("exit", () => {
          if (timer) clearTimeout(timer);
          resolve(out.includes("done") ? "done" : "killed");
        });
      });
    try {
      let kills = 0;
      // Random kill times (seeded by the clock; each run prints nothing but "done"), then a last run to the end.
      for (let i = 0; i < 6; i++) if ((await run(1200 + Math.floor(Math.random() * 2500))) === "killed") kills++;
      expect(await run()).to.equal("done");
      expect(kills).to.be.greaterThan(0);

      const db = await LevelDatabase.open(dir);
      const registry = await AnchorRegistryClient.connect({ rpcUrl: chain.url, address: deployment.address });
      try {
        const store = db.store<AnchorRecord>("q");
        const roots = new Map<string, number>();
        for (let i = 0; i < total; i++) {
          const r = (await store.get(`record:${receiptHash(`drill-receipt-${i}`)}`))!;
          expect(r, `receipt ${i}`).to.not.equal(undefined);
          expect(r.status).to.equal("anchored");
          expect(verifyMerkleInclusion(r.root!, r.leaf, r.proof!)).to.equal(true);
          roots.set(r.root!, (roots.get(r.root!) ?? 0) + 1);
        }
        // Every root is on chain exactly once with the leaf count of its batch, so no receipt was anchored twice.
        let onChainLeaves = 0;
        for (const [root, count] of roots) {
          const a = await registry.contract.anchorOf(root);
          expect(Number(a.leafCount)).to.equal(count);
          onChainLeaves += Number(a.leafCount);
        }
        expect(onChainLeaves).to.equal(total);
        const events = await registry.contract.queryFilter(registry.contract.filters.RootAnchored());
        const ours = events.filter((e) => roots.has((e as unknown as { args: { root: string } }).args.root));
        expect(ours.length).to.equal(roots.size);
      } finally {
        registry.close();
        await db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await chain.close();
    }
  });

  it("a reset chain is detected: anchors the chain no longer shows are withdrawn and re-anchored", async () => {
    const port = await freePort();
    let node = await startHardhatNodeProcess(port);
    const dir = mkdtempSync(join(tmpdir(), "reset-"));
    const deploymentFile = join(dir, "deployment.json");
    let db: LevelDatabase | undefined;
    try {
      const { deployment } = await resolveChain({ rpcUrl: node.url, deploymentFile, deployIfMissing: true });
      db = await LevelDatabase.open(join(dir, "db"));
      let registry = await AnchorRegistryClient.connect({ rpcUrl: node.url, address: deployment.address, privateKey: devAccountKey(1) });
      let queue = new AnchorQueue({ store: db.store("q"), registry });
      const hashes = Array.from({ length: 20 }, (_, i) => receiptHash(`reset-${i}`));
      for (const h of hashes) await queue.enqueue(h);
      await queue.flush();
      const before = (await queue.get(hashes[0]!))!;
      expect(before.status).to.equal("anchored");
      expect(await queue.audit()).to.equal(0);

      // The developer restarts the Hardhat node: everything on chain is gone.
      registry.close();
      await node.stop();
      node = await startHardhatNodeProcess(port);
      registry = await AnchorRegistryClient.connect({ rpcUrl: node.url, address: deployment.address, privateKey: devAccountKey(1) }).catch(() => undefined as never);
      expect(registry).to.equal(undefined); // no contract at the recorded address any more
      const { deployment: again } = await resolveChain({ rpcUrl: node.url, deploymentFile, deployIfMissing: true });
      registry = await AnchorRegistryClient.connect({ rpcUrl: node.url, address: again.address, privateKey: devAccountKey(1) });
      queue = new AnchorQueue({ store: db.store("q"), registry });
      expect(await queue.audit()).to.equal(1);
      const withdrawn = (await queue.get(hashes[0]!))!;
      expect(withdrawn.status).to.equal("batched");
      expect(withdrawn.anchor).to.equal(undefined);
      await queue.flush();
      const after = (await queue.get(hashes[0]!))!;
      expect(after.status).to.equal("anchored");
      expect(after.root).to.equal(before.root);
      expect(await registry.findAnchor(after.root!)).to.deep.equal(after.anchor);
      registry.close();
    } finally {
      await db?.close();
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
