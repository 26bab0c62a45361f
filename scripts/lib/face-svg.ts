/**
 * Synthetic faces (drawn, not photographed): no real person's likeness is used in fixtures. A seed gives one
 * face; the same seed always gives the same face.
 */
import sharp from "sharp";

export function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

export function faceSvg(seed: number): string {
  const r = rng(seed);
  const skin = `rgb(${200 + Math.floor(r() * 50)},${150 + Math.floor(r() * 50)},${120 + Math.floor(r() * 40)})`;
  const bg = `rgb(${Math.floor(r() * 255)},${Math.floor(r() * 255)},${Math.floor(r() * 255)})`;
  const hair = `rgb(${Math.floor(r() * 90)},${Math.floor(r() * 60)},${Math.floor(r() * 40)})`;
  const fw = 70 + r() * 40, fh = 95 + r() * 30, cx = 128 + (r() - 0.5) * 30, cy = 170 + (r() - 0.5) * 20;
  const eyeY = cy - fh * (0.15 + r() * 0.15), eyeDx = 22 + r() * 14, eyeR = 6 + r() * 6;
  const mouthY = cy + fh * (0.35 + r() * 0.2), mouthW = 20 + r() * 30;
  const stripes = Array.from({ length: 6 }, (_, i) => `<rect x="${Math.floor(r() * 256)}" y="0" width="${10 + Math.floor(r() * 40)}" height="320" fill="rgba(0,0,0,${(0.1 + r() * 0.3).toFixed(2)})" transform="rotate(${Math.floor(r() * 60 - 30)} 128 160)"/>`).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="320">
  <rect width="256" height="320" fill="${bg}"/>${stripes}
  <ellipse cx="${cx}" cy="${cy - fh * 0.55}" rx="${fw * 1.1}" ry="${fh * 0.6}" fill="${hair}"/>
  <ellipse cx="${cx}" cy="${cy}" rx="${fw}" ry="${fh}" fill="${skin}"/>
  <circle cx="${cx - eyeDx}" cy="${eyeY}" r="${eyeR}" fill="#222"/><circle cx="${cx + eyeDx}" cy="${eyeY}" r="${eyeR}" fill="#222"/>
  <path d="M ${cx} ${eyeY + 10} L ${cx - 8} ${cy + 20} L ${cx + 8} ${cy + 20}" fill="none" stroke="#a66" stroke-width="3"/>
  <rect x="${cx - mouthW / 2}" y="${mouthY}" width="${mouthW}" height="${6 + r() * 8}" rx="4" fill="#933"/>
  <rect x="0" y="${280 + r() * 30}" width="256" height="60" fill="${hair}"/>
</svg>`;
}


/** The registry photo of a face: the drawing as PNG. */
export async function registryPhoto(seed: number): Promise<Buffer> {
  return sharp(Buffer.from(faceSvg(seed))).png().toBuffer();
}

/** A "live capture" of the same face: a different camera, exposure and compression. */
export async function liveCapture(seed: number): Promise<Buffer> {
  return sharp(Buffer.from(faceSvg(seed))).resize(220, 275).modulate({ brightness: 1.12 }).blur(0.8).jpeg({ quality: 72 }).toBuffer();
}
