// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Anchor registry for receipt batches
/// @notice Holds Merkle roots of batches of signed receipts (consent, grant, withdrawal) and status-list
///         snapshots. Only hashes are ever written: a root reveals nothing about the receipts under it.
/// @dev A root is write-once. Its anchoring block and time are what a notary cites as evidence.
interface IAnchorRegistry {
    /// @notice When and by whom a root was anchored. `blockNumber == 0` means never anchored.
    struct Anchor {
        uint64 blockNumber;
        uint64 timestamp;
        uint32 leafCount;
        address anchorer;
    }

    /// @notice The zero root cannot be anchored: it is the "absent" value of the registry.
    error ZeroRoot();
    /// @notice `root` was already anchored at `blockNumber`; a root is anchored once.
    error RootAlreadyAnchored(bytes32 root, uint64 blockNumber);
    /// @notice A batch root must cover at least one leaf.
    error EmptyBatch(bytes32 root);

    /// @notice Emitted once per anchored root, after it is stored.
    /// @param root the batch's Merkle root
    /// @param leafCount the number of leaves (receipts) under the root
    /// @param anchorer the account that sent the anchoring transaction
    event RootAnchored(bytes32 indexed root, uint32 leafCount, address indexed anchorer);

    /// @notice Anchors a batch root with the number of leaves under it.
    /// @dev Reverts with {ZeroRoot}, {EmptyBatch} or {RootAlreadyAnchored}; requires the anchorer role.
    function anchor(bytes32 root, uint32 leafCount) external;

    /// @notice Returns the anchoring record of `root` (all zero if never anchored).
    function anchorOf(bytes32 root) external view returns (Anchor memory);

    /// @notice Returns the block number and timestamp at which `root` was anchored (0, 0 if never).
    function anchoredAt(bytes32 root) external view returns (uint64 blockNumber, uint64 timestamp);

    /// @notice True when `root` has been anchored.
    function isAnchored(bytes32 root) external view returns (bool);
}
