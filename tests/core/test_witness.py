"""Witness cosignatures (C2SP tlog-cosignature) and the tlog-witness bodies: the published
examples of the C2SP texts parse and verify with our code, ours round-trip, forgeries fail."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given
from hypothesis import strategies as st

from notary_core import checkpoint as c
from notary_core import merkle
from notary_core import witness as w
from notary_core.errors import BadData, Reason

DASH = "\u2014"
# c2sp.org/tlog-cosignature §Format: the checkpoint with a log signature and a cosignature.
SOFA_BODY = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SOFA_LOG = (
    f"{DASH} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URY"
    "N7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
SOFA_COSIG = (
    f"{DASH} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9"
    "dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
# c2sp.org/tlog-witness §add-checkpoint: the example request body and response body.
WITNESS_REQUEST = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n" + SOFA_BODY.decode() + "\n" + SOFA_LOG
    + f"{DASH} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum"
    "2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
).encode()  # fmt: skip
WITNESS_RESPONSE = (
    f"{DASH} witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39Q"
    "sZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n"
    f"{DASH} witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlb"
    "QNt64vWhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==\n"
    f"{DASH} witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZ"
    "grrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==\n"
).encode()
# c2sp.org/signed-note §Verifier keys: the example verifier key and the note it signed.
NOTE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
NOTE_EXAMPLE = (
    f"This is an example message.\n\n{DASH} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6T"
    "fXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()


def _witness(seed: int, name: str = "witness.example/w1") -> w.WitnessSigner:
    return w.WitnessSigner(name, ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def _note(size: int = 5) -> bytes:
    log = c.NoteSigner("log.example", ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)))
    return c.sign_checkpoint(c.Checkpoint("log.example/log", size, bytes(range(32))), [log])


def test_signed_note_spec_example_verifies() -> None:
    v = c.NoteVerifier.from_vkey(NOTE_VKEY)
    assert v.vkey == NOTE_VKEY
    assert c.open_note(NOTE_EXAMPLE, [v]) == b"This is an example message.\n"
    with pytest.raises(BadData) as err:
        c.open_note(NOTE_EXAMPLE.replace(b"example message", b"exemple message"), [v])
    assert err.value.reason is Reason.BAD_SIGNATURE


def test_cosignature_spec_example_frames_as_specified() -> None:
    """The spec publishes no key for its example: what can be checked is the framing (key
    ID, the big-endian timestamp its signed-message example shows, 64 signature bytes) and
    that our parser takes the note with the same rules, ignoring a witness it does not pin."""
    note = SOFA_BODY + b"\n" + SOFA_LOG.encode() + SOFA_COSIG.encode()
    body, lines = c.split_note(note)
    assert body == SOFA_BODY
    (log_name, _), (name, blob) = lines
    assert (log_name, name) == ("example.com/behind-the-sofa", "witness.example.com/w1")
    assert len(blob) == 76 and blob[:4].hex() == "8d66cf3f"
    assert struct.unpack(">Q", blob[4:12]) == (1679315147,)
    assert w.cosigned_message(SOFA_BODY, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    other = _witness(1, "witness.example.com/w1").verifier  # same name, another key ID
    assert w.cosignatures(note, [other]) == w.CosignatureReport((), ())


def test_witness_spec_request_and_response_examples_parse() -> None:
    req = w.AddCheckpoint.parse(WITNESS_REQUEST)
    assert req.old_size == 20852014 and len(req.proof) == 4
    assert req.proof[0] == base64.b64decode("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=")
    assert c.Checkpoint.parse_body(c.split_note(req.note)[0]).size == 20852163
    assert req.encode() == WITNESS_REQUEST
    lines = w.parse_cosignature_lines(WITNESS_RESPONSE)
    assert [x.split(" ")[1] for x in lines] == ["witness.example/w1"] * 2 + ["witness.example/w2"]
    assert all(len(c.split_note(b"x\n\n" + x.encode())[1][0][1]) == 76 for x in lines)


def test_cosign_verify_round_trip_and_vkey() -> None:
    signer = _witness(7)
    v = w.WitnessVerifier.from_vkey(signer.verifier.vkey)
    assert v.vkey == signer.verifier.vkey
    assert base64.b64decode(v.vkey.split("+")[2])[0] == 0x04
    note = _note()
    cosigned = w.add_signatures(note, [signer.cosign(c.split_note(note)[0], 1_700_000_000)])
    (got,) = w.require_quorum(cosigned, [v], 1)
    assert (got.name, got.timestamp) == ("witness.example/w1", 1_700_000_000)
    # The log's own signature still verifies on the cosigned note: cosignatures are ignored.
    log = c.NoteSigner("log.example", ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)))
    assert c.open_checkpoint(cosigned, [log.verifier]).size == 5
    # A cosignature line is not a log signature: type 0x04 gives another key ID than 0x01.
    assert v.key_id != c.NoteVerifier.from_public(v.name, v.public).key_hash


def test_quorum_counts_distinct_pinned_witnesses() -> None:
    note = _note()
    body = c.split_note(note)[0]
    w1, w2, w3 = _witness(1), _witness(2, "witness.example/w2"), _witness(3, "w.example/w3")
    pinned = [w1.verifier, w2.verifier, w3.verifier]
    both = w.add_signatures(note, [w1.cosign(body, 10), w2.cosign(body, 11), w1.cosign(body, 12)])
    assert [x.name for x in w.require_quorum(both, pinned, 2)] == [w1.name, w2.name]
    with pytest.raises(BadData) as err:
        w.require_quorum(both, pinned, 3)
    assert err.value.reason is Reason.QUORUM_NOT_MET
    unpinned = w.add_signatures(note, [_witness(9, "witness.example/w9").cosign(body, 1)])
    assert w.cosignatures(unpinned, pinned).valid == ()


def test_forgeries_are_named() -> None:
    note = _note()
    body = c.split_note(note)[0]
    signer = _witness(1)
    line = signer.cosign(body, 1000)
    _, ((_, blob),) = c.split_note(b"x\n\n" + line.encode())
    cases = {
        "other-timestamp": blob[:4] + struct.pack(">Q", 1001) + blob[12:],
        "flipped-signature-bit": blob[:-1] + bytes([blob[-1] ^ 1]),
    }
    for name, forged in cases.items():
        text = f"{DASH} {signer.name} {base64.b64encode(forged).decode()}\n"
        report = w.cosignatures(w.add_signatures(note, [text]), [signer.verifier])
        assert report.valid == () and report.invalid == (signer.name,), name
        with pytest.raises(BadData) as err:
            w.require_quorum(w.add_signatures(note, [text]), [signer.verifier], 1)
        assert err.value.reason is Reason.BAD_SIGNATURE, name
    moved = w.add_signatures(_note(6), [line])  # a cosignature of another checkpoint
    assert w.cosignatures(moved, [signer.verifier]).invalid == (signer.name,)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"old 01\n\nx", Reason.MALFORMED),
        (b"old 1", Reason.MALFORMED),
        (b"new 1\n\nx", Reason.MALFORMED),
        (b"old 0\n" + base64.b64encode(bytes(32)) + b"\n\nx", Reason.BAD_PROOF),
        (b"old 3\n" + base64.b64encode(bytes(31)) + b"\n\nx", Reason.BAD_HASH_LENGTH),
        (b"old 3\n" + b"".join([base64.b64encode(bytes(32)) + b"\n"] * 64) + b"\nx",
         Reason.TOO_LARGE),
        (b"old 3\n" + b"A" * 20_000, Reason.TOO_LARGE),
        (b"old 3\nnot base64!\n\nx", Reason.BAD_CHECKPOINT),
    ],
)  # fmt: skip
def test_malformed_requests_are_refused(body: bytes, reason: Reason) -> None:
    with pytest.raises(BadData) as err:
        w.AddCheckpoint.parse(body)
    assert err.value.reason is reason


def test_bad_keys_and_answers() -> None:
    good = _witness(1).verifier.vkey
    log_key = c.NoteVerifier.from_public("n", _witness(1).key.public_key()).vkey
    for vkey, reason in ((log_key, Reason.UNSUPPORTED_ALGORITHM),
                         ("+".join([*good.split("+")[:1], "00000000", good.split("+")[2]]),
                          Reason.BAD_KEY),
                         ("name+only", Reason.BAD_KEY)):  # fmt: skip
        with pytest.raises(BadData) as err:
            w.WitnessVerifier.from_vkey(vkey)
        assert err.value.reason is reason, vkey
    for answer in (b"", b"no dash\n", "\u2014 a b\r\n".encode(), b"\xff\n"):
        with pytest.raises(BadData):
            w.parse_cosignature_lines(answer)
    assert w.parse_size(w.encode_size(12)) == 12
    for answer in (b"12", b"012\n", b"-1\n", b"1 2\n"):
        with pytest.raises(BadData):
            w.parse_size(answer)
    with pytest.raises(BadData):
        w.cosigned_message(b"x\n", 2**63)


@given(
    old=st.integers(0, 2**63 - 1),
    proof=st.lists(st.binary(min_size=32, max_size=32), max_size=63),
)
def test_request_round_trip(old: int, proof: list[bytes]) -> None:
    req = w.AddCheckpoint(old, tuple(proof) if old else (), _note())
    assert w.AddCheckpoint.parse(req.encode()) == req


def test_a_request_carries_a_real_consistency_proof() -> None:
    tree = merkle.MerkleTree([merkle.hash_leaf(bytes([i])) for i in range(13)])
    req = w.AddCheckpoint.parse(
        w.AddCheckpoint(5, tuple(tree.consistency_proof(5)), _note()).encode()
    )
    merkle.verify_consistency(5, 13, tree.subtree_root(0, 5), tree.root, req.proof)
