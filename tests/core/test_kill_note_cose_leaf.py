"""What the mutation run left open in signed notes, COSE and log leaves:
a note at exactly its size bound, text split from signatures at the *last* blank line (also
one at the very start), a signature line with a second space refused for its blob, origins
that hold any character but a line break, a verifier key's base64 errors by their words, the
memo of protected headers actually read, leaf-event CBOR errors naming the event, a version-1
access event with a key 0 (mutation run, docs/testing.md)."""

from __future__ import annotations

from typing import Any

import pytest

from notary_core import cbor, checkpoint, cose, limits
from notary_core.checkpoint import Checkpoint, NoteVerifier
from notary_core.errors import BadData, Reason
from notary_core.logleaf import AccessEvent, LeafType, RegistryEvent
from tests.core.test_kill_checkpoint import ROOT, SIGNER
from tests.core.test_kill_cose import ED, _msg
from tests.core.test_kill_logleaf_events import ACCESS_V1, _leaf

SIG5 = "\u2014 k AAAAAAA=\n"  # a signature line by key "k" whose blob is 5 zero bytes


def _refused(reason: Reason, message: str, fn: object, *args: object) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (reason, message)


def test_a_note_of_exactly_the_size_bound_is_opened() -> None:
    def note(pad: int) -> bytes:
        cp = Checkpoint("log.example", 3, ROOT, ("x" * pad,))
        return checkpoint.sign_checkpoint(cp, [SIGNER])

    pad = 1000 + limits.MAX_CHECKPOINT_SIZE - len(note(1000))
    exact = note(pad)
    assert len(exact) == limits.MAX_CHECKPOINT_SIZE
    cp = checkpoint.open_checkpoint(exact, [SIGNER.verifier], "log.example")
    assert cp == Checkpoint("log.example", 3, ROOT, ("x" * pad,))


def test_the_signatures_follow_the_last_blank_line_of_the_note() -> None:
    body, lines = checkpoint.split_note(f"a\n\nb\n\n{SIG5}".encode())
    assert (body, lines) == (b"a\n\nb\n", [("k", bytes(5))])


def test_a_blank_line_opening_the_note_leaves_a_text_of_one_newline() -> None:
    assert checkpoint.split_note(f"\n\n{SIG5}".encode()) == (b"\n", [("k", bytes(5))])


def test_a_signature_line_splits_at_its_first_space() -> None:
    for extra in (" x", " "):
        note = f"o\n\n\u2014 k AAAAAAA={extra}\n".encode()
        _refused(Reason.BAD_CHECKPOINT, "signature is not base64", checkpoint.split_note, note)


def test_an_origin_holds_any_character_but_a_line_break() -> None:
    for origin in ("X", "XX.example/X", "log example", "\u00e9\u2014"):
        cp = Checkpoint(origin, 1, ROOT)
        assert Checkpoint.parse_body(cp.body()) == cp
        note = checkpoint.sign_checkpoint(cp, [SIGNER])
        assert checkpoint.open_checkpoint(note, [SIGNER.verifier], origin) == cp


def test_a_verifier_key_of_bad_base64_is_refused_by_its_words() -> None:
    name, hash_hex, key64 = SIGNER.verifier.vkey.split("+")
    _refused(Reason.BAD_CHECKPOINT, "verifier key is not base64",
             NoteVerifier.from_vkey, f"{name}+{hash_hex}+!{key64[1:]}")  # fmt: skip
    _refused(Reason.NON_CANONICAL, "verifier key is not canonical base64",
             NoteVerifier.from_vkey, f"{name}+{hash_hex}+AB==")  # fmt: skip


def test_a_protected_header_seen_again_is_read_from_the_memo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cose, "_PROTECTED", {})
    decoded: list[bytes] = []
    loads = cbor.loads

    def counting(data: bytes, limit: int, what: str, **kw: Any) -> Any:
        if what == "protected header":
            decoded.append(data)
        return loads(data, limit, what, **kw)

    monkeypatch.setattr(cbor, "loads", counting)
    protected = cbor.dumps({1: -8, 3: "memo", 4: ED.kid})
    first = cose.parse_sign1(_msg(protected), 4096)
    again = cose.parse_sign1(_msg(protected), 4096)
    assert first == again
    assert (first.alg, first.content_type, first.kid) == (-8, "memo", ED.kid)
    assert decoded == [protected]
    memo = cose._PROTECTED
    assert memo == {protected: {1: -8, 3: "memo", 4: ED.kid}}


@pytest.mark.parametrize(
    ("kind", "what", "parse"),
    [
        (LeafType.ACCESS_EVENT, "access event", AccessEvent.from_leaf),
        (LeafType.REGISTRY_EVENT, "registry event", RegistryEvent.from_leaf),
    ],
)
def test_an_event_leaf_of_non_deterministic_cbor_is_named(
    kind: LeafType, what: str, parse: object
) -> None:
    long_key = bytes([kind]) + b"\xa1\x18\x01\x01"  # {1: 1} with its key in two bytes
    _refused(Reason.NON_CANONICAL, f"{what} is not deterministic CBOR", parse, long_key)


def test_a_version_1_access_event_with_a_key_0_is_refused() -> None:
    leaf = _leaf(LeafType.ACCESS_EVENT, {0: 0, **ACCESS_V1})
    _refused(Reason.MALFORMED, "access event keys", AccessEvent.from_leaf, leaf)
    assert AccessEvent.from_leaf(_leaf(LeafType.ACCESS_EVENT, ACCESS_V1)).subject == "g1"
