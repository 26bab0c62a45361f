// Mocha global setup (see .mocharc.json): tests spawn the compiled command lines and services, so dist/ is
// rebuilt from the current sources first (esbuild, well under a second) and never tested stale.
import { buildDist } from "../scripts/build.mjs";

export async function mochaGlobalSetup() {
  await buildDist();
}
