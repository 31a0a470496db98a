"""Edges of the witness wire formats the main witness tests do not pin (mutation testing)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core import limits
from notary_core import witness as w
from notary_core.errors import BadData, Reason

H = bytes(range(32))
LINE = base64.b64encode(H)
NOTE = b"origin\n1\nAAAA\n\n\xe2\x80\x94 k sig\n"


def refused(fn, body: bytes) -> BadData:
    with pytest.raises(BadData) as e:
        fn(body)
    return e.value


def test_add_checkpoint_round_trip_keeps_every_field() -> None:
    req = w.AddCheckpoint(5, (H, H[::-1]), NOTE)
    got = w.AddCheckpoint.parse(req.encode())
    assert got == req
    assert got.old_size == 5 and got.proof == (H, H[::-1]) and got.note == NOTE


def test_add_checkpoint_note_is_everything_after_the_first_blank_line() -> None:
    got = w.AddCheckpoint.parse(b"old 0\n\n" + b"a\n\nb")
    assert got == w.AddCheckpoint(0, (), b"a\n\nb")


def test_add_checkpoint_body_at_the_limit_is_read_one_more_byte_is_refused() -> None:
    head = b"old 0\n\n"
    at = head + b"x" * (limits.MAX_WITNESS_REQUEST - len(head))
    assert w.AddCheckpoint.parse(at).note == at[len(head) :]
    e = refused(w.AddCheckpoint.parse, at + b"x")
    assert e.reason == Reason.TOO_LARGE
    assert e.message == (
        f"add-checkpoint body is {limits.MAX_WITNESS_REQUEST + 1}, "
        f"limit {limits.MAX_WITNESS_REQUEST}"
    )


@pytest.mark.parametrize(
    ("body", "reason", "message"),
    [
        (b"old 0\n", Reason.MALFORMED, "add-checkpoint: no blank line before the checkpoint"),
        (b"old \xff\n\nn", Reason.MALFORMED, "add-checkpoint: the size and proof are ASCII"),
        (b"0\n\nn", Reason.MALFORMED, "add-checkpoint: the first line is `old <size>`"),
        (b"old 01\n\nn", Reason.MALFORMED, "add-checkpoint: the first line is `old <size>`"),
        (b"old  1\n\nn", Reason.MALFORMED, "add-checkpoint: the first line is `old <size>`"),
        (b"Old 1\n\nn", Reason.MALFORMED, "add-checkpoint: the first line is `old <size>`"),
        (
            b"old 1\n" + LINE[:-4] + b"\n\nn",
            Reason.BAD_HASH_LENGTH,
            "a proof line is not a 32-byte hash",
        ),
        (b"old 1\n" + LINE[:-1] + b"\n\nn", Reason.BAD_CHECKPOINT, "proof line is not base64"),
        (
            b"old 1\n" + LINE[:-2] + b"9=\n\nn",
            Reason.NON_CANONICAL,
            "proof line is not canonical base64",
        ),
        (
            b"old 9223372036854775808\n\nn",
            Reason.BAD_TREE_SIZE,
            "old size 9223372036854775808 out of range",
        ),
        (
            b"old 0\n" + LINE + b"\n\nn",
            Reason.BAD_PROOF,
            "the proof must be empty when the old size is 0",
        ),
    ],
)
def test_add_checkpoint_refusals(body: bytes, reason: Reason, message: str) -> None:
    e = refused(w.AddCheckpoint.parse, body)
    assert (e.reason, e.message) == (reason, message)


def test_add_checkpoint_largest_size_and_longest_proof_are_read() -> None:
    top = w.AddCheckpoint.parse(b"old 9223372036854775807\n\nn")
    assert top.old_size == limits.MAX_TREE_SIZE
    proof = (H,) * limits.MAX_WITNESS_PROOF_LINES
    assert w.AddCheckpoint.parse(w.AddCheckpoint(7, proof, b"n").encode()).proof == proof
    e = refused(w.AddCheckpoint.parse, w.AddCheckpoint(7, (*proof, H), b"n").encode())
    assert e.reason == Reason.TOO_LARGE
    assert e.message == "consistency proof lines is 64, limit 63"


def test_parse_size_reads_a_decimal_and_a_newline() -> None:
    assert w.parse_size(b"0\n") == 0
    assert w.parse_size(b"9223372036854775807\n") == limits.MAX_TREE_SIZE
    assert w.parse_size(w.encode_size(42)) == 42


@pytest.mark.parametrize(
    "body", [b"", b"\n", b"5", b"05\n", b"5\n\n", b" 5\n", b"\xff5\n", b"5\r\n"]
)
def test_parse_size_refusals(body: bytes) -> None:
    e = refused(w.parse_size, body)
    assert (e.reason, e.message) == (Reason.MALFORMED, "a size answer is a decimal and a newline")


LINES_MSG = "a cosignature answer is `\u2014 <name> <base64>` lines"


def test_cosignature_lines_are_split_keeping_newlines() -> None:
    body = "\u2014 a AAAA\n\u2014 b BBBB\n".encode()
    assert w.parse_cosignature_lines(body) == ["\u2014 a AAAA\n", "\u2014 b BBBB\n"]


def test_cosignature_lines_count_limit() -> None:
    one = "\u2014 a AAAA\n".encode()
    n = limits.MAX_CHECKPOINT_SIGNATURES
    assert len(w.parse_cosignature_lines(one * n)) == n
    e = refused(w.parse_cosignature_lines, one * (n + 1))
    assert (e.reason, e.message) == (Reason.MALFORMED, LINES_MSG)


def test_cosignature_body_size_limit() -> None:
    pad = "\u2014 a " + "A" * (limits.MAX_CHECKPOINT_SIZE - 7) + "\n"
    body = pad.encode()
    assert len(body) == limits.MAX_CHECKPOINT_SIZE
    assert w.parse_cosignature_lines(body) == [pad]
    e = refused(w.parse_cosignature_lines, pad[:-1].encode() + b"A\n")
    assert (e.reason, e.message) == (Reason.MALFORMED, "a cosignature answer is signature lines")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "a cosignature answer is signature lines"),
        ("\u2014 a AAAA".encode(), "a cosignature answer is signature lines"),
        (b"\xff\n", "a cosignature answer is UTF-8"),
        (b"- a AAAA\n", LINES_MSG),
        ("\u2014a AAAA\n".encode(), LINES_MSG),
        ("\u2014 a AAAA\r\n".encode(), LINES_MSG),
        ("\u2014 a AAAA\n\u2014 b\rB\n".encode(), LINES_MSG),
        ("\u2014 a AAAA\nx\n".encode(), LINES_MSG),
    ],
)
def test_cosignature_refusals(body: bytes, message: str) -> None:
    e = refused(w.parse_cosignature_lines, body)
    assert (e.reason, e.message) == (Reason.MALFORMED, message)


def test_add_signatures_adds_each_line_once() -> None:
    """A signature line the note already holds, its first included, is not added again
    (`add_signatures`, mutation run of 2026-12-03)."""
    signer = w.WitnessSigner(
        "witness.example/w1", ed25519.Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
    )
    body = b"origin\n1\n" + LINE + b"\n"
    line = signer.cosign(body, 1_700_000_000)
    note = body + b"\n" + line.encode()
    assert w.add_signatures(note, [line]) == note
    assert w.add_signatures(note, [line, line]) == note
    other = w.WitnessSigner(
        "witness.example/w2", ed25519.Ed25519PrivateKey.from_private_bytes(bytes([8]) * 32)
    ).cosign(body, 1_700_000_001)
    assert w.add_signatures(note, [other, line, other]) == note + other.encode()
