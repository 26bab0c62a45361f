/**
 * Writes issuer-service/fixtures/portraits from the real faces under test/fixtures/faces (see SOURCES.md
 * there): for each registry person a "registry photo" and a "live capture" (scripts/lib/live-capture.ts: the
 * one photo re-framed, since only one photo per person exists). The impostor is a different person. Drawn
 * (SVG) faces are not used here: the real face model finds no face in them.
 */
import sharp from "sharp";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@realname/agent";
import { liveCaptureOf } from "./lib/live-capture.js";

const faces = join(REPO_ROOT, "test", "fixtures", "faces");
const out = join(REPO_ROOT, "issuer-service", "fixtures", "portraits");
const people: Array<[string, string]> = [["zhang-san", "a04.jpg"], ["li-si", "a10.jpg"], ["wang-xiaoming", "a15.jpg"], ["impostor", "a13.jpg"]];
for (const [name, file] of people) {
  const photo = readFileSync(join(faces, file));
  await sharp(photo).png().toFile(join(out, `${name}-registry.png`));
  writeFileSync(join(out, `${name}-live.jpg`), await liveCaptureOf(photo));
}
console.log("portraits written to", out);
