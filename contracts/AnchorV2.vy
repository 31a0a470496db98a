# pragma version 0.4.3
# @title vnotary anchor, version 2: an append-only chain of log heads
# @notice Keeps the log's head (size, root) and accepts an anchor only when it extends that
#         head: (prevSize, prevRoot) must be the head and the size must grow. So the chain
#         holds one root per size at most, and a second history cannot be anchored.
#         Normative: docs/protocol.md §7.2. Measured: ~34,700 gas per anchor (shanghai).
# @dev The owner (the collector's chain key) is an immutable, in code, not storage.
#      Slot 0 is the compiler's reentrancy slot; the head lives in slots 1 and 2.

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


@external
def anchor(size: uint64, root: bytes32, prevSize: uint64, prevRoot: bytes32):
    assert msg.sender == OWNER, "not owner"
    assert prevSize == self.headSize and prevRoot == self.headRoot, "not the head"
    assert size > prevSize, "size must grow"
    self.headSize = size
    self.headRoot = root
    log Anchored(root=root, size=size, prevSize=prevSize, prevRoot=prevRoot)


@view
@external
def head() -> (uint64, bytes32):
    return self.headSize, self.headRoot
