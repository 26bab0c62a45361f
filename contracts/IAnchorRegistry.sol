// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Anchor registry for receipt batches
/// @notice Holds Merkle roots of batches of signed receipts (consent, grant, withdrawal) and status-list
///         snapshots. Only hashes are ever written: a root reveals nothing about the receipts under it.
/// @dev A root is write-once. Its anchoring block and time are what a notary cites as evidence. Leaves are
///      proven with OpenZeppelin's sorted-pair `MerkleProof`, the same tree the off-chain queue builds.
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
    /// @notice `anchorBatch` was given `roots` and `leafCounts` of different lengths (or none).
    error BatchLengthMismatch(uint256 roots, uint256 leafCounts);
    /// @notice A delegated anchor's signature is past its `deadline`.
    error ExpiredSignature(uint256 deadline);
    /// @notice A delegated anchor's signature was not made by `owner` (wrong signer, nonce, chain or contract).
    error InvalidSigner(address signer, address owner);

    /// @notice Emitted once per anchored root, after it is stored.
    /// @param root the batch's Merkle root
    /// @param leafCount the number of leaves (receipts) under the root
    /// @param anchorer the account that sent the anchoring transaction, or the owner for a delegated anchor
    event RootAnchored(bytes32 indexed root, uint32 leafCount, address indexed anchorer);

    /// @notice Emitted after a delegated anchor: `owner` signed, `relayer` paid the gas.
    event RootAnchoredFor(bytes32 indexed root, address indexed owner, address indexed relayer);

    /// @notice Anchors a batch root with the number of leaves under it.
    /// @dev Reverts with {ZeroRoot}, {EmptyBatch} or {RootAlreadyAnchored}; requires the anchorer role.
    function anchor(bytes32 root, uint32 leafCount) external;

    /// @notice Anchors several roots in one transaction (one {RootAnchored} each); all or nothing.
    function anchorBatch(bytes32[] calldata roots, uint32[] calldata leafCounts) external;

    /// @notice Anchors a root on behalf of `owner`, who signed it (EIP-712: root, leafCount, nonce, deadline);
    ///         the caller, holding the anchorer role, relays it and pays the gas. The record names `owner`.
    function anchorWithSignature(bytes32 root, uint32 leafCount, address owner, uint256 deadline, bytes calldata signature) external;

    /// @notice The next nonce `owner` must sign for a delegated anchor.
    function nonces(address owner) external view returns (uint256);

    /// @notice Returns the anchoring record of `root` (all zero if never anchored).
    function anchorOf(bytes32 root) external view returns (Anchor memory);

    /// @notice Returns the block number and timestamp at which `root` was anchored (0, 0 if never).
    function anchoredAt(bytes32 root) external view returns (uint64 blockNumber, uint64 timestamp);

    /// @notice True when `root` has been anchored.
    function isAnchored(bytes32 root) external view returns (bool);

    /// @notice True when `leaf` is in the tree of `root` by `proof` (sorted pairs) and `root` is anchored.
    function verifyInclusion(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool);
}
