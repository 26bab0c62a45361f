/**
 * The evaluation set for the face matcher, built from the real faces under test/fixtures/faces (see
 * SOURCES.md there): one photo per person for most people, so genuine pairs are that photo against
 * realistic re-captures of it (crop 12 %, shift 20 px, tilt ±8°, light, JPEG), plus the two people who
 * have two different photos (a02, m01). Impostor pairs: every person's photo against every other
 * person's re-captures, and two different faces pasted on one background.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { REPO_ROOT } from "@realname/agent";

export const FACES_DIR = join(REPO_ROOT, "test", "fixtures", "faces");

export interface FacePhoto {
  person: string;
  file: string;
  bytes: Buffer;
}

/** Every fixture photo; `a02-1.jpg` and `a02-2.jpg` are two photos of person a02. */
export function facePhotos(): FacePhoto[] {
  return readdirSync(FACES_DIR)
    .filter((f) => f.endsWith(".jpg"))
    .sort()
    .map((file) => ({ person: file.replace(/(-\d)?\.jpg$/, ""), file, bytes: readFileSync(join(FACES_DIR, file)) }));
}

export type VariantName = "crop12" | "shift20" | "tilt+8" | "tilt-8" | "darker" | "brighter" | "jpeg35" | "half-size";

/** A re-capture of a photo: what a different camera, framing or light does to the same face. */
export async function variant(image: Buffer, name: VariantName): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(image).metadata();
  const img = sharp(image);
  switch (name) {
    case "crop12": {
      const dx = Math.round(width * 0.06), dy = Math.round(height * 0.06);
      return img.extract({ left: dx, top: dy, width: width - 2 * dx, height: height - 2 * dy }).jpeg({ quality: 90 }).toBuffer();
    }
    case "shift20":
      // Content moves 20 px right and down; the uncovered edge is filled with grey, like a framing change.
      return sharp({ create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 } } })
        .composite([{ input: await img.extract({ left: 0, top: 0, width: width - 20, height: height - 20 }).toBuffer(), left: 20, top: 20 }])
        .jpeg({ quality: 90 })
        .toBuffer();
    case "tilt+8":
    case "tilt-8":
      return img.rotate(name === "tilt+8" ? 8 : -8, { background: { r: 128, g: 128, b: 128 } }).resize(width, height, { fit: "cover" }).jpeg({ quality: 90 }).toBuffer();
    case "darker":
      return img.modulate({ brightness: 0.6 }).jpeg({ quality: 90 }).toBuffer();
    case "brighter":
      return img.modulate({ brightness: 1.35 }).gamma(2.2, 1.8).jpeg({ quality: 90 }).toBuffer();
    case "jpeg35":
      return img.jpeg({ quality: 35 }).toBuffer();
    case "half-size":
      return img.resize(Math.round(width / 2)).jpeg({ quality: 85 }).toBuffer();
  }
}

export const VARIANTS: VariantName[] = ["crop12", "shift20", "tilt+8", "tilt-8", "darker", "brighter", "jpeg35", "half-size"];

/** One face pasted onto the left half of a shared background (a plain office-like gradient with a frame). */
export async function onSharedBackground(face: Buffer): Promise<Buffer> {
  const bg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#8aa"/><stop offset="1" stop-color="#dcb"/></linearGradient></defs><rect width="640" height="480" fill="url(#g)"/><rect x="400" y="40" width="200" height="260" fill="#654"/><rect x="0" y="400" width="640" height="80" fill="#333"/></svg>`,
  );
  const inset = await sharp(face).resize(300, 300, { fit: "cover" }).toBuffer();
  return sharp(bg).composite([{ input: inset, left: 60, top: 90 }]).jpeg({ quality: 90 }).toBuffer();
}
