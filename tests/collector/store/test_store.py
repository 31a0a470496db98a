"""One storage suite, run against both backends (SQLite always, PostgreSQL as integration)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from collector import limits
from collector.log.leaves import RegistryAction, RegistryEvent, batch_leaf, leaf_hash
from collector.store.base import DAY_NS, AnchorRow, BatchRow, CheckpointRow, QuotaRow, Store
from collector.store.open import open_store
from notary_core import merkle
from notary_core.errors import BadData

pytestmark = pytest.mark.anyio


def _row(device: str, seq: int, log_index: int = -1) -> BatchRow:
    h = hashlib.sha256(f"{device}/{seq}".encode()).digest()
    block = b"\x00\x05hello" * 100
    return BatchRow(
        device,
        seq,
        h,
        bytes(32),
        b"signed",
        bytes(32),
        block,
        100,
        1000 * seq,
        1000 * seq + 999,
        7,
        log_index,
    )


async def test_batches_are_stored_compressed_indexed_and_unique(store: Store) -> None:
    assert await store.commit_batch(_row("d1", 0)) == 0
    assert await store.commit_batch(_row("d1", 1)) == 1
    assert await store.commit_batch(_row("d2", 0)) == 2
    got = await store.batch("d1", 1)
    assert got is not None
    assert got.records_block == _row("d1", 1).records_block
    assert got.log_index == 1
    assert [b.batch_seq for b in await store.batches_between("d1", 1500, 5000)] == [1]
    with pytest.raises(BadData):
        await store.commit_batch(_row("d1", 1))
    assert await store.log_size() == 3
    ctx = await store.chain_context("d1", 1)
    assert ctx.same == (_row("d1", 1).header_hash, 1)
    assert ctx.prev_hash == _row("d1", 0).header_hash
    assert ctx.max_seq == 1


async def test_gaps_open_split_and_close(store: Store) -> None:
    await store.commit_batch(_row("d", 0))
    await store.commit_batch(_row("d", 5))
    assert [(g.first_seq, g.last_seq) for g in await store.gaps("d")] == [(1, 4)]
    await store.commit_batch(_row("d", 3))
    assert [(g.first_seq, g.last_seq) for g in await store.gaps("d")] == [(1, 2), (4, 4)]
    for seq in (1, 2, 4):
        await store.commit_batch(_row("d", seq))
    assert await store.gaps("d") == []
    assert len(await store.gaps("d", open_only=False)) == 4


async def _pending_commit(store: Store, device: str, seq: int, now_ns: int) -> None:
    async with store.ingest_group(now_ns, pending_gaps=True) as g:
        await g.add_batch(replace(_row(device, seq), received_utc_ns=now_ns), b"z")


async def test_a_hole_filled_within_the_grace_leaves_no_gap_record(store: Store) -> None:
    """Several collectors (docs/collector.md § Gaps): batches 1 and 2 committed after 3 by
    another collector are a reorder, not missing data."""
    for seq in (0, 3, 1, 2):
        await _pending_commit(store, "d", seq, 100 + seq)
    assert await store.gaps("d", open_only=False) == []
    assert await store.confirm_gaps(10**6) == 0
    assert await store.gaps("d", open_only=False) == []


async def test_a_hole_that_outlives_the_grace_is_a_gap(store: Store) -> None:
    await _pending_commit(store, "d", 0, 100)
    await _pending_commit(store, "d", 5, 200)  # holes 1..4, pending
    await _pending_commit(store, "d", 2, 300)  # split: 1..1 and 3..4, still pending
    assert await store.gaps("d", open_only=False) == []
    assert await store.confirm_gaps(200) == 0  # opened at 200: not before it
    assert await store.confirm_gaps(201) == 2
    assert [(g.first_seq, g.last_seq, g.opened_utc_ns) for g in await store.gaps("d")] == [
        (1, 1, 200),
        (3, 4, 200),
    ]
    await _pending_commit(store, "d", 3, 400)  # late: the gap is closed and split, recorded
    assert [(g.first_seq, g.last_seq) for g in await store.gaps("d")] == [(1, 1), (4, 4)]
    closed = [g for g in await store.gaps("d", open_only=False) if g.closed_utc_ns is not None]
    assert [(g.first_seq, g.last_seq, g.closed_utc_ns) for g in closed] == [(3, 4, 400)]


async def test_log_matches_the_core_tree_and_proves(store: Store) -> None:
    leaves = [batch_leaf(hashlib.sha256(bytes([i])).digest()) for i in range(37)]
    await store.append_leaves(leaves[:20], 1)
    await store.append_leaves(leaves[20:], 2)
    hashes = [leaf_hash(x) for x in leaves]
    tree = merkle.MerkleTree(hashes)
    assert await store.log_root(37) == tree.root
    assert await store.log_root(20) == merkle.MerkleTree(hashes[:20]).root
    for i in (0, 19, 36):
        assert await store.inclusion_proof(i, 37) == tree.inclusion_proof(i)
        assert await store.leaf(i) == leaves[i]
    assert await store.consistency_proof(20, 37) == tree.consistency_proof(20)
    with pytest.raises(BadData):
        await store.inclusion_proof(0, 38)
    with pytest.raises(BadData):
        await store.leaf(99)


async def test_restart_never_rewrites_history(store_url: str) -> None:
    leaves = [batch_leaf(hashlib.sha256(bytes([i])).digest()) for i in range(11)]
    async with await open_store(store_url) as s:
        await s.append_leaves(leaves[:7], 1)
        root7 = await s.log_root(7)
    async with await open_store(store_url) as s:
        assert s.frontier.size == 7
        await s.append_leaves(leaves[7:], 2)
        assert await s.log_root(7) == root7
        proof = await s.consistency_proof(7, 11)
        merkle.verify_consistency(7, 11, root7, await s.log_root(11), proof)
        assert [await s.leaf(i) for i in range(11)] == leaves


async def test_two_writers_share_one_log(store_url: str) -> None:
    """A second process appending is noticed: the frontier reloads, nothing is overwritten."""
    async with await open_store(store_url) as a, await open_store(store_url) as b:
        await a.append_leaves([b"\x01" + bytes(32)], 1)
        await b.append_leaves([b"\x01" + bytes([1]) * 32], 1)
        await a.append_leaves([b"\x01" + bytes([2]) * 32], 1)
        hashes = [leaf_hash(await a.leaf(i)) for i in range(3)]
        assert await b.log_root(3) == merkle.MerkleTree(hashes).root


async def test_registry_enrol_rotate_revoke_are_log_entries(store: Store) -> None:
    e1 = await store.add_device_key("veh", b"spki1", b"k1", 100, None, 5)
    e2 = await store.add_device_key("veh", b"spki2", b"k2", 200, None, 6)
    assert (e1.action, e2.action) == (RegistryAction.ENROL, RegistryAction.ROTATE)
    keys = await store.device_keys("veh")
    assert [(k.key_id, k.not_after_ns) for k in keys] == [(b"k1", 200), (b"k2", None)]
    assert RegistryEvent.from_leaf(await store.leaf(keys[0].log_index)) == e1
    with pytest.raises(BadData):
        await store.add_device_key("veh", b"spki2", b"k2", 300, None, 7)
    revoked = await store.revoke_device("veh", 9)
    assert {e.action for e in revoked} == {RegistryAction.REVOKE}
    assert all(k.revoked_utc_ns == 9 for k in await store.device_keys("veh"))
    assert await store.log_size() == 4
    with pytest.raises(BadData):
        await store.revoke_device("veh", 10)


async def test_quarantine_checkpoints_and_anchors(store: Store) -> None:
    qid = await store.quarantine(1, "t", None, None, "MALFORMED", "x", b"\xff" * 10)
    assert qid > 0
    (q,) = await store.quarantined("MALFORMED")
    assert (q.payload, q.reason) == (b"\xff" * 10, "MALFORMED")
    cp = CheckpointRow(3, bytes(32), b"note", 5)
    await store.add_checkpoint(cp)
    await store.add_checkpoint(cp)
    assert await store.latest_checkpoint() == cp
    assert await store.checkpoint_at(4) is None
    a = AnchorRow(3, bytes(32), bytes(32), "queued", None, None, None, None, None, 0, 1)
    await store.upsert_anchor(a)
    sent = AnchorRow(3, bytes(32), bytes(32), "sent", b"t" * 32, 9, b"b" * 32, 31337, "0xc", 1, 2)
    await store.upsert_anchor(sent)
    assert await store.anchors() == [sent]
    assert await store.anchors("queued") == []


async def test_quarantine_past_the_daily_quota_of_a_source_is_only_counted(store: Store) -> None:
    """Issue 16 §2: per source and UTC day, rows up to the quota, then counters."""
    day = 20_000 * DAY_NS
    n = limits.QUARANTINE_ROWS_PER_DAY
    async with store.ingest_group(day + 5) as g:
        ids = [await g.quarantine("t/a", None, None, "MALFORMED", "x", b"a" * 10, "a")
               for _ in range(n + 6)]  # fmt: skip
        other = await g.quarantine("t/b", None, None, "FORK", "y", b"b" * 10, "b")
    assert all(ids[:n]) and ids[n:] == [None] * 6 and other
    async with store.ingest_group(day + DAY_NS) as g:  # a new day, a new quota
        assert await g.quarantine("t/a", None, None, "NON_CANONICAL", "z", b"c", "a")
    assert len(await store.quarantined()) == n + 2
    assert await store.quarantine_quotas("a") == [
        QuotaRow("a", 20_000, n, 10 * n, 6, 60, "MALFORMED"),
        QuotaRow("a", 20_001, 1, 1, 0, 0, "NON_CANONICAL"),
    ]
    big = limits.QUARANTINE_BYTES_PER_DAY // 2 + 1
    async with store.ingest_group(day + 2 * DAY_NS) as g:
        kept = [await g.quarantine("t/c", None, None, "FORK", "", b"x" * big, "c")
                for _ in range(4)]  # fmt: skip
    assert [k is not None for k in kept] == [True, True, False, False]
