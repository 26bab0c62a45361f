import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@realname/agent";
import { evidenceBundleJsonSchema } from "../../scripts/lib/schemas.js";

describe("Published JSON schemas", () => {
  it("agent/schemas/evidence-bundle-v1.json is the schema the code validates with (run scripts/write-schemas.ts after a change)", () => {
    const committed = JSON.parse(readFileSync(join(REPO_ROOT, "agent", "schemas", "evidence-bundle-v1.json"), "utf8"));
    expect(committed).to.deep.equal(evidenceBundleJsonSchema());
  });
});
