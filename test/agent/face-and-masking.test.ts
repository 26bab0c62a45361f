import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { maskIdNumber, maskName, PerceptualFaceMatcher, REPO_ROOT, validateResidentIdNumber } from "@realname/agent";

const portrait = (name: string) => readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", name));

describe("Face check (perceptual, sharp-decoded)", () => {
  const matcher = new PerceptualFaceMatcher();
  it("matches a live capture (rescaled, brighter, blurred, JPEG) to the person's registry photo", async () => {
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
  it("is not byte equality: the live capture and the registry photo differ in every byte sense", () => {
    expect(portrait("zhang-san-live.jpg").equals(portrait("zhang-san-registry.png"))).to.equal(false);
  });
  it("refuses an undecodable image with ERR_IMAGE_UNREADABLE", async () => {
    const fake = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from("not really a png")]);
    try {
      await matcher.compare(fake, portrait("zhang-san-registry.png"));
      expect.fail("compared garbage");
    } catch (error) {
      expect((error as { code: string }).code).to.equal("ERR_IMAGE_UNREADABLE");
    }
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
