import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { randomBytes } from "node:crypto";
import { hexlify, solidityPackedKeccak256 } from "ethers";

/**
 * Receipt leaves and batch trees. A leaf is keccak256(salt ‖ sha256(receipt)), so nobody can test a guess
 * of a receipt's content against what is on chain. Trees are OpenZeppelin's sorted-pair Merkle trees,
 * the same hashing as `MerkleProof.verify`, so a contract can check an inclusion too.
 */

export const newLeafSalt = (): string => hexlify(randomBytes(32));

export function receiptLeaf(receiptHashHex: string, salt: string): string {
  const hash = receiptHashHex.startsWith("0x") ? receiptHashHex : `0x${receiptHashHex}`;
  return solidityPackedKeccak256(["bytes32", "bytes32"], [salt, hash]);
}

export interface MerkleBatch {
  root: string;
  proofs: Map<string, string[]>;
}

export function buildMerkleBatch(leaves: readonly string[]): MerkleBatch {
  if (leaves.length === 0) throw new TypeError("a batch needs at least one leaf");
  const tree = SimpleMerkleTree.of([...leaves]);
  const proofs = new Map<string, string[]>();
  for (const [i, leaf] of tree.entries()) proofs.set(String(leaf), tree.getProof(i));
  return { root: tree.root, proofs };
}

export function verifyMerkleInclusion(root: string, leaf: string, proof: readonly string[]): boolean {
  try {
    return SimpleMerkleTree.verify(root, leaf, [...proof]);
  } catch {
    return false;
  }
}
