import { cosineSimilarity, pixelCorrelation, type FaceObservation } from "./analyse.js";

/**
 * Replay of the registry photo as the "live" capture. A genuine capture is a new photo: same person
 * (embedding close) but a different pose, light and expression, so the face region's pixels differ. A
 * replay (the registry photo re-encoded, rescaled or slightly cropped) gives a nearly identical embedding
 * AND, once both face boxes are cut out and scaled to 32×32 (alignment by the detector's box), nearly
 * the same pixels. Both must hold: a twin or a similar photo is not a replay, and neither is a different
 * picture of the same moment. A geometrically altered copy (rotated, warped) can pass this test: that is
 * what the active challenge (LivenessCheck) is for.
 */
export const REPLAY_MIN_EMBEDDING = 0.85;
export const REPLAY_MIN_PIXELS = 0.9;

export interface ReplayVerdict {
  replay: boolean;
  embedding: number;
  pixels: number;
}

export function replayOf(live: FaceObservation, reference: FaceObservation): ReplayVerdict {
  const embedding = cosineSimilarity(live.embedding, reference.embedding);
  const pixels = pixelCorrelation(live.thumbnail, reference.thumbnail);
  return { replay: embedding >= REPLAY_MIN_EMBEDDING && pixels >= REPLAY_MIN_PIXELS, embedding, pixels };
}
