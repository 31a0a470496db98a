"""Checkpoints and signed notes (C2SP tlog-checkpoint, signed-note), each refusal by its reason
and words, each bound at its value and one past (mutation run, docs/testing.md)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core import checkpoint, limits
from notary_core.checkpoint import Checkpoint, NoteSigner, NoteVerifier
from notary_core.errors import BadData, Reason

ROOT = bytes(range(32))
ROOT64 = base64.b64encode(ROOT).decode()
SIGNER = NoteSigner("log.example", ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)))
OTHER = NoteSigner("w.example", ed25519.Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32))


def _refused(reason: Reason, message: str, fn: object, *args: object) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (reason, message)


def test_a_body_reads_back_with_its_extensions() -> None:
    cp = Checkpoint("o", 5, ROOT, ("ext a", "b"))
    assert cp.body() == f"o\n5\n{ROOT64}\next a\nb\n".encode()
    assert Checkpoint.parse_body(cp.body()) == cp
    top = Checkpoint("o", limits.MAX_TREE_SIZE, ROOT)
    assert Checkpoint.parse_body(top.body()) == top
    assert Checkpoint.parse_body(f"o\n0\n{ROOT64}\n".encode()).size == 0


def test_each_bad_body_is_refused() -> None:
    p = Checkpoint.parse_body
    bc = Reason.BAD_CHECKPOINT
    _refused(bc, "checkpoint is not UTF-8", p, b"\xff\n0\nx\n")
    _refused(bc, "checkpoint body must end with a newline", p, f"o\n0\n{ROOT64}".encode())
    _refused(bc, "checkpoint needs origin, size and root", p, b"o\n0\n")
    for size in ("01", "-1", "+1", " 1", "1" * 20, "", "1.0"):
        _refused(bc, f"bad tree size {size!r}", p, f"o\n{size}\n{ROOT64}\n".encode())
    _refused(bc, f"tree size {2**63} out of range", p, f"o\n{2**63}\n{ROOT64}\n".encode())
    _refused(bc, "origin must be one non-empty line", p, f"\n0\n{ROOT64}\n".encode())
    _refused(bc, "origin must be one non-empty line", p, f"o\r\n0\n{ROOT64}\n".encode())
    short = base64.b64encode(ROOT[:31]).decode()
    _refused(Reason.BAD_HASH_LENGTH, "checkpoint root must be 32 bytes",
             p, f"o\n0\n{short}\n".encode())  # fmt: skip
    _refused(bc, "extension lines must be non-empty single lines",
             p, f"o\n0\n{ROOT64}\n\n".encode())  # fmt: skip
    _refused(bc, "root is not base64", p, b"o\n0\n!!!!\n")
    _refused(Reason.NON_CANONICAL, "root is not canonical base64",
             checkpoint.b64_canonical, "AB==", "root")  # fmt: skip
    assert checkpoint.b64_canonical("AA==", "root") == b"\x00"
    _refused(bc, "extension lines must be non-empty single lines",
             Checkpoint("o", 1, ROOT, ("a\nb",)).body)  # fmt: skip
    _refused(bc, "tree size -1 out of range", Checkpoint("o", -1, ROOT).body)
    _refused(bc, "origin must be one non-empty line", Checkpoint("a\rb", 1, ROOT).body)


def test_keys_and_their_names() -> None:
    v = SIGNER.verifier
    assert NoteVerifier.from_vkey(v.vkey) == v
    raw_public = base64.b64decode(v.vkey.split("+")[2])[1:]
    assert v.key_hash == checkpoint.note_key_id("log.example", 1, raw_public)
    assert len(v.key_hash) == 4
    for name in ("", "a b", "a+b", "a\tb"):
        _refused(Reason.BAD_KEY, f"key name {name!r} must be non-empty, no spaces or '+'",
                 checkpoint.check_key_name, name)  # fmt: skip
    name, hash_hex, key64 = v.vkey.split("+")
    _refused(Reason.BAD_KEY, "verifier key must be name+hash+key",
             NoteVerifier.from_vkey, f"{name}+{hash_hex}")  # fmt: skip
    _refused(Reason.BAD_KEY, "verifier key hash does not match its key",
             NoteVerifier.from_vkey, f"{name}+{'0' * 8}+{key64}")  # fmt: skip
    raw = base64.b64decode(key64)
    for bad in (bytes([2]) + raw[1:], raw[:-1], raw + b"\x00"):
        _refused(Reason.UNSUPPORTED_ALGORITHM, "only Ed25519 note keys are supported",
                 NoteVerifier.from_vkey,
                 f"{name}+{hash_hex}+{base64.b64encode(bad).decode()}")  # fmt: skip


def _note(*signers: NoteSigner, cp: Checkpoint | None = None) -> bytes:
    return checkpoint.sign_checkpoint(cp or Checkpoint("log.example", 3, ROOT), signers)


def test_a_signed_note_splits_into_body_and_lines() -> None:
    note = _note(SIGNER, OTHER)
    body, lines = checkpoint.split_note(note)
    assert body == Checkpoint("log.example", 3, ROOT).body()
    assert [n for n, _ in lines] == ["log.example", "w.example"]
    assert all(len(blob) == 68 for _, blob in lines)
    _refused(Reason.BAD_CHECKPOINT, "a signed note needs at least one signature",
             checkpoint.sign_checkpoint, Checkpoint("o", 1, ROOT), [])  # fmt: skip


def test_each_bad_note_is_refused() -> None:
    s = checkpoint.split_note
    bc = Reason.BAD_CHECKPOINT
    note = _note(SIGNER)
    body, sig = note.split(b"\n\n")
    _refused(bc, "signed note has no signature block", s, body + b"\n")
    _refused(bc, "a signed note carries no control characters", s, note.replace(b"3", b"\t"))
    _refused(bc, "signature block is not UTF-8", s, body + b"\n\n\xff\n")
    _refused(bc, "signature block must end with a newline", s, note[:-1])
    _refused(bc, "malformed signature line", s, body + b"\n\n- log.example AAAA\n")
    _refused(bc, "bad key name '' in a signature line", s, body + "\n\n\u2014  AAAA\n".encode())
    _refused(bc, "signature too short", s, body + "\n\n\u2014 k AAAAAA==\n".encode())
    _refused(bc, "signature is not base64", s, body + "\n\n\u2014 k AAAA!AAA\n".encode())
    assert s(body + "\n\n\u2014 k AAAAAAA=\n".encode())[1] == [("k", bytes(5))]
    line = sig.split(b"\n")[0] + b"\n"
    sixteen = body + b"\n\n" + line * limits.MAX_CHECKPOINT_SIGNATURES
    assert len(s(sixteen)[1]) == 16
    with pytest.raises(BadData) as e:
        s(sixteen + line)
    assert (e.value.reason, e.value.message) == (
        Reason.TOO_LARGE,
        "signature lines is 17, limit 16",
    )
    big = limits.MAX_CHECKPOINT_SIZE + 1
    with pytest.raises(BadData) as e:
        s(b"x" * big)
    assert e.value.message == f"signed note is {big}, limit {limits.MAX_CHECKPOINT_SIZE}"


def test_opening_a_note_needs_one_good_signature_by_a_known_key() -> None:
    v, w = SIGNER.verifier, OTHER.verifier
    cp = Checkpoint("log.example", 3, ROOT)
    assert checkpoint.open_checkpoint(_note(SIGNER, OTHER), [v]) == cp
    assert checkpoint.open_checkpoint(_note(OTHER, SIGNER), [v], "log.example") == cp
    assert checkpoint.open_note(_note(SIGNER, OTHER), [v, w]) == cp.body()
    _refused(Reason.UNKNOWN_KEY, "no signature by a known key",
             checkpoint.open_note, _note(OTHER), [v])  # fmt: skip
    _refused(Reason.ORIGIN_MISMATCH, "origin 'log.example', expected 'x'",
             checkpoint.open_checkpoint, _note(SIGNER), [v], "x")  # fmt: skip
    forged = _note(SIGNER, cp=Checkpoint("log.example", 4, ROOT))
    body4 = forged.split(b"\n\n")[0]
    swapped = Checkpoint("log.example", 3, ROOT).body() + b"\n" + forged[len(body4) + 2 :]
    _refused(Reason.BAD_SIGNATURE, "note signature by log.example does not verify",
             checkpoint.open_note, swapped, [w, v])  # fmt: skip
