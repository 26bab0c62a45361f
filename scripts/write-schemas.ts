/** Writes agent/schemas/*.json from the zod schemas the code validates with (a test keeps them equal). */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@realname/agent";
import { evidenceBundleJsonSchema } from "./lib/schemas.js";

writeFileSync(join(REPO_ROOT, "agent", "schemas", "evidence-bundle-v1.json"), JSON.stringify(evidenceBundleJsonSchema(), null, 2) + "\n");
