import type { Ed25519PublicJwk } from "@realname/agent";
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import {
  DataKey,
  DEFAULT_RISK_LIMITS,
  DEVICE_PROOF_TYP,
  DeviceRegistry,
  FileIdentityRegistry,
  IdentityVault,
  jwkFromDidKey,
  MemoryDocumentStore,
  HumanFaceMatcher,
  type FaceMatcher,
  RegistrationService,
  REPO_ROOT,
  RiskEngine,
  RiskState,
  sha256Hex,
  signJws,
  withCheckDigit,
} from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";

/**
 * Issue 12 §4: an identity not in the registry, a name it does not confirm and a face that does not match
 * answer alike, and the face comparison is done in every case (no shortcut whose speed tells them apart).
 */
describe("registration refusals: one answer, the same work", function () {
  this.timeout(120_000);
  const portrait = (name: string) => readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", name));
  const faces = new HumanFaceMatcher();
  let comparisons = 0;
  const counting: FaceMatcher = {
    threshold: faces.threshold,
    compare: (a, b) => (comparisons++, faces.compare(a, b)),
    embed: (a) => faces.embed(a),
    similarity: (a, b) => faces.similarity(a, b),
  };
  const device = newTestKey();
  const devices = new DeviceRegistry(new MemoryDocumentStore());
  const riskLog = new MemoryDocumentStore<any>();
  const key = new DataKey(Buffer.alloc(32, 9));
  const service = new RegistrationService({
    audience: "did:key:issuer",
    registry: new FileIdentityRegistry(join(REPO_ROOT, "issuer-service", "fixtures", "identity-registry.json")),
    faces: counting,
    devices,
    risk: new RiskEngine(new RiskState(new MemoryDocumentStore(), DEFAULT_RISK_LIMITS), riskLog),
    vault: new IdentityVault(new MemoryDocumentStore(), key),
    key,
    nonces: new MemoryDocumentStore(),
    pending: new MemoryDocumentStore(),
  });
  let seq = 0;
  async function refusal(materials: { fullName: string; idNumber: string; portrait: Buffer }) {
    const deviceId = `kiosk-${++seq}`; // one device per case: device-level rules stay out of it
    await devices.register({ deviceId, label: "kiosk", publicJwk: jwkFromDidKey(device.did) as Ed25519PublicJwk }, new Date());
    const { nonce } = await service.issueNonce();
    const deviceProof = await signJws({ typ: DEVICE_PROOF_TYP, alg: "EdDSA", kid: deviceId }, { aud: "did:key:issuer", nonce, portrait_sha256: sha256Hex(materials.portrait), iat: Math.floor(Date.now() / 1000) }, device.signer);
    const before = comparisons;
    try {
      await service.submit({ ...materials, nonce, deviceProof }, "198.51.100.7");
      return { answer: "accepted", compared: comparisons - before };
    } catch (e) {
      const { code, message, details } = e as { code: string; message: string; details?: unknown };
      return { answer: JSON.stringify({ code, message, details }), compared: comparisons - before };
    }
  }

  it("unknown ID number, unconfirmed name, another person's face: the same code and message, one face comparison each; the risk log has the reason", async () => {
    const flipped = (await sharp(portrait("impostor-live.jpg")).flop().jpeg().toBuffer()) as Buffer;
    const unknown = await refusal({ fullName: "李四", idNumber: withCheckDigit("11010519880808123"), portrait: flipped });
    const wrongName = await refusal({ fullName: "李五", idNumber: "310115198508154561", portrait: portrait("li-si-live.jpg") });
    const wrongFace = await refusal({ fullName: "李四", idNumber: "310115198508154561", portrait: portrait("impostor-live.jpg") });
    expect(JSON.parse(unknown.answer).code).to.equal("ERR_IDENTITY_NOT_CONFIRMED");
    expect(wrongName.answer).to.equal(unknown.answer);
    expect(wrongFace.answer).to.equal(unknown.answer);
    expect([unknown.compared, wrongName.compared, wrongFace.compared]).to.deep.equal([1, 1, 1]);
    const reasons = (await riskLog.list()).map(([, e]) => e.reason as string).filter((r) => /identity not confirmed|face mismatch/.test(r));
    expect(reasons.filter((r) => r.startsWith("identity not confirmed"))).to.have.length(2);
    expect(reasons.filter((r) => r.startsWith("face mismatch"))).to.have.length(1);
  });
});
