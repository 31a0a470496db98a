"""Direct tests of bundle parsing refusals that mutation testing asked for."""

import pytest

from notary_core import bundle
from notary_core.errors import BadData, Reason


def test_a_logged_entry_whose_proof_holds_a_non_byte_string_is_malformed() -> None:
    with pytest.raises(BadData) as e:
        bundle._logged([b"leaf", 0, [b"\x00" * 32, 7]])
    assert e.value.reason is Reason.MALFORMED
    assert "log proof must be a list of byte strings" in str(e.value)


def _refused(reason: Reason, message: str, fn: object, *args: object) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (reason, message)


H = b"\x00" * 32
SALT = b"\x01" * 16


def test_byte_string_lists_are_read_as_tuples() -> None:
    assert bundle._bytes_list([H, b""], "x") == (H, b"")
    assert bundle._bytes_list((), "x") == ()
    for bad in (H, "ab", None, [H, "ab"], [bytearray(H)]):
        _refused(Reason.MALFORMED, "x must be a list of byte strings", bundle._bytes_list, bad, "x")


def test_a_logged_entry_is_leaf_index_and_proof() -> None:
    assert bundle._logged([b"leaf", 7, [H]]) == bundle.LoggedEntry(b"leaf", 7, (H,))
    assert bundle._logged((b"leaf", 0, ())) == bundle.LoggedEntry(b"leaf", 0, ())
    for bad in ([b"leaf", 7], [b"leaf", 7, [H], 1], {b"leaf": 7}):
        _refused(Reason.MALFORMED, "a logged entry is [leaf, index, proof]", bundle._logged, bad)
    for bad in (["leaf", 7, []], [b"leaf", "7", []], [b"leaf", 7.0, []]):
        _refused(Reason.MALFORMED, "logged entry fields have the wrong types",
                 bundle._logged, bad)  # fmt: skip


def test_disclosed_rows_are_index_record_and_a_salt_of_the_size() -> None:
    rows = bundle._disclosed_rows([[0, b"r", SALT], (3, b"", SALT)], 16)
    assert rows == [(0, b"r", SALT), (3, b"", SALT)]
    assert all(isinstance(r, bundle.Disclosed) for r in rows)
    assert bundle._disclosed_rows([], 16) == []
    message = "disclosed: [int index, bytes record, 16-byte salt]"
    for bad in (
        [[0, b"r"]],
        [[0, b"r", SALT, 1]],
        [b"row"],
        [[True, b"r", SALT]],
        [["0", b"r", SALT]],
        [[0, "r", SALT]],
        [[0, b"r", SALT[:15]]],
        [[0, b"r", SALT + b"x"]],
        [[0, b"r", "s" * 16]],
        [[0, b"r", SALT], [0, b"r"]],
    ):
        _refused(Reason.MALFORMED, message, bundle._disclosed_rows, bad, 16)  # fmt: skip


def test_batch_evidence_is_a_list_of_5() -> None:
    got = bundle._batch([b"signed", 4, [H], [[1, b"r", bytes(16)]], [H, H]])
    assert got == bundle.BatchEvidence(b"signed", 4, (H,), ((1, b"r", bytes(16)),), (H, H))
    for bad in ([b"s", 4, [], []], [b"s", 4, [], [], [], []], "batch"):
        _refused(Reason.MALFORMED, "batch evidence is a list of 5", bundle._batch, bad)
    for bad in (["s", 4, [], [], []], [b"s", b"4", [], [], []]):
        _refused(Reason.MALFORMED, "batch evidence fields have the wrong types",
                 bundle._batch, bad)  # fmt: skip
    _refused(Reason.MALFORMED, "disclosed records must be a list",
             bundle._batch, [b"s", 4, [], b"rows", []])  # fmt: skip
    _refused(Reason.MALFORMED, "log proof must be a list of byte strings",
             bundle._batch, [b"s", 4, [1], [], []])  # fmt: skip
    _refused(Reason.MALFORMED, "multiproof must be a list of byte strings",
             bundle._batch, [b"s", 4, [], [], [1]])  # fmt: skip


def test_the_index_proof_is_leaf_proof_device_and_vehicle() -> None:
    got = bundle._index([b"leaf", [H], [b"d", [H]], [b"v", []]])
    assert got == bundle.IndexProof(b"leaf", (H,), b"d", (H,), b"v", ())
    for bad in ([b"leaf", [], [b"d", []]], (b"leaf", [], [b"d", []], [b"v", []])):
        _refused(Reason.MALFORMED, "the index is [leaf, proof, device proof, vehicle proof]",
                 bundle._index, bad)  # fmt: skip
    for bad in (
        ["leaf", [], [b"d", []], [b"v", []]],
        [b"leaf", [], (b"d", []), [b"v", []]],
        [b"leaf", [], [b"d", []], [b"v"]],
        [b"leaf", [], [b"d", []], ["v", []]],
    ):
        _refused(Reason.MALFORMED, "index proof fields have the wrong types",
                 bundle._index, bad)  # fmt: skip
    for at, what in ((1, "index leaf proof"), (2, "device proof"), (3, "vehicle proof")):
        bad: list[object] = [b"leaf", [], [b"d", []], [b"v", []]]
        if at == 1:
            bad[1] = [1]
        else:
            bad[at] = [b"x", [1]]
        _refused(Reason.MALFORMED, f"{what} must be a list of byte strings", bundle._index, bad)


def test_the_file_envelope() -> None:
    m = bundle.MAGIC
    assert bundle._envelope(m + b"\x02" + b"\xd2body") == (2, b"\xd2body")
    assert bundle._envelope(b"\xd2bare") == (1, b"\xd2bare")
    _refused(Reason.UNREADABLE, "the bundle file ends after its magic", bundle._envelope, m)
    _refused(Reason.UNSUPPORTED_VERSION, "bundle file version 1", bundle._envelope, m + b"\x01")
    _refused(Reason.UNSUPPORTED_VERSION, "bundle file version 3", bundle._envelope, m + b"\x03x")
    for bad in (b"", b"\xd3", m[:-1] + b"\x02"):
        _refused(Reason.UNREADABLE, "not an evidence bundle (no vnotary bundle magic)",
                 bundle._envelope, bad)  # fmt: skip
