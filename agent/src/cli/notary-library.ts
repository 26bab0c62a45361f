import { z } from "zod";

/** Everything the notary's commands use beyond --help, loaded on demand by notary.ts. */
export { createRoleAgent, ensureIdentifier, identifierSigner } from "../identity/agent.js";
export { LevelDatabase } from "../stores/level-store.js";
export { ensurePrivateDir, writePrivateFile } from "../stores/private-files.js";
export { notaryAuthorization } from "../notary/access.js";
export { renderEvidenceReport } from "../notary/report.js";
export { createNotaryConsoleApp } from "../notary/console.js";
export { listenOn } from "../web/listen.js";
export { AnchorRegistryClient, devAccountKey, HARDHAT_CHAIN_ID } from "../anchoring/registry-contract.js";
export { requestFromPlatform, signLegalRequest } from "../notary/legal-request.js";
export { anchorReport, checkNotaryReport, NOTARY_REPORT_FORMAT, signNotaryReport } from "../notary/signed-report.js";
export { renderReportPdf } from "../notary/report-pdf.js";
export { buildEvidenceBundle, evidenceBundleSchema, verifyEvidenceBundle } from "../notary/evidence.js";
export { connectTrustedRegistries, loadTrustAnchors } from "../notary/trust.js";
export { receiptHash } from "../receipts/receipts.js";
export { fetchJson } from "../http/json-client.js";
export { attestedPersonSchema, uploadIdentityAttestation } from "../notary/identity-attestation.js";
export { validateResidentIdNumber } from "../registry/identity-registry.js";

const proofSchema = z.object({ salt: z.string(), proof: z.array(z.string()), root: z.string() });
/** A receipts file as `wallet evidence` or the demo writes it. */
export const receiptsFileSchema = z.object({
  consentReceipt: z.string(),
  grantReceipt: z.string(),
  proofs: z.object({ consent: proofSchema, grant: proofSchema }).optional(),
});
