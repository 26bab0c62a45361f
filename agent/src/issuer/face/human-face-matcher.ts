import { createHash } from "node:crypto";
import type { FaceComparison, FaceMatcher } from "../face-matcher.js";
import { analyseSingleFace, cosineSimilarity, type FaceObservation } from "./analyse.js";
import { replayOf } from "./replay.js";

/**
 * Cosine similarity of human's faceres embeddings at or above which two faces are the same person.
 * Calibrated by `npm run calibrate:face` (bench/face-calibration.ts) on the real faces under
 * test/fixtures/faces: FAR ≤ 0.1 % with FRR ≤ 5 % there; the figures are in `npm run bench`.
 */
export const FACE_MATCH_THRESHOLD = 0.62;

/**
 * The face matcher with a real model: exactly one face in each image (ERR_FACE_NOT_FOUND /
 * ERR_FACE_MULTIPLE otherwise), a 1024-d embedding for each, and their cosine similarity against the
 * calibrated threshold. The model is loaded once per process and shared.
 */
export class HumanFaceMatcher implements FaceMatcher {
  readonly threshold: number;
  constructor(options: { threshold?: number } = {}) {
    this.threshold = options.threshold ?? FACE_MATCH_THRESHOLD;
  }

  // One registration asks about the same two images several times (embed, replay, compare): the last few
  // observations are kept by content hash so the model runs once per image.
  private readonly recent = new Map<string, Promise<FaceObservation>>();

  /** The one face in an image: embedding, pose and a thumbnail (the "match" models only). */
  observe(image: Uint8Array): Promise<FaceObservation> {
    const key = createHash("sha256").update(image).digest("hex");
    let found = this.recent.get(key);
    if (!found) {
      found = analyseSingleFace(image, "match");
      this.recent.set(key, found);
      found.catch(() => this.recent.delete(key));
      if (this.recent.size > 16) this.recent.delete(this.recent.keys().next().value!);
    }
    return found;
  }

  similarity(a: readonly number[], b: readonly number[]): number {
    return cosineSimilarity(a, b);
  }

  async embed(image: Uint8Array): Promise<number[]> {
    return (await this.observe(image)).embedding;
  }

  compareObservations(live: FaceObservation, reference: FaceObservation): FaceComparison {
    const score = cosineSimilarity(live.embedding, reference.embedding);
    const replay = replayOf(live, reference);
    return { match: score >= this.threshold, score: Math.round(score * 1000) / 1000, replay: replay.replay, method: `human-faceres(cos=${score.toFixed(3)},t=${this.threshold},pixels=${replay.pixels.toFixed(3)})` };
  }

  // The reference side is always analysed afresh (never from the cache): comparing a portrait with itself
  // (what registration does when there is no registry photo) then costs what a real comparison costs.
  async compare(portrait: Uint8Array, reference: Uint8Array): Promise<FaceComparison> {
    const live = await this.observe(portrait);
    const ref = await analyseSingleFace(reference, "match");
    return this.compareObservations(live, ref);
  }
}
