# pragma version 0.4.3
# @title vnotary anchor
# @notice Emits one event per anchored log checkpoint; writes no storage (<= 25k gas).
# @dev The owner is an immutable (in code, not storage): checking it costs a few gas.

event Anchored:
    root: indexed(bytes32)
    size: uint64
    prevRoot: bytes32

OWNER: public(immutable(address))


@deploy
def __init__():
    OWNER = msg.sender


@external
def anchor(size: uint64, root: bytes32, prevRoot: bytes32):
    assert msg.sender == OWNER, "not owner"
    log Anchored(root=root, size=size, prevRoot=prevRoot)
