"""Witness cosignatures and the witness protocol's bodies (docs/protocol.md §7.2). Pure.

C2SP tlog-cosignature, Ed25519 type (a note signature on a checkpoint, by a witness):

    signed message = "cosignature/v1\\n" "time <t>\\n" || checkpoint body (with its final \\n)
    signature line = "— <name> " base64(key ID (4) || u64be(t) || Ed25519 signature (64))
    key ID         = SHA-256(name || 0x0A || 0x04 || 32-byte public key)[:4]
    verifier key   = "<name>+<key ID, 8 hex>+<base64(0x04 || public key)>"

A cosignature says: as of time t, the largest consistent tree the witness has seen for the
log of this origin has this root. A verifier pins witness keys and a quorum k; k distinct
pinned witnesses cosigning one checkpoint is what rules out a split view.

C2SP tlog-witness `add-checkpoint` request body: "old <size>\\n", up to 63 consistency proof
lines (base64 hashes), a blank line, then the signed checkpoint. The answer to a success is
one or more cosignature lines; to a stale old size (409), the witness's size and a newline.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core import limits
from notary_core.checkpoint import b64_canonical, check_key_name, note_key_id, split_note
from notary_core.errors import BadData, Reason, too_large

COSIGNATURE_TYPE = 0x04  # signed-note §Signature types: timestamped Ed25519 cosignatures
COSIGNATURE_HEADER = b"cosignature/v1\n"
SIZE_CONTENT_TYPE = "text/x.tlog.size"  # tlog-witness: the 409 answer's media type
_DASH = "\u2014 "
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,18}")


def cosigned_message(body: bytes, timestamp: int) -> bytes:
    """tlog-cosignature §Ed25519 signed message: header line, time line, checkpoint body."""
    if not 0 <= timestamp <= limits.MAX_COSIGNATURE_TIMESTAMP:
        raise BadData(Reason.BAD_CHECKPOINT, f"cosignature timestamp {timestamp} out of range")
    return COSIGNATURE_HEADER + b"time %d\n" % timestamp + body


def _raw(public: ed25519.Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class WitnessVerifier:
    """A pinned witness: its name, key ID and Ed25519 public key."""

    name: str
    key_id: bytes
    public: ed25519.Ed25519PublicKey

    @classmethod
    def from_public(cls, name: str, public: ed25519.Ed25519PublicKey) -> WitnessVerifier:
        check_key_name(name)
        return cls(name, note_key_id(name, COSIGNATURE_TYPE, _raw(public)), public)

    @classmethod
    def from_vkey(cls, vkey: str) -> WitnessVerifier:
        """Parse `<name>+<key ID hex>+<base64(0x04 || key)>`; the key ID must match."""
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise BadData(Reason.BAD_KEY, "a witness key is name+keyid+key")
        name, id_hex, key_b64 = parts
        check_key_name(name)
        raw = b64_canonical(key_b64, "witness key")
        if len(raw) != 33 or raw[0] != COSIGNATURE_TYPE:
            raise BadData(Reason.UNSUPPORTED_ALGORITHM, "a witness key is type 0x04, Ed25519")
        verifier = cls.from_public(name, ed25519.Ed25519PublicKey.from_public_bytes(raw[1:]))
        if verifier.key_id.hex() != id_hex:
            raise BadData(Reason.BAD_KEY, "the witness key ID does not match its key")
        return verifier

    @property
    def vkey(self) -> str:
        b64 = base64.b64encode(bytes([COSIGNATURE_TYPE]) + _raw(self.public)).decode()
        return f"{self.name}+{self.key_id.hex()}+{b64}"

    def verify(self, body: bytes, blob: bytes) -> int:
        """Check a cosignature blob (key ID || timestamp || signature) on a checkpoint body;
        return its timestamp."""
        if len(blob) != 4 + 8 + 64 or blob[:4] != self.key_id:
            raise BadData(Reason.BAD_SIGNATURE, f"not a cosignature by {self.name}")
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        try:
            self.public.verify(blob[12:], cosigned_message(body, timestamp))
        except InvalidSignature:
            raise BadData(
                Reason.BAD_SIGNATURE, f"the cosignature by {self.name} does not verify"
            ) from None
        return int(timestamp)


@dataclass(frozen=True)
class WitnessSigner:
    name: str
    key: ed25519.Ed25519PrivateKey

    @property
    def verifier(self) -> WitnessVerifier:
        return WitnessVerifier.from_public(self.name, self.key.public_key())

    def cosign(self, body: bytes, timestamp: int) -> str:
        """The cosignature line (with its newline) on a checkpoint body at `timestamp` (s)."""
        sig = self.key.sign(cosigned_message(body, timestamp))
        blob = self.verifier.key_id + struct.pack(">Q", timestamp) + sig
        return f"{_DASH}{self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True, slots=True)
class Cosigned:
    """A verified cosignature: which pinned witness, when, and its line."""

    name: str
    timestamp: int
    line: str


@dataclass(frozen=True, slots=True)
class CosignatureReport:
    valid: tuple[Cosigned, ...]  # one per distinct pinned witness key
    invalid: tuple[str, ...]  # pinned witnesses whose cosignature line does not verify


def cosignatures(note: bytes, witnesses: Iterable[WitnessVerifier]) -> CosignatureReport:
    """Every cosignature of a signed note by a pinned witness, verified on the note's body.

    Lines by unknown keys are ignored (signed-note: a name and a key ID must both match);
    a matching line that does not verify is reported, never counted.
    """
    body, lines = split_note(note)
    known = {(w.name, w.key_id): w for w in witnesses}
    valid: dict[bytes, Cosigned] = {}
    invalid: list[str] = []
    for name, blob in lines:
        w = known.get((name, blob[:4]))
        if w is None:
            continue
        try:
            t = w.verify(body, blob)
        except BadData:
            invalid.append(name)
            continue
        line = f"{_DASH}{name} {base64.b64encode(blob).decode()}\n"
        valid.setdefault(_raw(w.public), Cosigned(name, t, line))
    return CosignatureReport(tuple(valid.values()), tuple(invalid))


def require_quorum(
    note: bytes, witnesses: Sequence[WitnessVerifier], quorum: int
) -> tuple[Cosigned, ...]:
    """The cosignatures of at least `quorum` distinct pinned witnesses, or BadData:
    BAD_SIGNATURE for a forged cosignature by a pinned key, QUORUM_NOT_MET for too few."""
    report = cosignatures(note, witnesses)
    if report.invalid:
        raise BadData(Reason.BAD_SIGNATURE, f"forged cosignature by {', '.join(report.invalid)}")
    if len(report.valid) < quorum:
        names = ", ".join(c.name for c in report.valid) or "none"
        raise BadData(
            Reason.QUORUM_NOT_MET,
            f"{len(report.valid)} of the {quorum} pinned witnesses required cosigned ({names})",
        )
    return report.valid


def add_signatures(note: bytes, lines: Iterable[str]) -> bytes:
    """The note with further signature lines appended (each once), checked as a note."""
    text = note.decode("utf-8")
    have = set(text[text.rfind("\n\n") + 2 :].splitlines(keepends=True))
    extra = [line for line in dict.fromkeys(lines) if line not in have]
    out = note + "".join(extra).encode("utf-8")
    split_note(out)  # the result obeys the signed-note rules and limits
    return out


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """A tlog-witness add-checkpoint request: old size, consistency proof, signed note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes

    def encode(self) -> bytes:
        proof = "".join(base64.b64encode(p).decode() + "\n" for p in self.proof)
        return f"old {self.old_size}\n{proof}\n".encode() + self.note

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint:
        if len(body) > limits.MAX_WITNESS_REQUEST:
            raise too_large("add-checkpoint body", len(body), limits.MAX_WITNESS_REQUEST)
        head, sep, note = body.partition(b"\n\n")
        if not sep:
            raise BadData(Reason.MALFORMED, "add-checkpoint: no blank line before the checkpoint")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError:
            raise BadData(
                Reason.MALFORMED, "add-checkpoint: the size and proof are ASCII"
            ) from None
        old = lines[0].removeprefix("old ")
        if lines[0] == old or not _SIZE_RE.fullmatch(old):
            raise BadData(Reason.MALFORMED, "add-checkpoint: the first line is `old <size>`")
        if len(lines) - 1 > limits.MAX_WITNESS_PROOF_LINES:
            raise too_large("consistency proof lines", len(lines) - 1, 63)
        proof = tuple(b64_canonical(x, "proof line") for x in lines[1:])
        if any(len(p) != limits.HASH_SIZE for p in proof):
            raise BadData(Reason.BAD_HASH_LENGTH, "a proof line is not a 32-byte hash")
        if int(old) > limits.MAX_TREE_SIZE:
            raise BadData(Reason.BAD_TREE_SIZE, f"old size {old} out of range")
        if int(old) == 0 and proof:
            raise BadData(Reason.BAD_PROOF, "the proof must be empty when the old size is 0")
        return cls(int(old), proof, note)


def parse_cosignature_lines(body: bytes) -> list[str]:
    """A witness's 200 answer: one or more note signature lines, each ending in a newline."""
    if not body or len(body) > limits.MAX_CHECKPOINT_SIZE or not body.endswith(b"\n"):
        raise BadData(Reason.MALFORMED, "a cosignature answer is signature lines")
    try:
        lines = body.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        raise BadData(Reason.MALFORMED, "a cosignature answer is UTF-8") from None
    if len(lines) > limits.MAX_CHECKPOINT_SIGNATURES or not all(
        x.startswith(_DASH) and x.endswith("\n") and "\r" not in x for x in lines
    ):
        raise BadData(Reason.MALFORMED, "a cosignature answer is `— <name> <base64>` lines")
    return lines


def encode_size(size: int) -> bytes:
    return b"%d\n" % size


def parse_size(body: bytes) -> int:
    """A witness's 409 answer (text/x.tlog.size): its latest cosigned size and a newline."""
    text = body.decode("ascii", "replace")
    if not text.endswith("\n") or not _SIZE_RE.fullmatch(text[:-1]):
        raise BadData(Reason.MALFORMED, "a size answer is a decimal and a newline")
    return int(text[:-1])
