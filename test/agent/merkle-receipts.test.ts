import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Interface, hexlify } from "ethers";
import { randomBytes } from "node:crypto";
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { createVerifiableCredentialJwt } from "did-jwt-vc";
import {
  ANCHOR_REGISTRY_ABI,
  buildMerkleBatch,
  createConsentReceipt,
  createGrantReceipt,
  CONSENT_RECEIPT_TYPE,
  GRANT_RECEIPT_TYPE,
  newLeafSalt,
  receiptHash,
  receiptLeaf,
  REPO_ROOT,
  verifyMerkleInclusion,
  verifyReceipt,
  type ConsentRecord,
} from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";

describe("Merkle batches of receipt leaves", () => {
  const leaves = Array.from({ length: 13 }, (_, i) => receiptLeaf(receiptHash(`receipt-${i}`), newLeafSalt()));

  it("proves every leaf into the root, for batch sizes 1 to 13", () => {
    for (let n = 1; n <= leaves.length; n++) {
      const batch = buildMerkleBatch(leaves.slice(0, n));
      for (const leaf of leaves.slice(0, n)) expect(verifyMerkleInclusion(batch.root, leaf, batch.proofs.get(leaf)!)).to.equal(true);
    }
  });
  it("refuses a leaf that is not in the batch, a changed proof step, and another root", () => {
    const batch = buildMerkleBatch(leaves);
    const leaf = leaves[3]!;
    const proof = batch.proofs.get(leaf)!;
    const outsider = receiptLeaf(receiptHash("outsider"), newLeafSalt());
    expect(verifyMerkleInclusion(batch.root, outsider, proof)).to.equal(false);
    const bent = [...proof];
    bent[0] = bent[0]!.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    expect(verifyMerkleInclusion(batch.root, leaf, bent)).to.equal(false);
    expect(verifyMerkleInclusion(buildMerkleBatch(leaves.slice(1)).root, leaf, proof)).to.equal(false);
    expect(verifyMerkleInclusion("not hex", leaf, proof)).to.equal(false);
  });
  it("salts leaves: the same receipt gives unrelated leaves under different salts", () => {
    const h = receiptHash("same receipt");
    expect(receiptLeaf(h, newLeafSalt())).to.not.equal(receiptLeaf(h, newLeafSalt()));
  });
  it("refuses an empty batch", () => {
    expect(() => buildMerkleBatch([])).to.throw(TypeError);
  });
  it("builds the same root and proofs as OpenZeppelin's SimpleMerkleTree for random sets of 1 to 300 leaves", () => {
    for (const n of [1, 2, 3, 5, 8, 17, 64, 255, 256, 300]) {
      const random = Array.from({ length: n }, () => hexlify(randomBytes(32)));
      const ours = buildMerkleBatch(random);
      const library = SimpleMerkleTree.of(random);
      expect(ours.root).to.equal(library.root);
      for (const [i, leaf] of library.entries()) expect(ours.proofs.get(String(leaf))).to.deep.equal(library.getProof(i));
    }
  });
  it("refuses a leaf that is not 32 bytes", () => {
    expect(() => buildMerkleBatch(["0x1234"])).to.throw(TypeError);
  });
});

describe("Receipts (W3C VC as JWT via did-jwt-vc)", () => {
  it("are signed to exactly the bytes did-jwt-vc's createVerifiableCredentialJwt makes (Ed25519 is deterministic), and verify", async () => {
    const signer = newTestKey();
    const at = new Date("2026-11-21T10:00:00Z");
    for (const make of [
      () => createConsentReceipt({ consentTimestamp: at.toISOString(), jurisdiction: "CN", controller: { id: signer.did, name: "Shop" }, purpose: "p", level: "verified", claimNames: ["real_name_verified"], retentionDays: 1, presentationHash: "x", requestHash: "y", expiresAt: at.toISOString() }, signer, at),
      () => createGrantReceipt({ grantTimestamp: at.toISOString(), level: "full", claimNames: ["full_name"], retentionUntil: at.toISOString() }, newTestKey().did, signer, at),
    ]) {
      const { jwt } = await make();
      const payload = JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString());
      const { iss: _iss, ...input } = payload;
      const viaLibrary = await createVerifiableCredentialJwt(input, { did: signer.did, signer: (data: string | Uint8Array) => signer.signer(typeof data === "string" ? data : Buffer.from(data).toString("utf8")), alg: "EdDSA" });
      expect(jwt).to.equal(viaLibrary);
      expect((await verifyReceipt(jwt, payload.vc.type[1], { now: at })).verified).to.equal(true);
    }
  });
  const holder = newTestKey();
  const merchant = newTestKey();
  const now = new Date("2026-11-21T10:00:00Z");
  const consentInput = {
    consentTimestamp: now.toISOString(),
    jurisdiction: "CN",
    controller: { id: merchant.did, name: "Shop" },
    purpose: "membership",
    level: "pseudonymous" as const,
    claimNames: ["real_name_verified"],
    retentionDays: 30,
    presentationHash: "abc",
    requestHash: "def",
    expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
  };

  it("a consent receipt verifies, names its signer, and carries the consent record's fields", async () => {
    const { jwt, record } = await createConsentReceipt(consentInput, holder, now);
    const v = await verifyReceipt<ConsentRecord>(jwt, CONSENT_RECEIPT_TYPE, { now });
    expect(v.verified, JSON.stringify(v.errors)).to.equal(true);
    expect(v.issuer).to.equal(holder.did);
    expect(v.record).to.deep.include({ purpose: "membership", level: "pseudonymous", jurisdiction: "CN", receiptId: record.receiptId });
    expect(record.receiptId).to.match(/^urn:uuid:/);
  });
  it("a grant receipt counter-signs the consent receipt's hash", async () => {
    const consent = await createConsentReceipt(consentInput, holder, now);
    const grant = await createGrantReceipt({ grantTimestamp: now.toISOString(), consentReceiptId: consent.record.receiptId, consentReceiptHash: receiptHash(consent.jwt), level: "pseudonymous", claimNames: ["real_name_verified"], retentionUntil: now.toISOString() }, holder.did, merchant, now);
    const v = await verifyReceipt<{ consentReceiptHash: string }>(grant.jwt, GRANT_RECEIPT_TYPE, { now });
    expect(v.verified).to.equal(true);
    expect(v.issuer).to.equal(merchant.did);
    expect(v.subject).to.equal(holder.did);
    expect(v.record!.consentReceiptHash).to.equal(receiptHash(consent.jwt));
  });
  it("refuses a receipt with a changed byte (ERR_RECEIPT_SIGNATURE), the wrong type, and garbage", async () => {
    const { jwt } = await createConsentReceipt(consentInput, holder, now);
    const [h, p, sig] = jwt.split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString());
    payload.vc.credentialSubject.purpose = "something else";
    const tampered = `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${sig}`;
    expect((await verifyReceipt(tampered, CONSENT_RECEIPT_TYPE, { now })).errors[0]!.code).to.equal("ERR_RECEIPT_SIGNATURE");
    expect((await verifyReceipt(jwt, GRANT_RECEIPT_TYPE, { now })).errors[0]!.code).to.equal("ERR_RECEIPT_TYPE");
    expect((await verifyReceipt("x.y.z", CONSENT_RECEIPT_TYPE)).verified).to.equal(false);
    expect((await verifyReceipt(12, CONSENT_RECEIPT_TYPE)).errors[0]!.code).to.equal("ERR_RECEIPT_MALFORMED");
  });
});

describe("The registry ABI in agent/ matches the compiled contract", () => {
  it("has every function, event and error of the artifact with the same selectors", () => {
    const artifact = JSON.parse(readFileSync(join(REPO_ROOT, "artifacts", "contracts", "AnchorRegistry.sol", "AnchorRegistry.json"), "utf8"));
    const compiled = new Interface(artifact.abi);
    const ours = new Interface(ANCHOR_REGISTRY_ABI as unknown as string[]);
    ours.forEachFunction((f) => expect(compiled.getFunction(f.selector)?.format("sighash"), f.name).to.equal(f.format("sighash")));
    ours.forEachEvent((e) => expect(compiled.getEvent(e.topicHash)?.format("sighash")).to.equal(e.format("sighash")));
    ours.forEachError((e) => expect(compiled.getError(e.selector)?.format("sighash")).to.equal(e.format("sighash")));
  });
});
