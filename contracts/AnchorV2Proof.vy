# pragma version 0.4.3
# @title vnotary anchor, version 2 with an on-chain consistency check (measured, not deployed)
# @notice AnchorV2 plus an RFC 9162 §2.1.4.2 consistency proof from the head to the new
#         root, checked with the SHA-256 precompile, so that even the owner's key cannot
#         anchor a tree that does not extend the head. bench/bench_anchor.py measures its
#         gas against AnchorV2 and Anchor (docs/performance.md says why AnchorV2 ships).

MAX_PROOF: constant(uint256) = 64  # notary_core.limits.MAX_PROOF_NODES

event Anchored:
    root: indexed(bytes32)
    size: uint64
    prevSize: uint64
    prevRoot: bytes32

OWNER: public(immutable(address))
headSize: uint64
headRoot: bytes32


@deploy
def __init__():
    OWNER = msg.sender


@internal
@pure
def _node(left: bytes32, right: bytes32) -> bytes32:
    return sha256(concat(b"\x01", left, right))  # RFC 9162 §2.1.1 interior node


@internal
@pure
def _consistent(
    size1: uint256, size2: uint256, root1: bytes32, root2: bytes32,
    proof: DynArray[bytes32, MAX_PROOF],
) -> bool:
    # RFC 9162 §2.1.4.2, step by step; size1 < size2 and size1 > 0 hold here.
    fn: uint256 = size1 - 1
    sn: uint256 = size2 - 1
    fr: bytes32 = root1
    skip: bool = False
    if size1 & fn != 0:  # size1 is not a power of two: the path starts with proof[0]
        assert len(proof) > 0, "empty proof"
        fr = proof[0]
        skip = True
    sr: bytes32 = fr
    for _: uint256 in range(64):
        if fn & 1 == 0:
            break
        fn >>= 1
        sn >>= 1
    for c: bytes32 in proof:
        if skip:
            skip = False
            continue
        assert sn != 0, "proof too long"
        if fn & 1 == 1 or fn == sn:
            fr = self._node(c, fr)
            sr = self._node(c, sr)
            for _: uint256 in range(64):
                if fn == 0 or fn & 1 == 1:
                    break
                fn >>= 1
                sn >>= 1
        else:
            sr = self._node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


@external
def anchor(
    size: uint64, root: bytes32, prevSize: uint64, prevRoot: bytes32,
    proof: DynArray[bytes32, MAX_PROOF],
):
    assert msg.sender == OWNER, "not owner"
    assert prevSize == self.headSize and prevRoot == self.headRoot, "not the head"
    assert size > prevSize, "size must grow"
    if prevSize != 0:  # the first anchor extends the empty head: nothing to prove
        assert self._consistent(
            convert(prevSize, uint256), convert(size, uint256), prevRoot, root, proof
        ), "not consistent"
    self.headSize = size
    self.headRoot = root
    log Anchored(root=root, size=size, prevSize=prevSize, prevRoot=prevRoot)


@view
@external
def head() -> (uint64, bytes32):
    return self.headSize, self.headRoot
