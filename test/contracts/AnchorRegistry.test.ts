import hre from "hardhat";
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { mkdirSync, writeFileSync } from "node:fs";
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";

const { ethers } = hre;

async function deployFixture() {
  const [admin, anchorer, stranger, owner] = await ethers.getSigners();
  // Untyped handle: the project does not generate typechain bindings.
  const registry: any = await ethers.deployContract("AnchorRegistry", [admin.address]);
  const role = await registry.ANCHORER_ROLE();
  await registry.connect(admin).grantRole(role, anchorer.address);
  return { registry, admin, anchorer, stranger, owner, role };
}

const ROOT = ethers.keccak256(ethers.toUtf8Bytes("batch-1"));

describe("AnchorRegistry (contract)", () => {
  it("anchors a root with its leaf count, emits RootAnchored, and tells when", async () => {
    const { registry, anchorer } = await loadFixture(deployFixture);
    const tx = registry.connect(anchorer).anchor(ROOT, 7);
    await expect(tx).to.emit(registry, "RootAnchored").withArgs(ROOT, 7, anchorer.address);
    const receipt = await (await tx).wait();
    const block = await ethers.provider.getBlock(receipt!.blockNumber);
    const [blockNumber, timestamp] = await registry.anchoredAt(ROOT);
    expect(blockNumber).to.equal(BigInt(receipt!.blockNumber));
    expect(timestamp).to.equal(BigInt(block!.timestamp));
    expect(await registry.isAnchored(ROOT)).to.equal(true);
    const record = await registry.anchorOf(ROOT);
    expect(record.leafCount).to.equal(7n);
    expect(record.anchorer).to.equal(anchorer.address);
  });

  it("reports an unknown root as never anchored", async () => {
    const { registry } = await loadFixture(deployFixture);
    expect(await registry.isAnchored(ROOT)).to.equal(false);
    const [blockNumber, timestamp] = await registry.anchoredAt(ROOT);
    expect(blockNumber).to.equal(0n);
    expect(timestamp).to.equal(0n);
  });

  it("refuses a duplicate root with RootAlreadyAnchored(root, block)", async () => {
    const { registry, anchorer } = await loadFixture(deployFixture);
    const receipt = await (await registry.connect(anchorer).anchor(ROOT, 1)).wait();
    await expect(registry.connect(anchorer).anchor(ROOT, 2))
      .to.be.revertedWithCustomError(registry, "RootAlreadyAnchored")
      .withArgs(ROOT, receipt!.blockNumber);
    expect((await registry.anchorOf(ROOT)).leafCount).to.equal(1n);
  });

  it("refuses the zero root with ZeroRoot", async () => {
    const { registry, anchorer } = await loadFixture(deployFixture);
    await expect(registry.connect(anchorer).anchor(ethers.ZeroHash, 1)).to.be.revertedWithCustomError(
      registry,
      "ZeroRoot",
    );
  });

  it("refuses an empty batch with EmptyBatch(root)", async () => {
    const { registry, anchorer } = await loadFixture(deployFixture);
    await expect(registry.connect(anchorer).anchor(ROOT, 0))
      .to.be.revertedWithCustomError(registry, "EmptyBatch")
      .withArgs(ROOT);
  });

  it("refuses an account without the anchorer role, including the admin", async () => {
    const { registry, admin, stranger, role } = await loadFixture(deployFixture);
    for (const who of [stranger, admin]) {
      await expect(registry.connect(who).anchor(ROOT, 1))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(who.address, role);
    }
  });

  it("stops an anchorer whose role was revoked", async () => {
    const { registry, admin, anchorer, role } = await loadFixture(deployFixture);
    await expect(registry.connect(admin).revokeRole(role, anchorer.address))
      .to.emit(registry, "RoleRevoked")
      .withArgs(role, anchorer.address, admin.address);
    await expect(registry.connect(anchorer).anchor(ROOT, 1)).to.be.revertedWithCustomError(
      registry,
      "AccessControlUnauthorizedAccount",
    );
  });

  it("lets only the admin grant the anchorer role", async () => {
    const { registry, stranger, role } = await loadFixture(deployFixture);
    await expect(registry.connect(stranger).grantRole(role, stranger.address)).to.be.revertedWithCustomError(
      registry,
      "AccessControlUnauthorizedAccount",
    );
  });

  describe("anchorBatch", () => {
    it("anchors several roots in one transaction, one event each", async () => {
      const { registry, anchorer } = await loadFixture(deployFixture);
      const roots = [1, 2, 3].map((i) => ethers.keccak256(ethers.toUtf8Bytes(`b${i}`)));
      const tx = registry.connect(anchorer).anchorBatch(roots, [1, 2, 3]);
      for (const [i, root] of roots.entries()) await expect(tx).to.emit(registry, "RootAnchored").withArgs(root, i + 1, anchorer.address);
      for (const root of roots) expect(await registry.isAnchored(root)).to.equal(true);
    });
    it("is all or nothing: a duplicate inside reverts the whole batch", async () => {
      const { registry, anchorer } = await loadFixture(deployFixture);
      const other = ethers.keccak256(ethers.toUtf8Bytes("other"));
      await expect(registry.connect(anchorer).anchorBatch([other, ROOT, ROOT], [1, 1, 1])).to.be.revertedWithCustomError(registry, "RootAlreadyAnchored");
      expect(await registry.isAnchored(other)).to.equal(false);
    });
    it("refuses mismatched or empty arrays with BatchLengthMismatch", async () => {
      const { registry, anchorer } = await loadFixture(deployFixture);
      await expect(registry.connect(anchorer).anchorBatch([ROOT], [1, 2])).to.be.revertedWithCustomError(registry, "BatchLengthMismatch").withArgs(1, 2);
      await expect(registry.connect(anchorer).anchorBatch([], [])).to.be.revertedWithCustomError(registry, "BatchLengthMismatch").withArgs(0, 0);
    });
    it("requires the anchorer role", async () => {
      const { registry, stranger } = await loadFixture(deployFixture);
      await expect(registry.connect(stranger).anchorBatch([ROOT], [1])).to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount");
    });
  });

  describe("anchorWithSignature (EIP-712, relayed)", () => {
    async function sign(registry: any, owner: any, root: string, leafCount: number, deadline: bigint, nonce?: bigint) {
      const { chainId } = await ethers.provider.getNetwork();
      const domain = { name: "AnchorRegistry", version: "1", chainId, verifyingContract: await registry.getAddress() };
      const types = { Anchor: [{ name: "root", type: "bytes32" }, { name: "leafCount", type: "uint32" }, { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" }] };
      return owner.signTypedData(domain, types, { root, leafCount, nonce: nonce ?? (await registry.nonces(owner.address)), deadline });
    }
    it("anchors for the owner, the relayer pays; records the owner; emits both events; spends the nonce", async () => {
      const { registry, anchorer, owner } = await loadFixture(deployFixture);
      const deadline = BigInt((await time.latest()) + 600);
      const signature = await sign(registry, owner, ROOT, 4, deadline);
      const tx = registry.connect(anchorer).anchorWithSignature(ROOT, 4, owner.address, deadline, signature);
      await expect(tx).to.emit(registry, "RootAnchored").withArgs(ROOT, 4, owner.address);
      await expect(tx).to.emit(registry, "RootAnchoredFor").withArgs(ROOT, owner.address, anchorer.address);
      expect((await registry.anchorOf(ROOT)).anchorer).to.equal(owner.address);
      expect(await registry.nonces(owner.address)).to.equal(1n);
    });
    it("refuses a replayed signature (nonce spent) with InvalidSigner", async () => {
      const { registry, anchorer, owner } = await loadFixture(deployFixture);
      const deadline = BigInt((await time.latest()) + 600);
      const other = ethers.keccak256(ethers.toUtf8Bytes("other"));
      const signature = await sign(registry, owner, ROOT, 4, deadline);
      await registry.connect(anchorer).anchorWithSignature(ROOT, 4, owner.address, deadline, signature);
      const again = await sign(registry, owner, other, 4, deadline, 0n);
      await expect(registry.connect(anchorer).anchorWithSignature(other, 4, owner.address, deadline, again)).to.be.revertedWithCustomError(registry, "InvalidSigner");
    });
    it("refuses a signature by someone else, or over other values", async () => {
      const { registry, anchorer, owner, stranger } = await loadFixture(deployFixture);
      const deadline = BigInt((await time.latest()) + 600);
      const byStranger = await sign(registry, stranger, ROOT, 4, deadline, 0n);
      await expect(registry.connect(anchorer).anchorWithSignature(ROOT, 4, owner.address, deadline, byStranger))
        .to.be.revertedWithCustomError(registry, "InvalidSigner")
        .withArgs(stranger.address, owner.address);
      const signature = await sign(registry, owner, ROOT, 4, deadline);
      await expect(registry.connect(anchorer).anchorWithSignature(ROOT, 5, owner.address, deadline, signature)).to.be.revertedWithCustomError(registry, "InvalidSigner");
    });
    it("refuses an expired signature with ExpiredSignature(deadline)", async () => {
      const { registry, anchorer, owner } = await loadFixture(deployFixture);
      const deadline = BigInt((await time.latest()) - 1);
      const signature = await sign(registry, owner, ROOT, 4, deadline);
      await expect(registry.connect(anchorer).anchorWithSignature(ROOT, 4, owner.address, deadline, signature)).to.be.revertedWithCustomError(registry, "ExpiredSignature").withArgs(deadline);
    });
    it("is relayed only by an anchorer", async () => {
      const { registry, stranger, owner } = await loadFixture(deployFixture);
      const deadline = BigInt((await time.latest()) + 600);
      const signature = await sign(registry, owner, ROOT, 4, deadline);
      await expect(registry.connect(stranger).anchorWithSignature(ROOT, 4, owner.address, deadline, signature)).to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount");
    });
  });

  describe("verifyInclusion", () => {
    it("proves a leaf of the off-chain tree (same sorted-pair hashing as @openzeppelin/merkle-tree) once its root is anchored", async () => {
      const { registry, anchorer } = await loadFixture(deployFixture);
      const leaves = Array.from({ length: 9 }, (_, i) => ethers.keccak256(ethers.toUtf8Bytes(`leaf-${i}`)));
      const tree = SimpleMerkleTree.of(leaves);
      const proof = tree.getProof(leaves[4]!);
      expect(await registry.verifyInclusion(tree.root, leaves[4], proof)).to.equal(false); // not anchored yet
      await registry.connect(anchorer).anchor(tree.root, leaves.length);
      expect(await registry.verifyInclusion(tree.root, leaves[4], proof)).to.equal(true);
      expect(await registry.verifyInclusion(tree.root, ethers.keccak256(ethers.toUtf8Bytes("outsider")), proof)).to.equal(false);
      expect(await registry.verifyInclusion(tree.root, leaves[3], proof)).to.equal(false);
    });
  });

  it("gas report per function (written to test-output/gas-report.json)", async () => {
    const { registry, anchorer, owner, admin } = await loadFixture(deployFixture);
    const gas: Record<string, number> = {};
    const used = async (p: Promise<any>) => Number((await (await p).wait()).gasUsed);
    const r = (s: string) => ethers.keccak256(ethers.toUtf8Bytes(s));
    gas["anchor"] = await used(registry.connect(anchorer).anchor(r("g1"), 256));
    gas["anchorBatch (10 roots)"] = await used(registry.connect(anchorer).anchorBatch(Array.from({ length: 10 }, (_, i) => r(`gb${i}`)), Array(10).fill(256)));
    const deadline = BigInt((await time.latest()) + 600);
    const { chainId } = await ethers.provider.getNetwork();
    const signature = await owner.signTypedData({ name: "AnchorRegistry", version: "1", chainId, verifyingContract: await registry.getAddress() }, { Anchor: [{ name: "root", type: "bytes32" }, { name: "leafCount", type: "uint32" }, { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" }] }, { root: r("gs"), leafCount: 256, nonce: 0n, deadline });
    gas["anchorWithSignature"] = await used(registry.connect(anchorer).anchorWithSignature(r("gs"), 256, owner.address, deadline, signature));
    gas["grantRole"] = await used(registry.connect(admin).grantRole(await registry.ANCHORER_ROLE(), owner.address));
    gas["revokeRole"] = await used(registry.connect(admin).revokeRole(await registry.ANCHORER_ROLE(), owner.address));
    gas["deployment"] = Number((await (await ethers.deployContract("AnchorRegistry", [admin.address])).deploymentTransaction()!.wait())!.gasUsed);
    mkdirSync("test-output", { recursive: true });
    writeFileSync("test-output/gas-report.json", JSON.stringify(gas, null, 2));
    console.log("      gas:", Object.entries(gas).map(([k, v]) => `${k}=${v}`).join(", "));
    expect(gas["anchorBatch (10 roots)"]!).to.be.lessThan(gas["anchor"]! * 10);
    expect(gas["anchor"]!).to.be.lessThan(100_000);
  });
});
