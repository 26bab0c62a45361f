import hre from "hardhat";
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

const { ethers } = hre;

async function deployFixture() {
  const [admin, anchorer, stranger] = await ethers.getSigners();
  // Untyped handle: the project does not generate typechain bindings.
  const registry: any = await ethers.deployContract("AnchorRegistry", [admin.address]);
  const role = await registry.ANCHORER_ROLE();
  await registry.connect(admin).grantRole(role, anchorer.address);
  return { registry, admin, anchorer, stranger, role };
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
});
