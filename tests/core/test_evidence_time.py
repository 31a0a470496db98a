"""time.beacon (docs/protocol.md §4.3, §12.3) without a chain node: version-2 bundles from
the factory whose headers carry beacons, verified against a block lookup written here (the
BlockLookup protocol: (chain id, number) -> Block or None). Every refusal with its reason
and words, the block-time edge to the nanosecond, and what the transcript says of a pass.
tests/verifier/test_beacon.py does the same against anvil (an integration test)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from notary_core.errors import Unreachable
from notary_core.evidence import Block, Check, Status, Transcript, Verdict, verify_bundle
from notary_core.evidence_time import BLOCK_TIME_SLACK_S
from notary_core.header import Beacon
from tests.core import bundle_v2_factory as f
from tests.core.bundle_factory import SEC, T0

CHAIN = 31337
S0 = T0 // SEC  # the drive's first second; batch `seq` claims S0 + seq .. S0 + seq + 0.98 s
WINDOW = (T0 + 1 * SEC, T0 + 4 * SEC)  # the bundle holds batches 1..4


def beacon(number: int, t_s: int, chain: int = CHAIN) -> Beacon:
    return Beacon(chain, number, hashlib.sha256(b"block %d of %d" % (number, chain)).digest(), t_s)


class Chain:
    """A BlockLookup over a dict of blocks, recording each question it is asked."""

    def __init__(self, *known: Beacon) -> None:
        self.blocks = {(b.chain_id, b.block_number): Block(b.block_hash, b.block_time)
                       for b in known}  # fmt: skip
        self.calls: list[tuple[int, int]] = []

    def __call__(self, chain_id: int, number: int) -> Block | None:
        self.calls.append((chain_id, number))
        return self.blocks.get((chain_id, number))


def world(beacons: list[Beacon | None], uncertainty_ns: int = 1_000_000) -> f.World2:
    """The factory's world, batch `seq` sealed with beacons[seq]."""
    w = f.World2()
    f.enrol(w)
    f.install(w)
    f.bind_owner(w)
    for seq, b in enumerate(beacons):
        f.seal_batches(w, 1, first=seq, beacon=b, uncertainty_ns=uncertainty_ns)
    return w


def verify(w: f.World2, lookup: Chain) -> Transcript:
    return verify_bundle(f.build2(w, window=WINDOW), w.trust(), None, lookup)


def check(t: Transcript) -> Check:
    (c,) = [c for c in t.checks if c.name == "time.beacon"]
    return c


def refused(t: Transcript, reason: str, detail: str) -> None:
    c = check(t)
    assert (c.status, c.reason, c.detail) == (Status.FAIL, reason, detail)
    assert t.verdict is Verdict.FAIL and t.reasons == [reason]


def test_each_distinct_block_is_looked_up_once_and_gives_its_batches_their_not_before() -> None:
    a, b = beacon(100, S0 - 120), beacon(200, S0 - 60)
    other = beacon(200, S0 - 30, chain=5)  # the same number on another chain: another block
    chain = Chain(a, b, other)
    t = verify(world([a, None, a, b, b, other]), chain)
    c = check(t)
    assert (c.status, c.reason) == (Status.PASS, ""), c.detail
    assert c.detail == (
        f"3 header(s) name 2 block(s) found on chain: not before {S0 - 120}..{S0 - 60} (s); "
        "1 header(s) without a beacon (sealed before the first)"
    )
    assert chain.calls == [(CHAIN, 100), (CHAIN, 200)]
    assert t.summary["not_before_s"] == {2: S0 - 120, 3: S0 - 60, 4: S0 - 60}
    assert t.verdict is Verdict.OK, t.reasons


def test_every_header_with_a_beacon_has_no_suffix_and_a_block_of_another_chain_counts() -> None:
    a, other = beacon(100, S0 - 120), beacon(100, S0 - 30, chain=5)
    chain = Chain(a, other)
    t = verify(world([None, a, other, a, a, None]), chain)
    c = check(t)
    assert c.status is Status.PASS, c.detail
    assert c.detail == (f"4 header(s) name 2 block(s) found on chain: not before {S0 - 120}.."
                        f"{S0 - 30} (s)")  # fmt: skip
    assert chain.calls == [(CHAIN, 100), (5, 100)]
    assert t.summary["not_before_s"] == {1: S0 - 120, 2: S0 - 30, 3: S0 - 120, 4: S0 - 120}


def test_headers_without_beacons_pass_with_no_not_before() -> None:
    chain = Chain()
    t = verify(world([None] * 6), chain)
    c = check(t)
    assert (c.status, c.reason) == (Status.PASS, "")
    assert c.detail == "no header carries a beacon: no batch has a proven 'not before'"
    assert t.summary["not_before_s"] == {} and chain.calls == []
    assert t.verdict is Verdict.OK


def test_no_parsed_header_leaves_the_check_undecided() -> None:
    w = world([beacon(100, S0 - 60)] * 6)
    p = f.parts(w, window=WINDOW)
    data = replace(p.bundle, batches=()).sign(w.collector)
    t = verify_bundle(data, w.trust(), None, Chain(beacon(100, S0 - 60)))
    c = check(t)
    assert (c.status, c.reason) == (Status.UNDECIDED, "UNREACHABLE")
    assert c.detail == "no parsed headers to check the beacons of"
    assert "not_before_s" not in t.summary


def test_a_node_that_cannot_answer_leaves_the_check_undecided() -> None:
    def down(chain_id: int, number: int) -> Block | None:
        raise Unreachable(f"no node of chain {chain_id} answers")

    w = world([None, None, beacon(100, S0 - 60), None, None, None])
    t = verify_bundle(f.build2(w, window=WINDOW), w.trust(), None, down)
    c = check(t)
    assert (c.status, c.reason, c.detail) == (Status.UNDECIDED, "UNREACHABLE",
                                              f"no node of chain {CHAIN} answers")  # fmt: skip
    assert t.verdict is Verdict.INCONCLUSIVE


def test_a_block_the_chain_does_not_have_is_an_anchor_mismatch() -> None:
    a = beacon(100, S0 - 60)
    t = verify(world([None, None, a, None, None, None]), Chain(beacon(101, S0 - 60)))
    refused(
        t, "ANCHOR_MISMATCH", f"batch 2: block 100 of chain {CHAIN} does not exist on the chain"
    )


def test_a_block_with_another_hash_is_an_anchor_mismatch() -> None:
    a = beacon(100, S0 - 60)
    forged = replace(a, block_hash=bytes(32))
    t = verify(world([None, None, None, forged, None, None]), Chain(a))
    refused(
        t, "ANCHOR_MISMATCH", f"batch 3: block 100 of chain {CHAIN} has another hash on the chain"
    )


def test_a_block_with_another_time_is_an_anchor_mismatch() -> None:
    a = beacon(100, S0 - 60)
    t = verify(world([None, a, replace(a, block_time=S0 - 61), a, a, a]), Chain(a))
    refused(t, "ANCHOR_MISMATCH", f"batch 2: block 100 of chain {CHAIN} has time {S0 - 60} on the "
            f"chain, the header says {S0 - 61}")  # fmt: skip


def test_the_second_header_naming_a_cached_block_is_checked_too() -> None:
    """A block looked up once is still compared with every header that names it."""
    a = beacon(100, S0 - 60)
    t = verify(world([None, a, a, replace(a, block_hash=bytes(32)), a, a]), Chain(a))
    refused(
        t, "ANCHOR_MISMATCH", f"batch 3: block 100 of chain {CHAIN} has another hash on the chain"
    )


# Batch 2 claims to end at S0 + 2.98 s; with an uncertainty of 20 ms its latest is S0 + 3 s.
EDGE_S = S0 + 3 + BLOCK_TIME_SLACK_S  # the newest block batch 2 may name


def test_a_batch_ending_exactly_at_the_block_time_less_the_slack_passes() -> None:
    assert BLOCK_TIME_SLACK_S == 15  # §12.3: the future go-ethereum accepts in a block's time
    a = beacon(100, EDGE_S)
    t = verify(world([None, None, a, None, None, None], uncertainty_ns=20_000_000), Chain(a))
    c = check(t)
    assert c.status is Status.PASS, c.detail
    assert t.summary["not_before_s"] == {2: EDGE_S}


def test_a_batch_ending_one_nanosecond_before_that_is_a_time_regression() -> None:
    a = beacon(100, EDGE_S)
    t = verify(world([None, None, a, None, None, None], uncertainty_ns=20_000_000 - 1), Chain(a))
    refused(t, "TIME_REGRESSION", f"batch 2: block 100 of chain {CHAIN}: the batch claims to end "
            "15.000 s before that block, beyond its stated clock uncertainty")  # fmt: skip


def test_the_regression_message_says_how_far_before_the_block_the_batch_ends() -> None:
    """A device claiming times some 11.6 days before a block it knew: the distance, to the
    millisecond, counted from the end of its stated uncertainty."""
    a = beacon(100, S0 + 10**6)
    t = verify(world([None, None, a, None, None, None]), Chain(a))
    # latest = S0 + 2 s + 980 ms + 1 ms: the block is 999,997.019 s after it
    refused(t, "TIME_REGRESSION", f"batch 2: block 100 of chain {CHAIN}: the batch claims to end "
            "999997.019 s before that block, beyond its stated clock uncertainty")  # fmt: skip
