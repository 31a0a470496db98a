"""The `time.beacon` check of a version-2 bundle (docs/protocol.md §4.3, §12.3).

A header's beacon names a chain block the device had learned from a receipt when it
sealed the batch: the device could not know the block's hash before the block existed, so
the batch is provably *not older* than it. With a chain node (a `BlockLookup`), each
beacon's block is looked up by number on its chain; its hash and time must be the ones the
header names (`ANCHOR_MISMATCH` otherwise), and its time is the batch's "not before". The
anchor's block time is its "not after" (§12.1 `anchor.on_chain`).

A batch whose claimed times, even widened by its own stated uncertainty, end before the
block it names claims to be older than that block: the device's clock was wrong or lied,
and the check fails (`TIME_REGRESSION`). Chains accept a block timestamp somewhat ahead of
real time (go-ethereum refuses blocks more than 15 s in the future), so the comparison
allows `BLOCK_TIME_SLACK_S` more.
"""

from __future__ import annotations

from notary_core.errors import BadData, Reason, Unreachable
from notary_core.evidence import Block, BlockLookup, _Run
from notary_core.header import BatchHeader, Beacon

BLOCK_TIME_SLACK_S = 15
"""How far ahead of real time a chain may stamp a block (go-ethereum's allowed future)."""

_NS = 1_000_000_000


def check_beacons(run: _Run, headers: list[BatchHeader], lookup: BlockLookup) -> None:
    """Look every distinct beacon up once; record each batch's proven not-before."""
    not_before: dict[int, int] = {}
    with run.check("time.beacon") as c:
        if not headers:
            raise Unreachable("no parsed headers to check the beacons of")
        blocks: dict[tuple[int, int], Block | None] = {}
        for h in headers:
            b = h.beacon
            if b is None:
                continue
            key = (b.chain_id, b.block_number)
            if key not in blocks:
                blocks[key] = lookup(b.chain_id, b.block_number)
            _check_one(h, b, blocks[key])
            not_before[h.batch_seq] = b.block_time
        run.t.summary["not_before_s"] = not_before
        missing = [h.batch_seq for h in headers if h.beacon is None]
        if not not_before:
            c.detail = "no header carries a beacon: no batch has a proven 'not before'"
            return
        c.detail = (
            f"{len(not_before)} header(s) name {len(blocks)} block(s) found on chain: "
            f"not before {min(not_before.values())}..{max(not_before.values())} (s)"
            + (f"; {len(missing)} header(s) without a beacon (sealed before the first)"
               if missing else "")
        )  # fmt: skip


def _check_one(h: BatchHeader, b: Beacon, block: Block | None) -> None:
    where = f"batch {h.batch_seq}: block {b.block_number} of chain {b.chain_id}"
    if block is None:
        raise BadData(Reason.ANCHOR_MISMATCH, f"{where} does not exist on the chain")
    if block.block_hash != b.block_hash:
        raise BadData(Reason.ANCHOR_MISMATCH, f"{where} has another hash on the chain")
    if block.block_time != b.block_time:
        raise BadData(Reason.ANCHOR_MISMATCH,
                      f"{where} has time {block.block_time} on the chain, the header says "
                      f"{b.block_time}")  # fmt: skip
    latest = h.last_utc_ns + h.clock_uncertainty_ns
    if latest < (b.block_time - BLOCK_TIME_SLACK_S) * _NS:
        raise BadData(Reason.TIME_REGRESSION,
                      f"{where}: the batch claims to end {(b.block_time * _NS - latest) / 1e9:.3f}"
                      " s before that block, beyond its stated clock uncertainty")  # fmt: skip
