import sharp from "sharp";
import { AgentError } from "../errors.js";

/** Result of comparing a live portrait with the registry's photo. */
export interface FaceComparison {
  match: boolean;
  /** Similarity on the matcher's own scale (cosine for the default); `match` is `score >= threshold`. */
  score: number;
  method: string;
  /** True when the portrait is the reference itself submitted again (re-encoded, rescaled, slightly cropped). */
  replay: boolean;
}

/**
 * Compares a submitted portrait with the authoritative photo. A vendor's face-recognition service
 * implements the same interface; the default is HumanFaceMatcher (issuer/face/human-face-matcher.ts), a
 * real face model run locally. Every method refuses an image without exactly one face
 * (ERR_FACE_NOT_FOUND, ERR_FACE_MULTIPLE) or that is not an image (ERR_IMAGE_UNREADABLE, ERR_IMAGE_TOO_LARGE).
 */
export interface FaceMatcher {
  readonly threshold: number;
  /** One comparison, the replay check included, at the same cost whatever the answer. */
  compare(portrait: Uint8Array, reference: Uint8Array): Promise<FaceComparison>;
  /** The face's embedding (for 1:N search and the duplicate-face risk rule). */
  embed(image: Uint8Array): Promise<number[]>;
  /** Similarity of two embeddings from `embed`, on the scale of `threshold`. */
  similarity(a: readonly number[], b: readonly number[]): number;
}

const MAX_PIXELS = 4096 * 4096;

/** Checks an upload is a decodable image of a sensible size; returns its dimensions. */
export async function inspectPortrait(image: Uint8Array): Promise<{ width: number; height: number; format: string }> {
  try {
    const meta = await sharp(image, { limitInputPixels: MAX_PIXELS, failOn: "error" }).metadata();
    if (!meta.width || !meta.height || !meta.format) throw new Error("no dimensions");
    return { width: meta.width, height: meta.height, format: meta.format };
  } catch (cause) {
    throw new AgentError("ERR_IMAGE_UNREADABLE", "the portrait cannot be decoded as an image", undefined, { cause });
  }
}
