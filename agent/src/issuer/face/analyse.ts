import sharp from "sharp";
import { AgentError } from "../../errors.js";
import { detectFaces, type FaceModelMode, type HumanFace } from "./human-runtime.js";

/** Images larger than this (bytes, or pixels per side) are refused before any pixel is decoded. */
export const MAX_IMAGE_BYTES = 4 * 1024 * 1024;
export const MAX_IMAGE_SIDE = 4096;
/** Decoded images are scaled down to this long side first: the detector works at 256 px anyway. */
const WORK_SIDE = 1024;

/** One face as the issuer uses it: where, what it looks like (embedding), and what it is doing. */
export interface FaceObservation {
  box: [number, number, number, number];
  detectorScore: number;
  /** 1024 numbers from human's faceres model, L2-normalised here. */
  embedding: number[];
  /** Passive anti-spoof score (human's antispoof model, 1 = real); 0 when analysed in "match" mode. */
  real: number;
  /** Passive liveness score (human's liveness model, 1 = live). */
  live: number;
  /**
   * Head rotation in radians (from the mesh). yaw > 0: the subject turned to their own right (the nose
   * points to the image's left in an unmirrored camera frame); checked on real photos in the liveness tests.
   */
  yaw: number;
  pitch: number;
  roll: number;
  /** Eyelid opening over eye height, both eyes averaged (human's own blink measure; < 0.2 is closed). */
  eyeOpenness: number;
  /** Top emotion label and its score ("happy" for a smile). */
  emotion: { label: string; score: number };
  /** The happy score, whether or not it is the top label. */
  happy: number;
  /** 32×32 greyscale of the face box, for pixel-level comparisons (replay, identical stills). */
  thumbnail: Uint8Array;
}

export interface ImageAnalysis {
  width: number;
  height: number;
  faces: FaceObservation[];
}

/** Refuses oversized input from the header alone (no decode), then decodes to RGB at working size. */
async function decode(image: Uint8Array): Promise<{ rgb: Buffer; width: number; height: number }> {
  if (image.byteLength > MAX_IMAGE_BYTES) throw new AgentError("ERR_IMAGE_TOO_LARGE", `the image is larger than ${MAX_IMAGE_BYTES} bytes`);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(image, { failOn: "error" }).metadata();
  } catch (cause) {
    throw new AgentError("ERR_IMAGE_UNREADABLE", "the data cannot be decoded as an image", undefined, { cause });
  }
  if (!meta.width || !meta.height || !meta.format) throw new AgentError("ERR_IMAGE_UNREADABLE", "the data cannot be decoded as an image");
  if (meta.width > MAX_IMAGE_SIDE || meta.height > MAX_IMAGE_SIDE) throw new AgentError("ERR_IMAGE_TOO_LARGE", `the image is larger than ${MAX_IMAGE_SIDE} pixels on a side`);
  try {
    const { data, info } = await sharp(image, { failOn: "error", limitInputPixels: MAX_IMAGE_SIDE * MAX_IMAGE_SIDE })
      .rotate()
      .resize(WORK_SIDE, WORK_SIDE, { fit: "inside", withoutEnlargement: true })
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { rgb: data, width: info.width, height: info.height };
  } catch (cause) {
    throw new AgentError("ERR_IMAGE_UNREADABLE", "the image cannot be decoded (truncated or corrupt)", undefined, { cause });
  }
}

function normalise(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / n);
}

function eyeOpenness(mesh: HumanFace["mesh"]): number {
  const y = (i: number) => mesh[i]?.[1] ?? 0;
  const ratio = (lidA: number, lidB: number, borderA: number, borderB: number) => Math.abs(y(lidA) - y(lidB)) / (Math.abs(y(borderA) - y(borderB)) || 1);
  // The landmark pairs human's gesture module uses for "blink left/right eye".
  return (ratio(374, 386, 443, 450) + ratio(145, 159, 223, 230)) / 2;
}

async function faceThumbnail(rgb: Buffer, width: number, height: number, box: FaceObservation["box"]): Promise<Uint8Array> {
  const left = Math.max(0, Math.floor(box[0])), top = Math.max(0, Math.floor(box[1]));
  const w = Math.max(1, Math.min(width - left, Math.ceil(box[2]))), h = Math.max(1, Math.min(height - top, Math.ceil(box[3])));
  return sharp(rgb, { raw: { width, height, channels: 3 } }).extract({ left, top, width: w, height: h }).greyscale().resize(32, 32, { fit: "fill" }).raw().toBuffer();
}

/** Decodes an image and describes every face in it ("match": embedding and pose only; "full": every score). */
export async function analyseImage(image: Uint8Array, mode: FaceModelMode = "full"): Promise<ImageAnalysis> {
  const { rgb, width, height } = await decode(image);
  const faces = await detectFaces(rgb, width, height, mode);
  const observations = await Promise.all(
    faces
      .filter((f) => f.embedding && f.embedding.length > 0)
      .map(async (f): Promise<FaceObservation> => {
        const top = [...(f.emotion ?? [])].sort((a, b) => b.score - a.score)[0];
        const angle = f.rotation?.angle ?? { yaw: 0, pitch: 0, roll: 0 };
        return {
          box: f.box,
          detectorScore: f.score,
          embedding: normalise(f.embedding!),
          real: f.real ?? 0,
          live: f.live ?? 0,
          yaw: angle.yaw,
          pitch: angle.pitch,
          roll: angle.roll,
          eyeOpenness: eyeOpenness(f.mesh),
          emotion: { label: top?.emotion ?? "unknown", score: top?.score ?? 0 },
          happy: f.emotion?.find((e) => e.emotion === "happy")?.score ?? 0,
          thumbnail: await faceThumbnail(rgb, width, height, f.box),
        };
      }),
  );
  return { width, height, faces: observations };
}

/** Exactly one face, or a code saying why not. */
export async function analyseSingleFace(image: Uint8Array, mode: FaceModelMode = "full"): Promise<FaceObservation> {
  const { faces } = await analyseImage(image, mode);
  if (faces.length === 0) throw new AgentError("ERR_FACE_NOT_FOUND", "no face was found in the image");
  if (faces.length > 1) throw new AgentError("ERR_FACE_MULTIPLE", `${faces.length} faces were found in the image; exactly one is needed`);
  return faces[0]!;
}

/** Cosine similarity of two L2-normalised embeddings (1 = same direction). */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

/** Pearson correlation of two equal-length greyscale rasters (structure, independent of brightness/contrast). */
export function pixelCorrelation(a: Uint8Array, b: Uint8Array): number {
  const n = a.length;
  if (n === 0 || n !== b.length) return 0;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]!; mb += b[i]!; }
  ma /= n; mb /= n;
  let cov = 0, va = 0, vb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma, db = b[i]! - mb;
    cov += da * db; va += da * da; vb += db * db;
  }
  return va === 0 || vb === 0 ? (va === vb ? 1 : 0) : cov / Math.sqrt(va * vb);
}
