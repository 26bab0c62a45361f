// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAnchorRegistry} from "./IAnchorRegistry.sol";

/// @title AnchorRegistry
/// @notice Write-once registry of receipt-batch Merkle roots. The admin (DEFAULT_ADMIN_ROLE) grants and
///         revokes ANCHORER_ROLE; anchorers (the services' anchoring queues) write roots.
contract AnchorRegistry is IAnchorRegistry, AccessControl {
    /// @notice Role allowed to anchor roots.
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    mapping(bytes32 root => Anchor) private _anchors;

    /// @param admin receives DEFAULT_ADMIN_ROLE; it is not an anchorer unless granted
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IAnchorRegistry
    function anchor(bytes32 root, uint32 leafCount) external onlyRole(ANCHORER_ROLE) {
        if (root == bytes32(0)) revert ZeroRoot();
        if (leafCount == 0) revert EmptyBatch(root);
        Anchor storage existing = _anchors[root];
        if (existing.blockNumber != 0) revert RootAlreadyAnchored(root, existing.blockNumber);
        _anchors[root] = Anchor({
            blockNumber: uint64(block.number),
            timestamp: uint64(block.timestamp),
            leafCount: leafCount,
            anchorer: msg.sender
        });
        emit RootAnchored(root, leafCount, msg.sender);
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
}
