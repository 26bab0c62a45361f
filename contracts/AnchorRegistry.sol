// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {IAnchorRegistry} from "./IAnchorRegistry.sol";

/// @title AnchorRegistry
/// @notice Write-once registry of receipt-batch Merkle roots. The admin (DEFAULT_ADMIN_ROLE) grants and
///         revokes ANCHORER_ROLE; anchorers (the services' anchoring queues, or relayers) write roots.
contract AnchorRegistry is IAnchorRegistry, AccessControl, EIP712, Nonces {
    /// @notice Role allowed to anchor roots (directly, in batches, or relaying a delegated anchor).
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    /// @notice EIP-712 type of a delegated anchor.
    bytes32 public constant ANCHOR_TYPEHASH = keccak256("Anchor(bytes32 root,uint32 leafCount,uint256 nonce,uint256 deadline)");

    mapping(bytes32 root => Anchor) private _anchors;

    /// @param admin receives DEFAULT_ADMIN_ROLE; it is not an anchorer unless granted
    constructor(address admin) EIP712("AnchorRegistry", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IAnchorRegistry
    function anchor(bytes32 root, uint32 leafCount) external onlyRole(ANCHORER_ROLE) {
        _anchor(root, leafCount, msg.sender);
    }

    /// @inheritdoc IAnchorRegistry
    function anchorBatch(bytes32[] calldata roots, uint32[] calldata leafCounts) external onlyRole(ANCHORER_ROLE) {
        if (roots.length == 0 || roots.length != leafCounts.length) revert BatchLengthMismatch(roots.length, leafCounts.length);
        for (uint256 i = 0; i < roots.length; ++i) {
            _anchor(roots[i], leafCounts[i], msg.sender);
        }
    }

    /// @inheritdoc IAnchorRegistry
    function anchorWithSignature(bytes32 root, uint32 leafCount, address owner, uint256 deadline, bytes calldata signature)
        external
        onlyRole(ANCHORER_ROLE)
    {
        if (block.timestamp > deadline) revert ExpiredSignature(deadline);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(ANCHOR_TYPEHASH, root, leafCount, _useNonce(owner), deadline)));
        address signer = ECDSA.recover(digest, signature);
        if (signer != owner) revert InvalidSigner(signer, owner);
        _anchor(root, leafCount, owner);
        emit RootAnchoredFor(root, owner, msg.sender);
    }

    /// @inheritdoc IAnchorRegistry
    function nonces(address owner) public view override(IAnchorRegistry, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @notice The EIP-712 domain separator (name "AnchorRegistry", version "1", this chain, this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IAnchorRegistry
    function anchorOf(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }

    /// @inheritdoc IAnchorRegistry
    function anchoredAt(bytes32 root) external view returns (uint64 blockNumber, uint64 timestamp) {
        Anchor storage a = _anchors[root];
        return (a.blockNumber, a.timestamp);
    }

    /// @inheritdoc IAnchorRegistry
    function isAnchored(bytes32 root) external view returns (bool) {
        return _anchors[root].blockNumber != 0;
    }

    /// @inheritdoc IAnchorRegistry
    function verifyInclusion(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        return _anchors[root].blockNumber != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    function _anchor(bytes32 root, uint32 leafCount, address anchorer) private {
        if (root == bytes32(0)) revert ZeroRoot();
        if (leafCount == 0) revert EmptyBatch(root);
        Anchor storage existing = _anchors[root];
        if (existing.blockNumber != 0) revert RootAlreadyAnchored(root, existing.blockNumber);
        _anchors[root] = Anchor({
            blockNumber: uint64(block.number),
            timestamp: uint64(block.timestamp),
            leafCount: leafCount,
            anchorer: anchorer
        });
        emit RootAnchored(root, leafCount, anchorer);
    }
}
