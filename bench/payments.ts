/**
 * In-person payment figures (issue 18): nearest-peer lookup over 100,000 terminals in the geohash index
 * against a linear scan of the same positions, and the decision latency with 3 peers (start, three signed
 * answers, three face comparisons, receipt signed and queued) against the three face comparisons alone.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { getBoundsOfDistance } from "geolib";
import {
  distanceM,
  generateSigningKey,
  GeohashPositionIndex,
  InPersonPayments,
  LevelDatabase,
  MerchantPolicies,
  HumanFaceMatcher,
  REPO_ROOT,
  sha256Hex,
  signJwt,
  TERMINAL_TYP,
  TerminalRegistry,
  type P256PublicJwk,
  type Position,
} from "@realname/agent";

type Add = (f: { name: string; unit: string; ours: number; baseline: number; baselineName: string; note?: string }) => void;
type Rate = (fn: () => unknown, seconds?: number, maxOps?: number) => Promise<number>;

export async function benchInPersonPayments(add: Add, rate: Rate, seconds: number): Promise<void> {
  console.log("in-person payment figures…");
  // 100,000 terminals over a 10 km × 10 km city; deterministic scatter (mulberry32: consecutive draws are
  // not correlated, as an LCG's are, which would cluster the points on lines).
  let s = 42;
  const next = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const index = new GeohashPositionIndex({ ttlMs: 60_000 });
  const all: Array<[string, Position]> = [];
  for (let i = 0; i < 100_000; i++) {
    const p = { lat: 31.18 + next() * 0.09, lon: 121.42 + next() * 0.105, at: 0 };
    index.put(`t${i}`, p);
    all.push([`t${i}`, p]);
  }
  const now = new Date(1000);
  const centers = Array.from({ length: 1000 }, () => ({ lat: 31.18 + next() * 0.09, lon: 121.42 + next() * 0.105 }));
  let c = 0;
  const indexed = await rate(() => index.nearby(centers[c++ % centers.length]!, 30, now), seconds, 200_000);
  const scan = await rate(() => {
    const center = centers[c++ % centers.length]!;
    const [sw, ne] = getBoundsOfDistance({ latitude: center.lat, longitude: center.lon }, 30);
    return all.filter(([, p]) => p.lat >= sw!.latitude && p.lat <= ne!.latitude && p.lon >= sw!.longitude && p.lon <= ne!.longitude && distanceM(center, p) <= 30);
  }, seconds, 2000);
  add({ name: "nearest-peer lookups/s, 100,000 terminals, 30 m radius", unit: "lookups/s", ours: indexed, baseline: scan, baselineName: "linear scan (bounding box, then distance)", note: `${(1e6 / indexed).toFixed(1)} µs per lookup` });

  // Decision latency with 3 peers, over LevelDB, the issuer's face matcher and real signatures.
  const work = mkdtempSync(join(tmpdir(), "bench-pay-"));
  const db = await LevelDatabase.open(work);
  const faces = new HumanFaceMatcher();
  const portrait = (n: string) => readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", n));
  const reference = portrait("zhang-san-registry.png");
  const live = portrait("zhang-san-live.jpg");
  const platform = generateSigningKey("EdDSA");
  let clock = new Date("2026-11-22T10:00:00Z");
  const terminals = new TerminalRegistry(db.store("t"));
  const positions = new GeohashPositionIndex({ ttlMs: 60_000 });
  const service = new InPersonPayments({
    audience: platform.did,
    terminals,
    positions,
    policies: new MerchantPolicies(db.store("p")),
    faces,
    registeredFace: async () => reference,
    merchantName: async () => "Bench Shop",
    signer: { did: platform.did, signer: platform.signer },
    anchor: async () => undefined,
    decisions: db.store("d"),
    clock: () => clock,
  });
  const terminal = async (kind: "first" | "second", optIn: boolean) => {
    const key = generateSigningKey("ES256");
    const terminalId = `${kind}-${randomUUID()}`;
    await terminals.register({ terminalId, kind, label: "bench", publicJwk: key.publicJwk as P256PublicJwk, peerOptIn: optIn, ...(kind === "first" ? { identityRef: "ref", pin: "1234" } : { merchantDid: "did:key:bench" }) }, clock);
    return (type: keyof typeof TERMINAL_TYP, claims: Record<string, unknown>) => signJwt({ typ: TERMINAL_TYP[type], kid: terminalId }, { aud: platform.did, iat: clock.getTime() / 1000, nonce: randomUUID(), ...claims }, key).then((jws) => ({ jws, terminalId }));
  };
  let round = 0;
  /** One payment with 3 peers; only start → three answers → decision is timed (terminal set-up is not). */
  const decide = async (): Promise<number> => {
    round++;
    clock = new Date(clock.getTime() + 1000);
    const here = { lat: 31.2 + round * 0.001, lon: 121.47, floor: 0 };
    const payer = await terminal("first", false);
    const pos = await terminal("second", false);
    const peers = [await terminal("first", true), await terminal("first", true), await terminal("first", true)];
    for (const t of [payer, ...peers]) await service.reportPosition((await t("position", { pos: here })).jws);
    const payerId = (await payer("position", {})).terminalId;
    const t0 = performance.now();
    const started = await service.start((await pos("start", { payer: payerId, pos: here })).jws);
    for (const peer of peers) await service.answer((await peer("answer", { verification_id: started.verificationId, verdict: "confirm", image_sha256: sha256Hex(live) })).jws, live);
    const view = await service.viewFor(started.verificationId);
    const ms = performance.now() - t0;
    if (view.decision?.outcome !== "accepted") throw new Error(`bench decision not accepted: ${JSON.stringify(view.decision?.reasons)}`);
    return ms;
  };
  const rounds = seconds < 1 ? 5 : 20;
  await decide();
  let total = 0;
  for (let i = 0; i < rounds; i++) total += await decide();
  const comparisons = await rate(async () => {
    for (let i = 0; i < 3; i++) await faces.compare(live, reference);
  }, seconds, 500);
  add({ name: "in-person decision latency, 3 peers (sign, verify, compare, receipt)", unit: "ms", ours: total / rounds, baseline: 1000 / comparisons, baselineName: "the 3 face comparisons alone" });
  await db.close();
  rmSync(work, { recursive: true, force: true });
}
