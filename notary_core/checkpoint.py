"""Signed checkpoints: C2SP tlog-checkpoint carried in a C2SP signed note (Ed25519).

    <origin>\\n<tree size, decimal>\\n<root, base64>\\n[<extension line>\\n ...]
    \\n
    — <key name> <base64(key hash (4 bytes) || Ed25519 signature (64 bytes))>\\n

key hash = SHA-256(key name || 0x0A || 0x01 || public key)[:4]   (signed-note, type 0x01)
verifier key = "<name>+<key hash, 8 hex>+<base64(0x01 || public key)>"
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core import limits
from notary_core.errors import BadData, Reason, too_large

ED25519_TYPE = 0x01
_SIG_PREFIX = "\u2014 "  # em dash and a space
_NAME_RE = re.compile(r"[^\s+]+")
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> bytes:
        _check_body_fields(self)
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    @classmethod
    def parse_body(cls, body: bytes) -> Checkpoint:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadData(Reason.BAD_CHECKPOINT, "checkpoint is not UTF-8") from None
        if not text.endswith("\n"):
            raise BadData(Reason.BAD_CHECKPOINT, "checkpoint body must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise BadData(Reason.BAD_CHECKPOINT, "checkpoint needs origin, size and root")
        origin, size_text, root_text, *extensions = lines
        if not _SIZE_RE.fullmatch(size_text):
            raise BadData(Reason.BAD_CHECKPOINT, f"bad tree size {size_text!r}")
        root = b64_canonical(root_text, "root")
        cp = cls(origin, int(size_text), root, tuple(extensions))
        _check_body_fields(cp)
        return cp


def _check_body_fields(cp: Checkpoint) -> None:
    if not cp.origin or any(c in cp.origin for c in "\n\r"):
        raise BadData(Reason.BAD_CHECKPOINT, "origin must be one non-empty line")
    if not 0 <= cp.size <= limits.MAX_TREE_SIZE:
        raise BadData(Reason.BAD_CHECKPOINT, f"tree size {cp.size} out of range")
    if len(cp.root) != limits.HASH_SIZE:
        raise BadData(Reason.BAD_HASH_LENGTH, "checkpoint root must be 32 bytes")
    if any(not e or "\n" in e for e in cp.extensions):
        raise BadData(Reason.BAD_CHECKPOINT, "extension lines must be non-empty single lines")


def b64_canonical(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 §4), in its one canonical form."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadData(Reason.BAD_CHECKPOINT, f"{what} is not base64") from None
    if base64.b64encode(raw).decode() != text:
        raise BadData(Reason.NON_CANONICAL, f"{what} is not canonical base64")
    return raw


def note_key_id(name: str, sig_type: int, public: bytes) -> bytes:
    """signed-note §Signatures: SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


def _key_hash(name: str, public: bytes) -> bytes:
    return note_key_id(name, ED25519_TYPE, public)


def check_key_name(name: str) -> None:
    """signed-note: key names are non-empty, without Unicode spaces or '+'."""
    if not _NAME_RE.fullmatch(name):
        raise BadData(Reason.BAD_KEY, f"key name {name!r} must be non-empty, no spaces or '+'")


@dataclass(frozen=True)
class NoteVerifier:
    name: str
    key_hash: bytes
    public: ed25519.Ed25519PublicKey

    @classmethod
    def from_public(cls, name: str, public: ed25519.Ed25519PublicKey) -> NoteVerifier:
        check_key_name(name)
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cls(name, _key_hash(name, raw), public)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse `<name>+<hash hex>+<base64(0x01 || key)>` and check the hash matches."""
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise BadData(Reason.BAD_KEY, "verifier key must be name+hash+key")
        name, hash_hex, key_b64 = parts
        check_key_name(name)
        raw = b64_canonical(key_b64, "verifier key")
        if len(raw) != 33 or raw[0] != ED25519_TYPE:
            raise BadData(Reason.UNSUPPORTED_ALGORITHM, "only Ed25519 note keys are supported")
        public = ed25519.Ed25519PublicKey.from_public_bytes(raw[1:])
        verifier = cls.from_public(name, public)
        if verifier.key_hash.hex() != hash_hex:
            raise BadData(Reason.BAD_KEY, "verifier key hash does not match its key")
        return verifier

    @property
    def vkey(self) -> str:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        b64 = base64.b64encode(bytes([ED25519_TYPE]) + raw).decode()
        return f"{self.name}+{self.key_hash.hex()}+{b64}"


@dataclass(frozen=True)
class NoteSigner:
    name: str
    key: ed25519.Ed25519PrivateKey

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier.from_public(self.name, self.key.public_key())

    def signature_line(self, body: bytes) -> str:
        sig = self.key.sign(body)
        blob = base64.b64encode(self.verifier.key_hash + sig).decode()
        return f"{_SIG_PREFIX}{self.name} {blob}\n"


def sign_checkpoint(cp: Checkpoint, signers: Iterable[NoteSigner]) -> bytes:
    """The signed note: body, a blank line, one signature line per signer."""
    body = cp.body()
    lines = [s.signature_line(body) for s in signers]
    if not lines:
        raise BadData(Reason.BAD_CHECKPOINT, "a signed note needs at least one signature")
    return body + b"\n" + "".join(lines).encode("utf-8")


def split_note(note: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Split a C2SP signed note into its text and its signature lines [(key name, blob)].

    signed-note §Format: UTF-8 without control characters other than newline; the text ends
    in a newline and is separated from the signature lines by the last blank line; each line
    is an em dash, a space, the key name, a space and base64(key ID (4) || signature).
    Nothing is verified here: see `open_note` and `notary_core.witness`.
    """
    if len(note) > limits.MAX_CHECKPOINT_SIZE:
        raise too_large("signed note", len(note), limits.MAX_CHECKPOINT_SIZE)
    split = note.rfind(b"\n\n")
    if split < 0:
        raise BadData(Reason.BAD_CHECKPOINT, "signed note has no signature block")
    if any(b < 0x20 and b != 0x0A for b in note):
        raise BadData(Reason.BAD_CHECKPOINT, "a signed note carries no control characters")
    body, sig_block = note[: split + 1], note[split + 2 :]
    try:
        sig_text = sig_block.decode("utf-8")
    except UnicodeDecodeError:
        raise BadData(Reason.BAD_CHECKPOINT, "signature block is not UTF-8") from None
    if not sig_text.endswith("\n"):
        raise BadData(Reason.BAD_CHECKPOINT, "signature block must end with a newline")
    lines = sig_text[:-1].split("\n")
    if len(lines) > limits.MAX_CHECKPOINT_SIGNATURES:
        raise too_large("signature lines", len(lines), limits.MAX_CHECKPOINT_SIGNATURES)
    out: list[tuple[str, bytes]] = []
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise BadData(Reason.BAD_CHECKPOINT, "malformed signature line")
        name, _, blob_text = line[len(_SIG_PREFIX) :].partition(" ")
        if not _NAME_RE.fullmatch(name):
            raise BadData(Reason.BAD_CHECKPOINT, f"bad key name {name!r} in a signature line")
        blob = b64_canonical(blob_text, "signature")
        if len(blob) < 5:
            raise BadData(Reason.BAD_CHECKPOINT, "signature too short")
        out.append((name, blob))
    return body, out


def open_note(note: bytes, verifiers: Iterable[NoteVerifier]) -> bytes:
    """Verify a C2SP signed note against known keys; return its text (body).

    At least one known key must have signed; a signature by a known key that does not
    verify is an error; signatures by unknown keys are ignored (they may be witnesses).
    """
    body, lines = split_note(note)
    known = {(v.name, v.key_hash): v for v in verifiers}
    verified = 0
    for name, blob in lines:
        verifier = known.get((name, blob[:4]))
        if verifier is None:
            continue
        try:
            verifier.public.verify(blob[4:], body)
        except InvalidSignature:
            raise BadData(
                Reason.BAD_SIGNATURE, f"note signature by {name} does not verify"
            ) from None
        verified += 1
    if not verified:
        raise BadData(Reason.UNKNOWN_KEY, "no signature by a known key")
    return body


def open_checkpoint(
    note: bytes, verifiers: Iterable[NoteVerifier], origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint against known keys and return it (see `open_note`)."""
    cp = Checkpoint.parse_body(open_note(note, verifiers))
    if origin is not None and cp.origin != origin:
        raise BadData(Reason.ORIGIN_MISMATCH, f"origin {cp.origin!r}, expected {origin!r}")
    return cp
