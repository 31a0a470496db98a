"""Signed checkpoints of the log (C2SP tlog-checkpoint in a signed note, Ed25519)."""

from __future__ import annotations

from collector.store.base import CheckpointRow, Store
from notary_core.checkpoint import Checkpoint, NoteSigner, sign_checkpoint


async def checkpoint_now(
    store: Store, signer: NoteSigner, origin: str, now_ns: int
) -> CheckpointRow | None:
    """Sign and store a checkpoint of the current log if it grew since the last one: the
    index leaf over everything before it goes in first (§7.3), and the checkpoint is signed
    at exactly the size that ends in it."""
    last = await store.latest_checkpoint()
    size = await store.append_index_leaf(now_ns)
    if size is None or (last is not None and last.size >= size):
        return None
    root = await store.log_root(size)
    note = sign_checkpoint(Checkpoint(origin, size, root), [signer])
    row = CheckpointRow(size, root, note, now_ns)
    await store.add_checkpoint(row)
    return row
