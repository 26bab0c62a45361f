/** `npm run calibrate:face`: FAR/FRR of the face matcher on test/fixtures/faces, printed and written to bench/face-calibration.json. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@realname/agent";
import { calibrateFaces, calibrationTable } from "../bench/face-calibration.js";

const result = await calibrateFaces(undefined, console.log);
console.log(calibrationTable(result));
const { embedMs, ...figures } = result;
writeFileSync(join(REPO_ROOT, "bench", "face-calibration.json"), JSON.stringify({ ...figures, embeddings: embedMs.length }, null, 2) + "\n");
console.log("bench/face-calibration.json written");
