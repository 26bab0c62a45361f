/**
 * FAR/FRR of the face matcher on the real-face set of bench/face-set.ts. Used by `npm run bench` and by
 * `npm run calibrate:face` (scripts/calibrate-face.ts), which also writes the JSON.
 */
import { cosineSimilarity, FACE_MATCH_THRESHOLD, HumanFaceMatcher } from "@realname/agent";
import { facePhotos, onSharedBackground, variant, VARIANTS } from "./face-set.js";

/** `embedding` is undefined when no single face was found: a genuine pair with it counts as rejected. */
interface Sample { person: string; source: string; kind: string; embedding: number[] | undefined }

export interface FaceCalibration {
  threshold: number;
  genuinePairs: number;
  impostorPairs: number;
  far: number;
  frr: number;
  /** FRR split: re-captures of the same photo vs a different photo of the same person. */
  frrRecapture: number;
  frrOtherPhoto: number;
  /** The lowest threshold with FAR ≤ 0.1 % on this set, and the FRR it gives. */
  recommended: { threshold: number; far: number; frr: number };
  /** Per re-capture kind: how many genuine pairs of that kind were accepted. */
  acceptedByKind: Record<string, string>;
  /** Genuine pairs from two different photos of one person (a02, m01): their scores. */
  crossPhotoScores: number[];
  /** Two different faces pasted on one background: all pairs refused? */
  sharedBackground: { pairs: number; accepted: number; maxScore: number };
  maxImpostorScore: number;
  /** Images in which no single face was found (counted as rejections). */
  undetected: string[];
  embedMs: number[];
}

export async function calibrateFaces(matcher = new HumanFaceMatcher(), log: (line: string) => void = () => {}): Promise<FaceCalibration> {
  const photos = facePhotos();
  const samples: Sample[] = [];
  const embedMs: number[] = [];
  const embed = async (bytes: Buffer) => {
    const t0 = performance.now();
    try {
      const e = await matcher.embed(bytes);
      embedMs.push(performance.now() - t0);
      return e;
    } catch (error) {
      if ((error as { code?: string }).code !== "ERR_FACE_NOT_FOUND" && (error as { code?: string }).code !== "ERR_FACE_MULTIPLE") throw error;
      return undefined;
    }
  };
  for (const p of photos) {
    samples.push({ person: p.person, source: p.file, kind: "original", embedding: await embed(p.bytes) });
    for (const v of VARIANTS) samples.push({ person: p.person, source: p.file, kind: v, embedding: await embed(await variant(p.bytes, v)) });
    log(`  embedded ${p.file} and ${VARIANTS.length} re-captures`);
  }
  const undetected = samples.filter((s) => !s.embedding).map((s) => `${s.source}/${s.kind}`);
  const score = (a: number[] | undefined, b: number[] | undefined) => (a && b ? cosineSimilarity(a, b) : -1);
  const originals = samples.filter((s) => s.kind === "original");
  const genuine: Array<{ kind: string; score: number }> = [];
  const impostor: number[] = [];
  const crossPhotoScores: number[] = [];
  for (const ref of originals) {
    for (const s of samples) {
      if (s === ref) continue;
      const sc = score(ref.embedding, s.embedding);
      if (s.person !== ref.person) impostor.push(sc);
      else if (s.source === ref.source) genuine.push({ kind: s.kind, score: sc });
      else {
        genuine.push({ kind: "other-photo", score: sc });
        if (s.kind === "original") crossPhotoScores.push(Math.round(sc * 1000) / 1000);
      }
    }
  }
  // Two different people's faces on one identical background: the background must not make them match.
  const bg: number[] = [];
  const pasted = await Promise.all(photos.slice(0, 6).map(async (p) => ({ person: p.person, embedding: await embed(await onSharedBackground(p.bytes)) })));
  for (let i = 0; i < pasted.length; i++) for (let j = i + 1; j < pasted.length; j++) if (pasted[i]!.person !== pasted[j]!.person) bg.push(score(pasted[i]!.embedding, pasted[j]!.embedding));

  const rates = (t: number) => ({
    far: impostor.filter((s) => s >= t).length / impostor.length,
    frr: genuine.filter((g) => g.score < t).length / genuine.length,
  });
  let recommended = { threshold: 1, ...rates(1) };
  for (let t = 0.3; t <= 0.95; t += 0.005) {
    const r = rates(t);
    if (r.far <= 0.001) {
      recommended = { threshold: Math.round(t * 1000) / 1000, ...r };
      break;
    }
  }
  const threshold = matcher.threshold ?? FACE_MATCH_THRESHOLD;
  const acceptedByKind: Record<string, string> = {};
  for (const kind of new Set(genuine.map((g) => g.kind))) {
    const of = genuine.filter((g) => g.kind === kind);
    acceptedByKind[kind] = `${of.filter((g) => g.score >= threshold).length}/${of.length}`;
  }
  return {
    threshold,
    genuinePairs: genuine.length,
    impostorPairs: impostor.length,
    ...rates(threshold),
    frrRecapture: genuine.filter((g) => g.kind !== "other-photo" && g.score < threshold).length / genuine.filter((g) => g.kind !== "other-photo").length,
    frrOtherPhoto: genuine.filter((g) => g.kind === "other-photo" && g.score < threshold).length / Math.max(1, genuine.filter((g) => g.kind === "other-photo").length),
    recommended,
    acceptedByKind,
    crossPhotoScores,
    sharedBackground: { pairs: bg.length, accepted: bg.filter((s) => s >= threshold).length, maxScore: Math.round(Math.max(...bg) * 1000) / 1000 },
    maxImpostorScore: Math.round(Math.max(...impostor) * 1000) / 1000,
    undetected,
    embedMs,
  };
}

export function calibrationTable(c: FaceCalibration): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
  return [
    `threshold (cosine)         ${c.threshold}`,
    `genuine pairs              ${c.genuinePairs}   FRR ${pct(c.frr)}  (re-captures ${pct(c.frrRecapture)}, other photo of the person ${pct(c.frrOtherPhoto)})`,
    `impostor pairs             ${c.impostorPairs}   FAR ${pct(c.far)}   (highest impostor score ${c.maxImpostorScore})`,
    `lowest threshold with FAR ≤ 0.1 %: ${c.recommended.threshold} (FAR ${pct(c.recommended.far)}, FRR ${pct(c.recommended.frr)})`,
    `genuine accepted by kind   ${Object.entries(c.acceptedByKind).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    `two photos of one person   scores ${c.crossPhotoScores.join(", ")}`,
    `no single face found in   ${c.undetected.join(", ") || "none"} (counted as rejected)`,
    `different faces, one background: ${c.sharedBackground.accepted}/${c.sharedBackground.pairs} accepted (max score ${c.sharedBackground.maxScore})`,
  ].join("\n");
}
