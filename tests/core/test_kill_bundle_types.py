"""A bundle's fields by their types (§12, §12.2): each text, time, key and checkpoint field
and each anchor field refused on its own with its words, the anchor's byte lengths at their
value and one either side, the file's size bound at its value and one past, the content type,
the file kept as read, and disclosed rows given as a tuple read with the C loop on (mutation
run, docs/testing.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from notary_core import bundle, cbor, cose
from notary_core.errors import BadData, Reason
from tests.core.bundle_factory import _key, build, make_world
from tests.core.bundle_v2_factory import build2, make_world2
from tests.core.c_loop import ACCEL, c_loop

TEXTS = "bundle text or time fields have the wrong types"
BYTES = "bundle key or checkpoint fields must be bytes"
ANCHOR = "anchor reference fields have the wrong types"


@pytest.fixture(scope="module")
def v1_file() -> bytes:
    return build(make_world(n_batches=2, per_batch=5))


@pytest.fixture(scope="module")
def v2_file() -> bytes:
    return build2(make_world2(n_batches=2, per_batch=5))


@pytest.fixture(scope="module")
def m(v1_file: bytes) -> dict[int, Any]:
    """The version-1 payload map of a valid bundle."""
    return bundle._encode(bundle.parse_bundle(v1_file).bundle)


def _refused(reason: Reason, message: str, fn: Callable[..., object], *args: object) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)
    assert (e.value.reason, e.value.message) == (reason, message)


def _with(m: dict[int, Any], key: int, at: int | None, value: object) -> dict[int, Any]:
    """`m` with `m[key]` (or the item `at` of the list `m[key]`) replaced by `value`."""
    if at is None:
        return {**m, key: value}
    part = list(m[key])
    part[at] = value
    return {**m, key: part}


# ---- the text and time fields ---------------------------------------------------------------

TEXT_FIELDS = [
    (2, None),  # bundle id
    (4, 0),  # log origin
    (4, 1),  # log verifier key
    (5, 0),  # vehicle id
    (5, 1),  # device id
    (5, 5),  # purpose
    (5, 6),  # grantee
]
TIME_FIELDS = [(3, None), (5, 2), (5, 3)]  # issued, window start, window end


@pytest.mark.parametrize(("key", "at"), TEXT_FIELDS)
@pytest.mark.parametrize("bad", [b"text", None, 7])
def test_each_text_field_must_be_text(
    m: dict[int, Any], key: int, at: int | None, bad: object
) -> None:
    _refused(Reason.MALFORMED, TEXTS, bundle._parse, _with(m, key, at, bad))


@pytest.mark.parametrize("bad", [b"jws", None])
def test_each_grant_of_the_chain_must_be_text(m: dict[int, Any], bad: object) -> None:
    _refused(Reason.MALFORMED, TEXTS, bundle._parse, {**m, 9: [*m[9], bad]})


@pytest.mark.parametrize("bad", [b"gnss", None])
def test_each_scope_item_must_be_text(m: dict[int, Any], bad: object) -> None:
    scope = [*m[5][4], bad]
    _refused(Reason.MALFORMED, TEXTS, bundle._parse, _with(m, 5, 4, scope))


@pytest.mark.parametrize(("key", "at"), TIME_FIELDS)
@pytest.mark.parametrize("bad", [True, 1.0, "1", None])
def test_each_time_must_be_an_integer(
    m: dict[int, Any], key: int, at: int | None, bad: object
) -> None:
    """With every text field right, a time of another type is refused on its own."""
    _refused(Reason.MALFORMED, TEXTS, bundle._parse, _with(m, key, at, bad))


def test_the_times_are_read_as_given(m: dict[int, Any]) -> None:
    b = bundle._parse(_with(_with(_with(m, 3, None, 0), 5, 2, -1), 5, 3, 2**64))
    assert (b.issued_utc_ns, b.request.window_start_ns, b.request.window_end_ns) == (0, -1, 2**64)


# ---- the keys and the checkpoint ------------------------------------------------------------


@pytest.mark.parametrize(("key", "at"), [(4, 2), (6, None), (12, None)])
@pytest.mark.parametrize("bad", ["bytes", bytearray(b"bytes"), None])
def test_the_keys_and_the_checkpoint_must_be_byte_strings(
    m: dict[int, Any], key: int, at: int | None, bad: object
) -> None:
    _refused(Reason.MALFORMED, BYTES, bundle._parse, _with(m, key, at, bad))


# ---- the anchor: [chain id, contract, tx hash, block number, block hash, size, root, time] ---

LENGTHS = [(1, 20), (2, 32), (4, 32), (6, 32)]  # contract, tx hash, block hash, root
INTS = [0, 3, 5, 7]  # chain id, block number, tree size, block time


def test_an_anchor_at_its_lengths_is_read(m: dict[int, Any]) -> None:
    a = bundle._parse(m).anchor
    assert a is not None
    assert (len(a.contract), len(a.tx_hash), len(a.block_hash), len(a.root)) == (20, 32, 32, 32)
    assert bundle._parse({**m, 13: None}).anchor is None


@pytest.mark.parametrize(("at", "size"), LENGTHS)
@pytest.mark.parametrize("delta", [-1, 1])
def test_each_anchor_hash_of_another_length_is_refused(
    m: dict[int, Any], at: int, size: int, delta: int
) -> None:
    anchor = _with(m, 13, at, b"\x01" * (size + delta))
    _refused(Reason.MALFORMED, ANCHOR, bundle._parse, anchor)


@pytest.mark.parametrize(("at", "size"), LENGTHS)
def test_each_anchor_hash_must_be_a_byte_string_even_of_the_right_length(
    m: dict[int, Any], at: int, size: int
) -> None:
    for bad in ("a" * size, [1] * size, bytearray(size)):
        _refused(Reason.MALFORMED, ANCHOR, bundle._parse, _with(m, 13, at, bad))


@pytest.mark.parametrize("at", INTS)
@pytest.mark.parametrize("bad", [True, 7.0, "7", None])
def test_each_anchor_number_must_be_an_integer(m: dict[int, Any], at: int, bad: object) -> None:
    _refused(Reason.MALFORMED, ANCHOR, bundle._parse, _with(m, 13, at, bad))


def test_a_version_2_anchor_is_checked_alike(v2_file: bytes) -> None:
    m2 = bundle._encode_v2(bundle.parse_bundle(v2_file).bundle)
    _refused(Reason.MALFORMED, ANCHOR, bundle._parse_v2, _with(m2, 12, 1, b"\x01" * 19))


# ---- the file --------------------------------------------------------------------------------


def test_the_file_bound_is_the_size_limit_magic_and_version_included() -> None:
    """§8: a bundle file is at most 256 MiB, all of it: a version-2 file of exactly
    MAX_BUNDLE_SIZE bytes passes the envelope; one more byte is TOO_LARGE, by its length."""
    limit = bundle.MAX_BUNDLE_SIZE
    prefix = bundle.MAGIC + b"\x02"
    data = prefix + bytes(limit - len(prefix))
    version, body = bundle._envelope(data)
    assert (version, len(body)) == (2, limit - len(prefix))
    del data, body
    data = prefix + bytes(limit - len(prefix) + 1)
    _refused(Reason.TOO_LARGE, f"evidence bundle is {limit + 1}, limit {limit}",
             bundle._envelope, data)  # fmt: skip


@pytest.mark.parametrize(
    "content_type",
    ["application/cbor", "application/vnd.vnotary.evidence+cbor; v=2",
     "application/vnd.vnotary.batch-header+cbor; v=1"],
)  # fmt: skip
def test_a_bundle_under_another_content_type_is_refused(
    m: dict[int, Any], content_type: str
) -> None:
    data = cose.sign1(cose.Signer.from_key(_key(2)), cbor.dumps(m), content_type)
    _refused(Reason.MALFORMED, f"not an evidence bundle: {content_type!r}",
             bundle.parse_bundle, data)  # fmt: skip


def test_a_parsed_bundle_keeps_the_file_as_read(v1_file: bytes, v2_file: bytes) -> None:
    for data, version in ((v1_file, 1), (v2_file, 2)):
        sb = bundle.parse_bundle(data)
        assert (sb.raw, sb.version) == (data, version)


# ---- disclosed rows with the C loop on --------------------------------------------------------


def test_disclosed_rows_given_as_a_tuple_read_as_a_list_does_with_the_c_loop() -> None:
    assert ACCEL is not None, "notary_core._accel not built: run make setup"
    salt = b"\x01" * 16
    h = b"\x00" * 32
    want = bundle.BatchEvidence(b"signed", 4, (h,), ((1, b"r", salt), (3, b"", salt)), (h,))
    with c_loop(True):
        for rows in ([[1, b"r", salt], [3, b"", salt]], ((1, b"r", salt), (3, b"", salt))):
            got = bundle._batch([b"signed", 4, [h], rows, [h]])
            assert got == want
            assert all(type(d) is bundle.Disclosed for d in got.disclosed)
