"""Signed checkpoints (C2SP signed note), including the Go note package's published example."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core import checkpoint as c
from notary_core.errors import BadData, Reason

ORIGIN = "collector.example/vnotary/log"


def _signer(seed: int) -> c.NoteSigner:
    return c.NoteSigner(ORIGIN, ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def test_go_note_package_example_verifies() -> None:
    """golang.org/x/mod/sumdb/note ExampleOpen: an independent implementation's note."""
    v = c.NoteVerifier.from_vkey(
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    )
    text = (
        "If you think cryptography is the answer to your problem,\n"
        "then you don't know what your problem is.\n"
    )
    sig = (
        "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
        "gKvqfqdngotpRZb6KE6RyyBwJnAM="
    )
    note = f"{text}\n\u2014 PeterNeumann {sig}\n".encode()
    assert c.open_note(note, [v]) == text.encode()
    with pytest.raises(BadData) as err:
        c.open_note(note.replace(b"answer", b"Answer"), [v])
    assert err.value.reason is Reason.BAD_SIGNATURE


def test_sign_open_round_trip_with_extensions_and_witnesses() -> None:
    cp = c.Checkpoint(ORIGIN, 12345, bytes(range(32)), ("anchor 1",))
    s, witness = _signer(1), c.NoteSigner("witness.example", ed25519.Ed25519PrivateKey.generate())
    note = c.sign_checkpoint(cp, [s, witness])
    verifier = c.NoteVerifier.from_vkey(s.verifier.vkey)
    assert c.open_checkpoint(note, [verifier], origin=ORIGIN) == cp
    assert note.startswith(f"{ORIGIN}\n12345\n".encode())


def _signed_raw(body: bytes, s: c.NoteSigner) -> bytes:
    return body + b"\n" + s.signature_line(body).encode()


def test_rejections() -> None:
    cp = c.Checkpoint(ORIGIN, 3, bytes(32))
    s = _signer(1)
    note = c.sign_checkpoint(cp, [s])
    v = s.verifier
    cases = {
        "size-changed": (note.replace(b"\n3\n", b"\n4\n", 1), Reason.BAD_SIGNATURE),
        "unknown-key": (c.sign_checkpoint(cp, [_signer(2)]), Reason.UNKNOWN_KEY),
        "no-signatures": (cp.body(), Reason.BAD_CHECKPOINT),
        "size-leading-zero": (
            _signed_raw(cp.body().replace(b"\n3\n", b"\n03\n"), s),
            Reason.BAD_CHECKPOINT,
        ),
        "root-not-base64": (_signed_raw(f"{ORIGIN}\n3\n!!!\n".encode(), s), Reason.BAD_CHECKPOINT),
        "oversized": (note + b"x" * 9000, Reason.TOO_LARGE),
    }
    for name, (bad, reason) in cases.items():
        with pytest.raises(BadData) as err:
            c.open_checkpoint(bad, [v])
        assert err.value.reason is reason, name
    with pytest.raises(BadData) as err:
        c.open_checkpoint(note, [v], origin="other.example/log")
    assert err.value.reason is Reason.ORIGIN_MISMATCH
    with pytest.raises(BadData):
        c.NoteVerifier.from_vkey(v.vkey.replace(v.key_hash.hex(), "00000000"))
    with pytest.raises(BadData):
        c.Checkpoint(ORIGIN, 3, bytes(31)).body()
