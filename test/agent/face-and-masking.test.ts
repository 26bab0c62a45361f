import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { HumanFaceMatcher, maskIdNumber, maskName, MAX_IMAGE_BYTES, REPO_ROOT, validateResidentIdNumber } from "@realname/agent";
import { facePhotos, onSharedBackground, variant } from "../../bench/face-set.js";

const portrait = (name: string) => readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", name));
const face = (file: string) => facePhotos().find((p) => p.file === file)!.bytes;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    return (error as { code?: string }).code ?? "no code";
  }
  return "no error";
}

// One model for the whole file (loaded lazily by the first call, shared by every matcher in the process).
describe("Face check (human's faceres embedding, real faces)", function () {
  this.timeout(180_000);
  const matcher = new HumanFaceMatcher();

  it("matches each fixture person's live capture (tilted, cropped, brighter, JPEG) to their registry photo", async () => {
    for (const person of ["zhang-san", "li-si", "wang-xiaoming"]) {
      const r = await matcher.compare(portrait(`${person}-live.jpg`), portrait(`${person}-registry.png`));
      expect(r.match, `${person}: ${r.method}`).to.equal(true);
    }
  });
  it("refuses another person's face", async () => {
    for (const [live, reg] of [["impostor", "zhang-san"], ["li-si", "zhang-san"], ["zhang-san", "wang-xiaoming"]]) {
      const r = await matcher.compare(portrait(`${live}-live.jpg`), portrait(`${reg}-registry.png`));
      expect(r.match, `${live} vs ${reg}: ${r.method}`).to.equal(false);
    }
  });
  it("accepts the same face cropped 12 %, shifted 20 px and tilted 8° (what the perceptual hash refused)", async () => {
    for (const file of ["a04.jpg", "a08.jpg", "a12.jpg"]) {
      for (const v of ["crop12", "shift20", "tilt+8", "tilt-8"] as const) {
        const r = await matcher.compare(await variant(face(file), v), face(file));
        expect(r.match, `${file} ${v}: ${r.method}`).to.equal(true);
      }
    }
  });
  it("refuses two different faces pasted on one background (what the perceptual hash accepted)", async () => {
    const r = await matcher.compare(await onSharedBackground(face("a04.jpg")), await onSharedBackground(face("a09.jpg")));
    expect(r.match, r.method).to.equal(false);
  });
  it("refuses an image without a face, with two faces, that is not an image, or oversized: each with its code", async () => {
    const noFace = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 140, b: 200 } } }).jpeg().toBuffer();
    expect(await codeOf(matcher.embed(noFace))).to.equal("ERR_FACE_NOT_FOUND");
    const two = await sharp({ create: { width: 720, height: 360, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .composite([
        { input: await sharp(face("a04.jpg")).resize(340, 340, { fit: "cover" }).toBuffer(), left: 10, top: 10 },
        { input: await sharp(face("a10.jpg")).resize(340, 340, { fit: "cover" }).toBuffer(), left: 370, top: 10 },
      ])
      .jpeg()
      .toBuffer();
    expect(await codeOf(matcher.embed(two))).to.equal("ERR_FACE_MULTIPLE");
    const notImage = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from("not really a png")]);
    expect(await codeOf(matcher.embed(notImage))).to.equal("ERR_IMAGE_UNREADABLE");
    const truncated = face("a04.jpg").subarray(0, 4000);
    expect(await codeOf(matcher.embed(truncated))).to.equal("ERR_IMAGE_UNREADABLE");
    expect(await codeOf(matcher.embed(Buffer.alloc(MAX_IMAGE_BYTES + 1, 0xff)))).to.equal("ERR_IMAGE_TOO_LARGE");
    // 5000×5000 pixels in a small file: refused from the header, before decoding 25 million pixels.
    const huge = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: { r: 0, g: 0, b: 0 } } }).jpeg({ quality: 10 }).toBuffer();
    expect(await codeOf(matcher.embed(huge))).to.equal("ERR_IMAGE_TOO_LARGE");
  });
  it("replay: the registry photo itself, re-encoded, rescaled or slightly cropped is a replay; another photo of the same person is not", async () => {
    const registry = portrait("zhang-san-registry.png");
    expect((await matcher.compare(registry, registry)).replay).to.equal(true);
    expect((await matcher.compare(await sharp(registry).jpeg({ quality: 60 }).toBuffer(), registry)).replay).to.equal(true);
    expect((await matcher.compare(await variant(registry, "half-size"), registry)).replay).to.equal(true);
    expect((await matcher.compare(await variant(registry, "crop12"), registry)).replay).to.equal(true);
    expect((await matcher.compare(await variant(registry, "shift20"), registry)).replay).to.equal(true);
    // Two different photos of one person (a02): same person, not a replay.
    expect((await matcher.compare(face("a02-2.jpg"), face("a02-1.jpg"))).replay).to.equal(false);
    // The fixture's live capture (a rotated re-framing) is not caught here: the active challenge is what refuses it.
    expect((await matcher.compare(portrait("zhang-san-live.jpg"), registry)).replay).to.equal(false);
  });
});

describe("Masked identity and ID number validation", () => {
  it("masks names and ID numbers for the confirmation step", () => {
    expect(maskName("张三")).to.equal("张*");
    expect(maskName("王小明")).to.equal("王**");
    expect(maskIdNumber("110105199003071239")).to.equal("1101**********1239");
  });
  it("validates the GB 11643 check digit, shape and birth date", () => {
    expect(validateResidentIdNumber("110105199003071239").valid).to.equal(true);
    expect(validateResidentIdNumber("110105199003071238").problem).to.match(/check digit/);
    expect(validateResidentIdNumber("11010519900307123").problem).to.match(/17 digits/);
    expect(validateResidentIdNumber("110105199002301235").problem).to.match(/birth date/);
  });
});
