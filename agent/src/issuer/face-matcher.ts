import sharp from "sharp";
import { AgentError } from "../errors.js";

/** Result of comparing a live portrait with the registry's photo. */
export interface FaceComparison {
  match: boolean;
  /** 0..1, higher is more alike. */
  score: number;
  method: string;
}

/**
 * Compares a submitted portrait with the authoritative photo. A vendor's face-recognition service
 * implements the same interface; the default is a local perceptual comparison.
 */
export interface FaceMatcher {
  compare(portrait: Uint8Array, reference: Uint8Array): Promise<FaceComparison>;
}

const MAX_PIXELS = 4096 * 4096;

/** Decodes an image (PNG, JPEG, WebP…) to a normalised greyscale raster of `w`×`h`. */
async function greyscale(image: Uint8Array, w: number, h: number): Promise<Uint8Array> {
  try {
    const { data } = await sharp(image, { limitInputPixels: MAX_PIXELS, failOn: "error" })
      .rotate()
      .greyscale()
      .normalise()
      .resize(w, h, { fit: "fill", kernel: "lanczos3" })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return data;
  } catch (cause) {
    throw new AgentError("ERR_IMAGE_UNREADABLE", "the image cannot be decoded", undefined, { cause });
  }
}

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

/**
 * Difference hash (dHash): 64 bits, one per horizontally adjacent pixel pair of a 9×8 greyscale
 * thumbnail. Survives re-encoding, scaling and brightness changes; used to compare faces and to spot the
 * same portrait submitted for different people.
 */
export async function perceptualHash(image: Uint8Array): Promise<string> {
  const px = await greyscale(image, 9, 8);
  let bits = 0n;
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) bits = (bits << 1n) | (px[y * 9 + x]! > px[y * 9 + x + 1]! ? 1n : 0n);
  return bits.toString(16).padStart(16, "0");
}

export function hammingDistance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let n = 0;
  while (x) {
    n += Number(x & 1n);
    x >>= 1n;
  }
  return n;
}

/** Pearson correlation of two equal-length rasters (structure, independent of brightness and contrast). */
function correlation(a: Uint8Array, b: Uint8Array): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]!; mb += b[i]!; }
  ma /= n; mb /= n;
  let cov = 0, va = 0, vb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma, db = b[i]! - mb;
    cov += da * db; va += da * da; vb += db * db;
  }
  return va === 0 || vb === 0 ? 0 : cov / Math.sqrt(va * vb);
}

/**
 * Local perceptual comparison: the dHash distance and the correlation of 32×32 greyscale thumbnails must
 * both clear their thresholds. Not a biometric face recogniser: it confirms the live portrait is the
 * registry photo's subject under re-capture (scale, exposure, compression), and refuses other images.
 */
export class PerceptualFaceMatcher implements FaceMatcher {
  constructor(private readonly options: { maxHashDistance?: number; minCorrelation?: number } = {}) {}

  async compare(portrait: Uint8Array, reference: Uint8Array): Promise<FaceComparison> {
    const [ha, hb, ga, gb] = await Promise.all([perceptualHash(portrait), perceptualHash(reference), greyscale(portrait, 32, 32), greyscale(reference, 32, 32)]);
    const distance = hammingDistance(ha, hb);
    const corr = correlation(ga, gb);
    const match = distance <= (this.options.maxHashDistance ?? 10) && corr >= (this.options.minCorrelation ?? 0.9);
    const score = Math.max(0, Math.min(1, (1 - distance / 64) * 0.5 + Math.max(0, corr) * 0.5));
    return { match, score: Math.round(score * 1000) / 1000, method: `perceptual(dhash=${distance},corr=${corr.toFixed(3)})` };
  }
}
