/**
 * A "live capture" made from a single real photo (only one photo per person exists in the fixtures): the photo
 * re-framed as another camera would take it, tilted 8°, cropped, shifted, brighter, JPEG. It matches the photo
 * under the real face model (HumanFaceMatcher) and is not caught by the replay check, which catches re-encoded,
 * rescaled and slightly cropped copies but not rotated ones (the active liveness challenge refuses those).
 */
import sharp from "sharp";

export async function liveCaptureOf(photo: Buffer): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(photo).metadata();
  const tilted = await sharp(photo).rotate(8, { background: { r: 120, g: 120, b: 120 } }).resize(width, height, { fit: "cover" }).toBuffer();
  return sharp(tilted)
    .extract({ left: 16, top: 4, width: width - 30, height: height - 20 })
    .modulate({ brightness: 1.12 })
    .jpeg({ quality: 80 })
    .toBuffer();
}
