"""A bundle payload read back (§12): the version, the batch bound at its value and one past,
the non-normative views, a missing field by its words, and a version-2 bundle encoded only
with its index proof and with or without the request's event (mutation run,
docs/testing.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from notary_core import bundle
from notary_core.errors import BadData, Reason
from tests.core.bundle_factory import build, make_world
from tests.core.bundle_v2_factory import build2, make_world2


@pytest.fixture(scope="module")
def v1() -> bundle.EvidenceBundle:
    return bundle.parse_bundle(build(make_world())).bundle


@pytest.fixture(scope="module")
def v2() -> bundle.EvidenceBundle:
    return bundle.parse_bundle(build2(make_world2(n_batches=2, per_batch=5))).bundle


def _refused(reason: Reason, message: str, fn: object, *args: object) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (reason, message)


def test_the_version_1_map_reads_back(v1: bundle.EvidenceBundle) -> None:
    m = bundle._encode(v1)
    assert bundle._parse(m) == v1
    for bad in ({**m, 1: 2}, [1], {2: 1}, {**m, 1: True}, {**m, 1: 1.0}):
        _refused(Reason.UNSUPPORTED_VERSION, "evidence bundle version", bundle._parse, bad)
    no_4 = {k: v for k, v in m.items() if k != 4}
    _refused(Reason.MALFORMED, "evidence bundle field: KeyError(4)", bundle._parse, no_4)


def test_the_batch_bound(v1: bundle.EvidenceBundle) -> None:
    m = bundle._encode(v1)
    n = bundle.MAX_BATCHES
    _refused(Reason.TOO_LARGE, "too many batches", bundle._parse, {**m, 11: [0] * (n + 1)})
    # At the bound the list is read, and its first entry is what is wrong.
    _refused(Reason.MALFORMED, "batch evidence is a list of 5", bundle._parse,
             {**m, 11: [0] * n})  # fmt: skip
    _refused(Reason.TOO_LARGE, "too many batches", bundle._parse, {**m, 11: "not a list"})


def test_the_views_are_kept_when_a_map_and_dropped_otherwise(v1: bundle.EvidenceBundle) -> None:
    m = bundle._encode(v1)
    views: dict[str, Any] = {"signals": {"SPEED": {"v": [1]}}}
    assert bundle._parse({**m, 14: views}).views == views
    assert bundle._parse({**m, 14: [1, 2]}).views == {}


def test_a_version_2_bundle_encodes_with_its_index_and_its_event(
    v2: bundle.EvidenceBundle,
) -> None:
    m = bundle._encode_v2(v2)
    assert m[5][7] == (None if v2.request.event is None else list(v2.request.event))
    for event in (None, (5, "hard braking")):
        b = replace(v2, request=replace(v2.request, event=event))
        got = bundle._encode_v2(b)[5][7]
        assert got == (None if event is None else [5, "hard braking"])
    _refused(Reason.MALFORMED, "a version-2 bundle carries the index proof", bundle._encode_v2,
             replace(v2, index=None))  # fmt: skip


def test_the_version_2_map_reads_back(v2: bundle.EvidenceBundle) -> None:
    m = bundle._encode_v2(v2)
    back = bundle._parse_v2(m)
    assert back == v2
    assert back.device_events == () and back.vehicle_events == () and back.grant_events == ()
    views: dict[str, Any] = {"dbc": {"name": "x"}}
    assert bundle._parse_v2({**m, 14: views}).views == views
    assert bundle._parse_v2({**m, 14: [views]}).views == {}
    request = list(m[5])
    for event in ([5], [5, "x", 6], ["5", "x"], [5, b"x"], "5 x"):
        request[7] = event
        _refused(Reason.MALFORMED, "the request's event is [utc ns, label]", bundle._parse_v2,
                 {**m, 5: list(request)})  # fmt: skip
    request[7] = [5, "x"]
    assert bundle._parse_v2({**m, 5: request}).request.event == (5, "x")


@pytest.mark.parametrize(("file_version", "version"), [(1, True), (1, 1.0), (2, 2.0)])
def test_a_payload_version_that_is_not_an_integer(
    v1: bundle.EvidenceBundle, v2: bundle.EvidenceBundle, file_version: int, version: object
) -> None:
    """A CBOR true or float in key 1 equals the file's version in Python; it is refused."""
    from notary_core import cbor, cose
    from tests.core.bundle_factory import _key

    signer = cose.Signer.from_key(_key(9))
    m = bundle._encode(v1) if file_version == 1 else bundle._encode_v2(v2)
    good = cose.sign1(signer, cbor.dumps(m), bundle.BUNDLE_CONTENT_TYPE)
    bad = cose.sign1(signer, cbor.dumps({**m, 1: version}), bundle.BUNDLE_CONTENT_TYPE)
    prefix = b"" if file_version == 1 else bundle.MAGIC + b"\x02"
    assert bundle.parse_bundle(prefix + good).bundle.version == file_version
    _refused(Reason.UNSUPPORTED_VERSION, "evidence bundle version", bundle.parse_bundle,
             prefix + bad)  # fmt: skip


# ---- version 2's structure, each refusal by its words (full mutation run, 2026-12-03) ------


def test_a_version_2_request_is_an_array_of_8_with_a_list_of_streams(
    v2: bundle.EvidenceBundle,
) -> None:
    m = bundle._encode_v2(v2)
    request = list(m[5])
    for bad in ([*request, 0], request[:7], {"a": 1}, [*request[:4], "not a list", *request[5:]]):
        _refused(Reason.MALFORMED, "the request is an array of 8", bundle._parse_v2, {**m, 5: bad})
    request[7] = None
    back = bundle._parse_v2({**m, 5: request})
    assert back.request.event is None
    assert back.device_key == b""  # version 2 carries the device chain, not a key


def test_the_version_2_batch_bound(v2: bundle.EvidenceBundle) -> None:
    m = bundle._encode_v2(v2)
    n = bundle.MAX_BATCHES
    _refused(Reason.TOO_LARGE, "too many batches", bundle._parse_v2, {**m, 10: [0] * (n + 1)})
    # At the bound the list is read, and its first entry is what is wrong.
    _refused(Reason.MALFORMED, "batch evidence is a list of 5", bundle._parse_v2,
             {**m, 10: [0] * n})  # fmt: skip


def test_a_version_2_anchor_is_an_array_of_8(v2: bundle.EvidenceBundle) -> None:
    m = bundle._encode_v2(v2)
    assert bundle._parse_v2({**m, 12: None}).anchor is None
    for bad in ([0] * 7, [0] * 9, "eight", {1: 2}):
        _refused(Reason.MALFORMED, "the anchor is an array of 8", bundle._parse_v2, {**m, 12: bad})


@pytest.mark.parametrize(("key", "what"),
                         [(6, "device chain"), (7, "rule chain"), (13, "timestamps")])  # fmt: skip
def test_each_version_2_list_of_byte_strings_is_named(
    v2: bundle.EvidenceBundle, key: int, what: str
) -> None:
    m = bundle._encode_v2(v2)
    for bad in ("not a list", [b"ok", "not bytes"]):
        _refused(Reason.MALFORMED, f"{what} must be a list of byte strings", bundle._parse_v2,
                 {**m, key: bad})  # fmt: skip


def test_a_version_2_field_of_the_wrong_shape_is_named(v2: bundle.EvidenceBundle) -> None:
    m = bundle._encode_v2(v2)
    _refused(Reason.MALFORMED, "evidence bundle field: ValueError('not enough values to unpack "
             "(expected 3, got 2)')", bundle._parse_v2, {**m, 4: ["origin", "vkey"]})  # fmt: skip


def test_a_bundle_is_signed_only_by_its_collector_key(v2: bundle.EvidenceBundle) -> None:
    from notary_core import cose
    from tests.core.bundle_factory import _key

    other = cose.Signer.from_key(_key(31))
    _refused(Reason.KEY_MISMATCH, "bundle must be signed by its collector key", v2.sign, other)
