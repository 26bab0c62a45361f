/**
 * `npm run drill`: the system under attack, load and faults, then a privacy scan of everything written on
 * chain and in logs. `--quick` is the short form `npm test` also runs. Exit code 0 only when every drill holds.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@realname/agent";
import { startStack } from "./stack.js";
import { replicaDrill, syncOrderDrill } from "./durability.js";
import { attackDrill, faultDrill, linkabilityDrill, loadDrill, privacyScan, singleUseDrill, walletTrustDrill } from "./drills.js";

const quick = process.argv.includes("--quick");
const stack = await startStack();
let ok = true;
const results: Record<string, unknown> = {};
try {
  const attacks = await attackDrill(stack);
  results.attacks = attacks;
  const attacksOk = attacks.cases >= 50 && attacks.serverErrors.length === 0 && attacks.accepted.length === 0 && attacks.servicesAlive;
  console.log(`attacks: ${attacks.cases} cases, ${attacks.refusedWithCode} refused with a code, ${attacks.serverErrors.length} server errors, ${attacks.accepted.length} wrongly accepted, services alive: ${attacks.servicesAlive} → ${attacksOk ? "held" : "FAILED"}`);
  ok &&= attacksOk;

  const load = await loadDrill(stack, quick ? 60 : 600, quick ? 20 : 120);
  results.load = load;
  const loadOk = load.errors === 0 && load.replaysAccepted === 0 && load.accepted === load.answers && load.rssSecondHalfMiB <= load.rssFirstHalfMiB * 1.5 + 20;
  console.log(`load: ${load.answers} answers + ${load.answers} replays in ${load.seconds}s: ${load.accepted} accepted, ${load.replaysAccepted} replays accepted, ${load.errors} errors, RSS ${load.rssFirstHalfMiB}→${load.rssSecondHalfMiB} MiB → ${loadOk ? "held" : "FAILED"}`);
  ok &&= loadOk;

  const faults = await faultDrill(stack, quick ? 30 : 200);
  results.faults = faults;
  const faultsOk = faults.missing === 0 && faults.anchoredOnce === faults.acknowledged && faults.degradedAnswersAccepted > 0;
  console.log(`faults: kill -9 of the verifier and the chain down and back: ${faults.acknowledged} acknowledged receipts, ${faults.anchoredOnce} anchored once, ${faults.missing} missing; ${faults.degradedAnswersAccepted} answers accepted while the chain was down (backlog ${faults.backlogWhileDown}) → ${faultsOk ? "held" : "FAILED"}`);
  ok &&= faultsOk;

  const linkability = await linkabilityDrill(stack);
  results.linkability = linkability;
  console.log(`linkability: ${linkability.checks} comparisons of what one merchant sees, ${linkability.findings.length} links → ${linkability.findings.length === 0 ? "held" : "FAILED"}`);
  ok &&= linkability.findings.length === 0;

  const privacy = await privacyScan(stack);
  results.privacy = privacy;
  console.log(`privacy: ${privacy.blocksScanned} blocks, ${privacy.transactionsScanned} transactions, ${privacy.logLines} log lines scanned: ${privacy.findings.length} findings → ${privacy.findings.length === 0 ? "held" : "FAILED"}`);
  ok &&= privacy.findings.length === 0;

  const singleUse = await singleUseDrill(stack, quick ? 8 : 32);
  results.singleUse = singleUse;
  console.log(`single use: ${singleUse.doubleSpends.map((d) => `${d.name} ${d.succeeded}/${d.attempts}`).join(", ")}; bounded fetch: ${singleUse.fetches.filter((f) => f.got === f.expected).length}/${singleUse.fetches.length} refused with their code → ${singleUse.held ? "held" : "FAILED"}`);
  ok &&= singleUse.held;
  const trust = await walletTrustDrill(stack);
  results.walletTrust = trust;
  const trustOk = trust.accepted.length === 0 && trust.serverErrors.length === 0 && trust.refusedWithCode === trust.cases;
  console.log(`wallet as the target: ${trust.cases} cases (request swap, stale consent forms, registry name, login relay, foreign-origin proof, fetch from a GET), ${trust.refusedWithCode} refused, ${trust.accepted.length} got through → ${trustOk ? "held" : "FAILED"}`);
  ok &&= trustOk;
  ok &&= await durabilityDrills();
} finally {
  await stack.stop();
}

/** Synced before acknowledged (strace), and three replicas on PostgreSQL with the anchoring one killed -9. */
async function durabilityDrills(): Promise<boolean> {
  const traceFile = join(stack.work, "verifier.strace");
  const sync = await syncOrderDrill(stack, quick ? 6 : 30, { sync: true, traceFile });
  results.syncOrder = sync;
  const syncOk = sync.acknowledged > 0 && sync.responses >= sync.acknowledged && sync.syncs > 0 && sync.responsesBeforeSync === 0;
  console.log(`synced before acknowledged: ${sync.acknowledged} answers traced, ${sync.responses} responses, ${sync.logWrites} log writes, ${sync.syncs} syncs, ${sync.responsesBeforeSync} responses before their writes were synced → ${syncOk ? "held" : "FAILED"}`);
  const databaseUrl = process.env.DRILL_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const schema = `drill_${process.pid}`;
  const replicas = await replicaDrill(stack, quick ? 30 : 150, databaseUrl, schema);
  const { PgDatabase } = await import("@realname/agent");
  const db = await PgDatabase.open(databaseUrl, { schema });
  await db.dropSchema();
  await db.close();
  results.replicas = replicas;
  const replicasOk = replicas.killedLeader && replicas.missing === 0 && replicas.anchoredOnce === replicas.acknowledged && replicas.rootsAnchoredTwice === 0 && replicas.doubleAccepted === 0 && replicas.takeoverMs >= 0 && replicas.takeoverMs <= 5000;
  console.log(`replicas: ${replicas.replicas} verifiers on one PostgreSQL database, the anchoring one killed -9 under load: ${replicas.acknowledged} acknowledged receipts, ${replicas.anchoredOnce} anchored once, ${replicas.missing} missing, ${replicas.rootsAnchoredTwice} roots anchored twice, ${replicas.doubleAccepted} answers accepted twice; another replica anchored after ${replicas.takeoverMs} ms → ${replicasOk ? "held" : "FAILED"}`);
  return syncOk && replicasOk;
}
mkdirSync(join(REPO_ROOT, "test-output"), { recursive: true });
writeFileSync(join(REPO_ROOT, "test-output", `drill-${quick ? "quick" : "full"}.json`), JSON.stringify(results, null, 2));
console.log(ok ? "all drills held" : "A DRILL FAILED");
process.exit(ok ? 0 : 1);
