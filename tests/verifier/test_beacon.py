"""time.beacon against a real chain node (anvil): each version-2 header's beacon block is
looked up by number; its hash and time must match, its time is the batch's proven "not
before", and a batch claiming to be older than the block it names fails."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notary_core import batch, header, logleaf
from notary_core import records as r
from notary_core.evidence import Status, Transcript, verify_bundle
from notary_core.header import Beacon
from tests.core import bundle_v2_factory as f2
from tests.core.bundle_factory import SEC, T0, batch_records
from tests.infra.anvil import ANVIL, Anvil, anvil_node
from verifier.chain_rpc import block_lookup
from verifier.report.build import generate

pytestmark = pytest.mark.integration


class OldAnvil(Anvil):
    """anvil whose genesis block is stamped before the factory's 2018 drive (`--timestamp`),
    so blocks can be mined at any time around it."""

    def start(self) -> None:
        cmd = [str(ANVIL), "--host", "127.0.0.1", "--port", str(self.port), "--silent",
               "--timestamp", str(T0 // SEC - 86400)]  # fmt: skip
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                self.rpc("eth_chainId")
                return
            time.sleep(0.05)
        raise RuntimeError("anvil did not start")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Anvil]:
    """A fresh chain per test: blocks are mined at chosen times, which only go forward."""
    n = OldAnvil(tmp_path)
    n.start()
    try:
        yield n
    finally:
        n.stop()


def mine_at(node: Anvil, t_s: int) -> Beacon:
    """A block stamped `t_s` on the node; its beacon as a receipt would carry it."""
    node.rpc("evm_setNextBlockTimestamp", hex(t_s))
    node.rpc("evm_mine")
    b: dict[str, Any] = node.rpc("eth_getBlockByNumber", "latest", False)
    return Beacon(int(node.rpc("eth_chainId"), 16), int(b["number"], 16),
                  bytes.fromhex(b["hash"][2:]), int(b["timestamp"], 16))  # fmt: skip


def world(
    beacons: list[Beacon | None], uncertainty_ns: int = 1_000_000, gnss_check: bool = False
) -> f2.World2:
    """The factory's world, its batches sealed with these beacons (one per batch); with
    `gnss_check`, each batch also holds a GNSS_TIME event (device clock 40 ms ahead)."""
    w = f2.World2()
    f2.enrol(w)
    f2.install(w)
    f2.bind_owner(w)
    prev = header.GENESIS_PREV_HASH
    for seq, beacon in enumerate(beacons):
        recs = batch_records(seq, 50)
        if gnss_check:
            t = r.decode(recs[-1]).utc_ns
            ev = r.AgentEvent(r.EventType.GNSS_TIME, 40_000_000, t - 40_000_000, "RMC minute")
            recs.append(r.encode(r.Record("gnss", seq * 50 + 50, 1, t, r.ClockSource.GNSS, ev)))
        times = [r.decode(x).utc_ns for x in recs]
        monos = [r.decode(x).mono_ns for x in recs]
        tmpl = header.BatchHeader(
            device_id=f2.DEVICE, boot_id=bytes(16), batch_seq=seq, prev_header_hash=prev,
            record_count=0, merkle_root=bytes(32), first_mono_ns=min(monos),
            last_mono_ns=max(monos), first_utc_ns=min(times), last_utc_ns=max(times),
            clock_source=r.ClockSource.GNSS, clock_uncertainty_ns=uncertainty_ns,
            streams={"can0": header.StreamCounters(30, 30)}, agent_version="vnotary-edge/0.2.0",
            config_hash=bytes(32), key_id=b"", counts={}, beacon=beacon,
        )  # fmt: skip
        sb = batch.seal(tmpl, recs, os.urandom(32), w.device)
        prev = sb.signed.header_hash
        index = w.log.append(logleaf.BatchLeaf(prev, seq, f2.DEVICE).to_leaf())
        w.batches.append((sb, recs, index))
    return w


def check(t: Transcript) -> tuple[Status, str, str]:
    (c,) = [c for c in t.checks if c.name == "time.beacon"]
    return c.status, c.reason, c.detail


def verify(w: f2.World2, node: Anvil | None) -> Transcript:
    lookup = block_lookup(node.url if node else None)
    return verify_bundle(f2.build2(w), w.trust(), None, lookup)


def test_beacons_found_on_chain_give_each_batch_its_not_before(node: Anvil) -> None:
    early = mine_at(node, T0 // SEC - 120)
    later = mine_at(node, T0 // SEC - 60)
    t = verify(world([None, None, early, later, later, later]), node)
    status, _reason, detail = check(t)
    assert status is Status.PASS, detail
    nb = t.summary["not_before_s"]
    assert (nb[2], nb[3]) == (early.block_time, later.block_time) and 1 not in nb
    assert t.summary["batches"][0] == 1  # the bundle's first batch, sealed before any beacon
    assert "1 header(s) without a beacon" in detail
    # Offline (no chain node) there is no such check: the beacons are the collector's word.
    assert not [c for c in verify(world([early] * 6), None).checks if c.name == "time.beacon"]


@pytest.mark.parametrize(
    ("edit", "reason", "words"),
    [
        (lambda b: Beacon(b.chain_id, b.block_number, bytes(32), b.block_time), "ANCHOR_MISMATCH",
         "another hash"),
        (lambda b: Beacon(b.chain_id, b.block_number + 10**6, b.block_hash, b.block_time),
         "ANCHOR_MISMATCH", "does not exist"),
        (lambda b: Beacon(b.chain_id, b.block_number, b.block_hash, b.block_time - 3600),
         "ANCHOR_MISMATCH", "has time"),
    ],
)  # fmt: skip
def test_a_beacon_the_chain_does_not_have_fails(
    node: Anvil, edit: Any, reason: str, words: str
) -> None:
    real = mine_at(node, T0 // SEC - 30)
    status, got, detail = check(verify(world([real, real, edit(real), real, real, real]), node))
    assert (status, got) == (Status.FAIL, reason) and words in detail, detail


def test_a_batch_claiming_to_be_older_than_its_beacon_fails(node: Anvil) -> None:
    """A device that learned of a block an hour after the times it claims was back-dated
    (or its clock was wrong far beyond the ±1 ms it signed)."""
    future = mine_at(node, T0 // SEC + 3600)
    status, reason, detail = check(verify(world([None, None, future, None, None, None]), node))
    assert (status, reason) == (Status.FAIL, "TIME_REGRESSION"), detail
    # The same batch with an honest "unbounded" uncertainty (an unsynchronised clock)
    # contradicts nothing: the interval is only as good as the clock says it is.
    wide = world([None, None, future, None, None, None], uncertainty_ns=2**64 - 1)
    assert check(verify(wide, node))[0] is Status.PASS


def test_a_node_of_another_chain_or_none_at_all_cannot_decide() -> None:
    beacon = Beacon(999_999, 5, bytes(32), T0 // SEC - 60)
    with anvil_node() as other:  # chain 31337, not 999999
        status, reason, detail = check(verify(world([beacon] * 6), other))
    assert (status, reason) == (Status.UNDECIDED, "UNREACHABLE") and "not 999999" in detail


def test_the_report_shows_the_proven_interval_per_batch_and_for_the_window(node: Anvil) -> None:
    nb = mine_at(node, T0 // SEC - 10)
    w = world([None, nb, nb, nb, nb, nb], gnss_check=True)
    raw = f2.build2(w)
    t = verify_bundle(raw, w.trust(), None, block_lookup(node.url))
    assert check(t)[0] is Status.PASS
    html = generate(raw, t, bundle_name="b.vnb")
    when = html[html.index("3. When") : html.index("4. What")]
    assert "2018-08-02 16:14:38.000 UTC (the earliest beacon block of the window" in when
    assert "anchor block time as the bundle states it; not checked" in when  # no anchor lookup
    assert "± 1 ms" in when and "e+0" not in html
    batches = int(t.summary["batches"][1]) - int(t.summary["batches"][0]) + 1
    assert when.count('class="tl-batch"') == batches
    assert when.count('class="tl-nb"') == batches  # every batch of the bundle has its beacon
    assert 'id="gnss-checks"' in when and "40 ms" in when and "RMC minute" in when
    # Without the chain lookup nothing about "not before" is called proven.
    offline = generate(raw, verify_bundle(raw, w.trust()), bundle_name="b.vnb")
    assert "not proven: the beacons were not checked on chain (run with --rpc)" in offline
