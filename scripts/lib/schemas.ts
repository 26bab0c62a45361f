import { z } from "zod";
import { evidenceBundleSchema } from "@realname/agent";

export const evidenceBundleJsonSchema = () => ({
  $id: "urn:realname:schema:evidence-bundle:1",
  title: "Evidence bundle, version 1",
  description: "Signed consent and grant receipts, their Merkle inclusion proofs, where each root was anchored, and the DID documents of the signers.",
  ...z.toJSONSchema(evidenceBundleSchema),
});
