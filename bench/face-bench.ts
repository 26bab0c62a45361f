/**
 * Face figures for `npm run bench`: model load time, one embedding, face verification + liveness per
 * registration (p50/p99), resident memory, and the FAR/FRR table (bench/face-calibration.ts).
 * Standalone: `npx tsx bench/face-bench.ts` prints the same.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import {
  DEVICE_PROOF_TYP,
  DeviceRegistry,
  framesDigest,
  HumanFaceMatcher,
  HumanLivenessCheck,
  jwkFromDidKey,
  keyObjectSigner,
  didKeyFromPublicKey,
  fromB64url,
  loadHuman,
  MemoryDocumentStore,
  REPO_ROOT,
  signJws,
  type Ed25519PublicJwk,
} from "@realname/agent";
import { generateKeyPairSync } from "node:crypto";
import { calibrateFaces, calibrationTable, type FaceCalibration } from "./face-calibration.js";
import { variant } from "./face-set.js";

export interface FaceFigure { name: string; unit: string; ours: number; baseline: number; baselineName: string; ratio: number; note?: string }

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const round = (x: number) => Math.round(x * 10) / 10;
const pct = (x: number) => Math.round(x * 100_000) / 1000;

export async function faceBench(rounds = 10): Promise<{ figures: FaceFigure[]; calibration: Omit<FaceCalibration, "embedMs">; table: string }> {
  const rssBefore = process.memoryUsage().rss;
  const { loadMs } = await loadHuman();
  const matcher = new HumanFaceMatcher();
  const portraits = join(REPO_ROOT, "issuer-service", "fixtures", "portraits");
  const live = readFileSync(join(portraits, "zhang-san-live.jpg"));
  const registry = readFileSync(join(portraits, "zhang-san-registry.png"));

  // Baseline for one embedding: decoding the same image with sharp (what any matcher pays anyway).
  const decodeMs: number[] = [];
  const embedMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await sharp(live).raw().toBuffer();
    decodeMs.push(performance.now() - t);
    t = performance.now();
    await new HumanFaceMatcher().embed(live); // a fresh matcher: no cached observation
    embedMs.push(performance.now() - t);
  }

  // Per registration: the face verification (portrait vs registry photo, replay check) and the liveness
  // check over 4 frames (signature, one face per frame, continuity, stills, passive scores, actions). The
  // frames are a moved still photo, so the check ends at the action step, after all the model work.
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const did = didKeyFromPublicKey(fromB64url(publicKey.export({ format: "jwk" }).x as string));
  const devices = new DeviceRegistry(new MemoryDocumentStore());
  const now = new Date();
  await devices.register({ deviceId: "bench-kiosk", label: "bench", publicJwk: jwkFromDidKey(did) as Ed25519PublicJwk }, now);
  const liveness = new HumanLivenessCheck({ challenges: new MemoryDocumentStore(), verifyDevice: (p, e) => devices.verifySubmission(p, e) });
  const frames = [live, await variant(live, "tilt+8"), await variant(live, "shift20"), await variant(live, "darker")];
  const perRegistration: number[] = [];
  const faceOnly: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const m = new HumanFaceMatcher();
    const t0 = performance.now();
    await m.embed(live);
    await m.compare(live, registry);
    const t1 = performance.now();
    const challenge = await liveness.issueChallenge(now);
    const proof = await signJws({ typ: DEVICE_PROOF_TYP, alg: "EdDSA", kid: "bench-kiosk" }, { aud: "bench", nonce: challenge.challengeId, portrait_sha256: framesDigest(frames), iat: Math.floor(now.getTime() / 1000) }, keyObjectSigner(privateKey));
    await liveness.verify({ challengeId: challenge.challengeId, frames, deviceProof: proof }, { audience: "bench", now }).catch((e: { code?: string }) => {
      if (e.code !== "ERR_LIVENESS_ACTION_MISSING") throw e;
    });
    perRegistration.push(performance.now() - t0);
    faceOnly.push(t1 - t0);
  }
  const rssAfter = process.memoryUsage().rss;

  const calibration = await calibrateFaces(matcher);
  const { embedMs: _e, ...calib } = calibration;
  const embed50 = quantile(embedMs, 0.5);
  const figures: FaceFigure[] = [
    { name: "face model load (human: detector, mesh, faceres, emotion, anti-spoof, liveness; wasm)", unit: "ms", ours: round(loadMs), baseline: round(embed50), baselineName: "one embedding", ratio: round(loadMs / embed50) },
    { name: "one face embedding (decode, detect, mesh, 1024-d embedding, scores)", unit: "ms", ours: round(embed50), baseline: round(quantile(decodeMs, 0.5)), baselineName: "sharp decode of the same image", ratio: round(embed50 / quantile(decodeMs, 0.5)), note: `p99 ${round(quantile(embedMs, 0.99))} ms over ${rounds}` },
    { name: "face verification per registration p50 (portrait + registry photo, replay check)", unit: "ms", ours: round(quantile(faceOnly, 0.5)), baseline: round(embed50), baselineName: "one embedding", ratio: round(quantile(faceOnly, 0.5) / embed50), note: `p99 ${round(quantile(faceOnly, 0.99))} ms` },
    { name: "face verification + liveness (4 frames) per registration p50", unit: "ms", ours: round(quantile(perRegistration, 0.5)), baseline: round(embed50), baselineName: "one embedding", ratio: round(quantile(perRegistration, 0.5) / embed50), note: `p99 ${round(quantile(perRegistration, 0.99))} ms over ${rounds}` },
    { name: "face verification + liveness per registration p99", unit: "ms", ours: round(quantile(perRegistration, 0.99)), baseline: round(quantile(perRegistration, 0.5)), baselineName: "p50", ratio: round(quantile(perRegistration, 0.99) / quantile(perRegistration, 0.5)) },
    { name: "resident memory with the face model loaded", unit: "MiB", ours: Math.round(rssAfter / 2 ** 20), baseline: Math.round(rssBefore / 2 ** 20), baselineName: "RSS before loading it", ratio: round(rssAfter / rssBefore) },
    { name: "face FAR at the threshold (impostor pairs accepted)", unit: "%", ours: pct(calibration.far), baseline: 0.1, baselineName: "target ≤ 0.1 %", ratio: round(pct(calibration.far) / 0.1), note: `${calibration.impostorPairs} impostor pairs` },
    { name: "face FRR at the threshold (genuine pairs refused)", unit: "%", ours: pct(calibration.frr), baseline: 5, baselineName: "target ≤ 5 %", ratio: round(pct(calibration.frr) / 5), note: `${calibration.genuinePairs} genuine pairs; re-captures ${pct(calibration.frrRecapture)} %, another photo of the person ${pct(calibration.frrOtherPhoto)} %` },
  ];
  return { figures, calibration: calib, table: calibrationTable(calibration) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { figures, table } = await faceBench();
  for (const f of figures) console.log(`${f.name}: ${f.ours} ${f.unit} (${f.baselineName} ${f.baseline}, ratio ${f.ratio})${f.note ? `; ${f.note}` : ""}`);
  console.log(table);
  process.exit(0);
}
