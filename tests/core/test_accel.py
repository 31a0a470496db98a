"""The C loop of the evidence verifier (notary_core/_accel.c) against the pure-Python path.

The C loop only ever confirms a batch; anything it does not confirm goes to the Python
path, which names the fault. So on any batch, valid or corrupted, the two paths must give
the same answer (count, or reason and message), and on valid batches C must confirm.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notary_core import batch, bundle, evidence, header, merkle
from notary_core import records as r
from notary_core.errors import NotaryError
from tests.core.c_loop import ACCEL, c_loop

SEC = 1_000_000_000
SALT_KEY = bytes(range(32))
EVERYTHING = ("can0", "can1", "gnss", "imu", "x.y")


def test_the_extension_is_built() -> None:
    # make setup builds it (a C compiler and libssl-dev come with the system deps); a
    # machine without them installs the pure-Python path alone, and this test says so.
    assert ACCEL is not None, "notary_core._accel not built: run make setup"


@st.composite
def record(draw: st.DrawFn, seq: int) -> bytes:
    t = 1_533_226_488 * SEC + seq * 1_000_000
    kind = draw(st.sampled_from(["can", "can", "can", "ext", "fd", "rtr", "gnss", "imu"]))
    stream = draw(st.sampled_from(["can0", "can0", "can1", "x.y"]))
    clock = draw(st.sampled_from(list(r.ClockSource)))
    if kind in ("can", "ext", "fd", "rtr"):
        enc = r.CanEncoder(stream, clock)
        if kind == "can":
            n = draw(st.integers(0, 8))
            can_id = draw(st.integers(0, 0x7FF))
            return enc.encode(seq, seq, t, can_id, 0, n, draw(st.binary(min_size=n, max_size=n)))
        if kind == "ext":
            can_id = draw(st.integers(0, 0x1FFFFFFF))
            return enc.encode(seq, seq, t, can_id, r.CanFlags.EXT, 8, bytes(8))
        if kind == "rtr":
            return enc.encode(seq, seq, t, 0x123, r.CanFlags.RTR, 4, b"")
        return enc.encode(seq, seq, t, 0x123, r.CanFlags.FD, 9, bytes(12))
    if kind == "gnss":
        body: r.Body = r.NmeaSentence(r.NmeaStatus.CHECKSUM_OK, b"$GPGGA,1*00")
        return r.encode(r.Record("gnss", seq, seq, t, clock, body))
    imu = r.ImuSample((0.1, 0.2, 9.8), (0.0, 0.01, 0.0))
    return r.encode(r.Record("imu", seq, seq, t, clock, imu))


Case = tuple[tuple[bundle.Disclosed, ...], tuple[bytes, ...], int, bytes, tuple[str, ...]]
"""Disclosed items, multiproof, tree size, signed root, granted scope."""

SEALED_FAULTS = ["long", "byte", "clock", "dlc", "version", "kind", "append", "truncate", "name"]


@st.composite
def sealed_records(draw: st.DrawFn, n: int) -> list[bytes]:
    """Records as a device may have sealed them: sometimes out of order, sometimes one
    non-canonical. The signed root covers them, so only the record checks can catch it."""
    seqs = list(range(n))
    if draw(st.integers(0, 3)) == 0:
        seqs = draw(st.permutations(seqs))
    records = [draw(record(seq)) for seq in seqs]
    if draw(st.booleans()):
        k = draw(st.integers(0, n - 1))
        records[k] = draw(sealed_fault(records[k]))
    return records


@st.composite
def sealed_fault(draw: st.DrawFn, record: bytes) -> bytes:
    """One record made non-canonical in one of the ways the record checks must catch."""
    raw = bytearray(record)
    fault = draw(st.sampled_from(SEALED_FAULTS))
    slen = raw[27]
    if fault == "byte":
        raw[draw(st.integers(0, len(raw) - 1))] ^= 1 << draw(st.integers(0, 7))
    elif fault == "long" and raw[1] == r.Kind.CAN:  # a classic frame longer than 8 bytes
        extra = draw(st.integers(1, 60))
        raw[28 + slen + 5] += extra
        raw += bytes(extra)
    elif fault == "clock":
        raw[2] = draw(st.integers(6, 255))
    elif fault == "dlc" and raw[1] == r.Kind.CAN:
        raw[28 + slen + 5] = draw(st.integers(0, 255))
    elif fault == "version":
        raw[0] = draw(st.integers(0, 255))
    elif fault == "kind":
        raw[1] = draw(st.integers(0, 255))
    elif fault == "append":
        raw += draw(st.binary(min_size=1, max_size=3))
    elif fault == "truncate":
        del raw[draw(st.integers(0, len(raw) - 1)) :]
    elif fault == "name":
        raw[28] = draw(st.sampled_from(b"A_-. \xff"))
    return bytes(raw)


MUTATIONS = [
    "none",
    "record_byte",
    "salt_byte",
    "proof_node",
    "root",
    "swap_items",
    "index",
    "index_past_end",
    "drop_item",
    "duplicate_item",
    "drop_node",
    "extra_node",
    "trailing_node",
    "record_count",
    "truncate_record",
    "short_salt",
    "narrow_scope",
]


@st.composite
def case(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 40))
    records = draw(sealed_records(n))
    tree = merkle.MerkleTree(batch.leaf_hashes(SALT_KEY, records))
    chosen = sorted(draw(st.sets(st.integers(0, n - 1), min_size=1)))
    items = [bundle.Disclosed(i, records[i], batch.salt(SALT_KEY, i)) for i in chosen]
    proof = tree.multiproof(chosen)
    size, root, scope = n, tree.root, EVERYTHING
    what = draw(st.sampled_from(MUTATIONS))
    k = draw(st.integers(0, len(items) - 1))
    at = draw(st.integers(0, 10_000))
    bit = 1 << draw(st.integers(0, 7))
    d = items[k]
    if what == "record_byte":
        raw = bytearray(d.record)
        raw[at % len(raw)] ^= bit
        items[k] = d._replace(record=bytes(raw))
    elif what == "salt_byte":
        items[k] = d._replace(salt=bytes([d.salt[0] ^ bit]) + d.salt[1:])
    elif what == "proof_node" and proof:
        j = at % len(proof)
        proof[j] = bytes([proof[j][0] ^ bit]) + proof[j][1:]
    elif what == "root":
        root = bytes([root[0] ^ bit]) + root[1:]
    elif what == "swap_items" and len(items) > 1:
        items[k], items[k - 1] = items[k - 1], items[k]
    elif what == "index":
        items[k] = d._replace(leaf_index=draw(st.integers(-2, n + 2)))
    elif what == "index_past_end":  # the last leaf claimed at an index past the tree's end
        items[-1] = items[-1]._replace(leaf_index=items[-1].leaf_index + draw(st.integers(1, 3)))
    elif what == "drop_item" and len(items) > 1:
        del items[k]
    elif what == "duplicate_item":
        items.insert(k, d)
    elif what == "drop_node" and proof:
        del proof[at % len(proof)]
    elif what == "extra_node":
        proof.insert(at % (len(proof) + 1), bytes(32))
    elif what == "trailing_node":  # a node the walk never uses
        proof.append(bytes(32))
    elif what == "record_count":
        size = draw(st.integers(0, 2 * n + 2))
    elif what == "truncate_record":
        items[k] = d._replace(record=d.record[: at % len(d.record)])
    elif what == "short_salt":
        items[k] = d._replace(salt=d.salt[:-1])
    elif what == "narrow_scope":
        scope = (draw(st.sampled_from(["can0", "can0#0aa", "gnss", "imu", "can1#7ff"])),)
    return tuple(items), tuple(proof), size, root, scope


def _header(size: int, root: bytes) -> header.BatchHeader:
    return header.BatchHeader(
        device_id="dev", boot_id=bytes(16), batch_seq=7, prev_header_hash=bytes(32),
        record_count=size, merkle_root=root, first_mono_ns=0, last_mono_ns=1, first_utc_ns=0,
        last_utc_ns=1, clock_source=r.ClockSource.GNSS, clock_uncertainty_ns=0, streams={},
        agent_version="t", config_hash=bytes(32), key_id=b"", counts={})  # fmt: skip


def _outcome(accelerated: bool, c: Case) -> object:
    items, proof, size, root, scope = c
    h = _header(size, root)
    with c_loop(accelerated):
        try:
            return evidence._check_disclosed(items, proof, h, scope, {})
        except NotaryError as exc:
            return (str(exc.reason), exc.message)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(case())
def test_c_and_python_give_the_same_answer(c: Case) -> None:
    assert _outcome(True, c) == _outcome(False, c)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 300), st.data())
def test_c_confirms_every_valid_batch(n: int, data: st.DataObject) -> None:
    records = [data.draw(record(seq)) for seq in range(n)]
    chosen = sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1)))
    tree = merkle.MerkleTree(batch.leaf_hashes(SALT_KEY, records))
    items = tuple(bundle.Disclosed(i, records[i], batch.salt(SALT_KEY, i)) for i in chosen)
    proof = tuple(tree.multiproof(chosen))
    h = _header(n, tree.root)
    with c_loop(True):
        assert evidence._confirmed_in_c(items, proof, h, EVERYTHING, {})
    assert ACCEL is not None
    got = ACCEL.check_batch(items, proof, n, tree.root, evidence._ACCEL_PARAMS)
    assert got is not None
    fast_keys, others = got
    # Classic CAN frames with a valid clock take the C fast path; the rest are handed back.
    for pos, d in enumerate(items):
        rec = r.decode(d.record)
        fast = isinstance(rec.body, r.CanFrame) and not rec.body.flags
        assert (pos in others) != fast
        if fast:
            assert isinstance(rec.body, r.CanFrame)
            assert (rec.stream.encode(), rec.body.can_id) in fast_keys


def test_c_is_not_fooled_by_a_wrong_type_anywhere() -> None:
    records = [r.CanEncoder("can0", r.ClockSource.GNSS).encode(0, 0, 0, 0x10, 0, 1, b"\x01")]
    tree = merkle.MerkleTree(batch.leaf_hashes(SALT_KEY, records))
    good = bundle.Disclosed(0, records[0], batch.salt(SALT_KEY, 0))
    params = evidence._ACCEL_PARAMS
    accel = ACCEL
    assert accel is not None
    assert accel.check_batch((good,), (), 1, tree.root, params) is not None
    for bad in [(0, bytearray(records[0]), good.salt), (0.0, records[0], good.salt),
                (0, records[0]), (True, records[0], good.salt), "xyz"]:  # fmt: skip
        assert accel.check_batch((bad,), (), 1, tree.root, params) is None  # type: ignore[arg-type]
    assert accel.check_batch((good,), (bytearray(32),), 1, tree.root, params) is None  # type: ignore[arg-type]
    assert accel.check_batch((good,), (), 1, tree.root[:31], params) is None
    with pytest.raises(TypeError):
        accel.check_batch([good], (), 1, tree.root, params)  # type: ignore[arg-type]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 30), st.data())
def test_c_never_confirms_a_disclosed_record_python_rejects(n: int, data: st.DataObject) -> None:
    # The device signed the root over a bad record, so every proof is valid: only the
    # record checks stand between it and an OK.
    records = [data.draw(record(seq)) for seq in range(n)]
    k = data.draw(st.integers(0, n - 1))
    records[k] = data.draw(sealed_fault(records[k]))
    chosen = sorted(data.draw(st.sets(st.integers(0, n - 1))) | {k})
    tree = merkle.MerkleTree(batch.leaf_hashes(SALT_KEY, records))
    items = tuple(bundle.Disclosed(i, records[i], batch.salt(SALT_KEY, i)) for i in chosen)
    c: Case = (items, tuple(tree.multiproof(chosen)), n, tree.root, EVERYTHING)
    assert _outcome(True, c) == _outcome(False, c)


ROW_PARTS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.binary(max_size=20),
    st.binary(min_size=16, max_size=16),
    st.text(max_size=3),
    st.none(),
    st.floats(allow_nan=False),
)
ROWS = st.lists(
    st.one_of(
        st.tuples(st.integers(0, 9), st.binary(max_size=8), st.binary(min_size=16, max_size=16)),
        st.lists(ROW_PARTS, max_size=4),
        st.tuples(ROW_PARTS, ROW_PARTS, ROW_PARTS),
        ROW_PARTS,
        st.dictionaries(st.integers(0, 3), st.integers(), max_size=3),
    ),
    max_size=6,
)


@given(ROWS)
def test_disclosed_rows_in_c_equal_the_python_ones(rows: list[object]) -> None:
    accel = ACCEL
    assert accel is not None
    got = accel.disclosed_rows(rows, bundle.Disclosed, 16)
    try:
        want: object = bundle._disclosed_rows(rows, 16)
    except NotaryError as exc:
        want = str(exc.reason)
    if got is None:  # not confirmed: the Python path decides, and must have refused
        assert want == "MALFORMED"
    else:
        assert got == want
        assert all(type(x) is bundle.Disclosed for x in got)


def test_disclosed_rows_take_only_a_tuple_subclass() -> None:
    accel = ACCEL
    assert accel is not None
    with pytest.raises(TypeError):
        accel.disclosed_rows([], list, 16)  # type: ignore[type-var]
