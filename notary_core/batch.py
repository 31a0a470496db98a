"""Salted leaves, the records block, and the sealed batch on the wire (docs/protocol.md §Batch).

    salt_i = HMAC-SHA256(batch_salt_key, u64be(i))[:16]
    leaf_i = SHA-256(0x00 || salt_i || canonical(record_i))

The records block is the canonical records in order, each behind a u16 big-endian length.
A sealed batch is the CBOR array [1, signed_header, salt_key, records_block].
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from notary_core import cbor, cose, limits, merkle
from notary_core import records as rec
from notary_core.errors import BadData, Reason, too_large
from notary_core.header import BatchHeader, Counts, SignedHeader, item_key

SEALED_BATCH_VERSION = 1

_U64 = struct.Struct(">Q")
_U16 = struct.Struct(">H")


def salt(salt_key: bytes, index: int) -> bytes:
    """salt_i = HMAC-SHA256(batch_salt_key, u64be(i))[:16]."""
    return hmac.digest(salt_key, _U64.pack(index), "sha256")[: limits.SALT_SIZE]


def salted_leaf_hash(salt_i: bytes, record: bytes) -> bytes:
    """leaf_i = SHA-256(0x00 || salt_i || record): RFC 9162 leaf hash of salt || record."""
    return hashlib.sha256(b"\x00" + salt_i + record).digest()


def leaf_hashes(salt_key: bytes, records: Sequence[bytes]) -> list[bytes]:
    """Salted leaf hashes of a whole batch: the hot path of sealing and of ingest."""
    if len(salt_key) != limits.SALT_KEY_SIZE:
        raise BadData(Reason.MALFORMED, f"salt key must be {limits.SALT_KEY_SIZE} bytes")
    # HMAC (RFC 2104) spelled out over SHA-256 states keyed once: H((K^opad) || H((K^ipad) || m)).
    # Copying a C hash state is ~3x cheaper than hmac.HMAC.copy(); the bytes are identical
    # (tests/core/test_batch.py checks against the hmac module).
    block = salt_key.ljust(64, b"\x00")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block)).copy
    sha, pack, n = hashlib.sha256, _U64.pack, limits.SALT_SIZE
    out = []
    for i, record in enumerate(records):
        h = inner()
        h.update(pack(i))
        o = outer()
        o.update(h.digest())
        out.append(sha(b"\x00" + o.digest()[:n] + record).digest())
    return out


def merkle_root(salt_key: bytes, records: Sequence[bytes]) -> bytes:
    return merkle.root_from_leaf_hashes(leaf_hashes(salt_key, records))


def encode_records_block(records: Sequence[bytes]) -> bytes:
    if len(records) > limits.MAX_RECORDS_PER_BATCH:
        raise too_large("record count", len(records), limits.MAX_RECORDS_PER_BATCH)
    pack = _U16.pack
    parts = []
    for r in records:
        if len(r) > limits.MAX_RECORD_SIZE:
            raise too_large("record", len(r), limits.MAX_RECORD_SIZE)
        parts.append(pack(len(r)))
        parts.append(r)
    return b"".join(parts)


def iter_records_block(block: bytes) -> Iterator[bytes]:
    """Split a records block; raise BadData on truncation or an oversized entry."""
    pos, end, count = 0, len(block), 0
    while pos < end:
        if pos + 2 > end:
            raise BadData(Reason.MALFORMED, "records block truncated in a length prefix")
        (size,) = _U16.unpack_from(block, pos)
        if size == 0 or size > limits.MAX_RECORD_SIZE:
            raise BadData(Reason.MALFORMED, f"record length {size} at offset {pos}")
        pos += 2
        if pos + size > end:
            raise BadData(Reason.MALFORMED, "records block truncated inside a record")
        count += 1
        if count > limits.MAX_RECORDS_PER_BATCH:
            raise too_large("record count", count, limits.MAX_RECORDS_PER_BATCH)
        yield block[pos : pos + size]
        pos += size


def split_records_block(block: bytes) -> list[bytes]:
    return list(iter_records_block(block))


@dataclass(frozen=True)
class SealedBatch:
    """A batch as the agent spools and publishes it. Parsed, not yet verified."""

    signed: SignedHeader
    salt_key: bytes
    records_block: bytes

    def to_bytes(self) -> bytes:
        return cbor.dumps(
            [SEALED_BATCH_VERSION, self.signed.raw, self.salt_key, self.records_block]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedBatch:
        value = cbor.loads(data, limits.MAX_BATCH_PAYLOAD, "sealed batch")
        if not (isinstance(value, list) and len(value) == 4):
            raise BadData(Reason.MALFORMED, "sealed batch must be an array of 4")
        version, signed, salt_key, block = value
        if type(version) is not int or version != SEALED_BATCH_VERSION:  # not true, not 1.0
            raise BadData(Reason.UNSUPPORTED_VERSION, f"sealed batch version {version!r}")
        if not (isinstance(signed, bytes) and isinstance(salt_key, bytes)):
            raise BadData(Reason.MALFORMED, "sealed batch fields have the wrong types")
        if not isinstance(block, bytes) or len(salt_key) != limits.SALT_KEY_SIZE:
            raise BadData(Reason.MALFORMED, "bad salt key or records block")
        return cls(SignedHeader.parse(signed), salt_key, block)

    def verify(self, key: cose.PublicKey) -> list[bytes]:
        """Check signature, record count and Merkle root; return the records.

        Raises BadData with BAD_SIGNATURE, COUNT_MISMATCH or ROOT_MISMATCH.
        """
        header = self.signed.verify(key)
        records = split_records_block(self.records_block)
        if len(records) != header.record_count:
            raise BadData(
                Reason.COUNT_MISMATCH,
                f"header says {header.record_count} records, block holds {len(records)}",
            )
        calculated = merkle_root(self.salt_key, records)
        if calculated != header.merkle_root:
            raise BadData(
                Reason.ROOT_MISMATCH,
                "records and salts do not give the signed root",
                expected=header.merkle_root,
                calculated=calculated,
            )
        check_counts(header, records)
        return records


def item_counts(records: Sequence[bytes]) -> Counts:
    """§4.3 counts: stream -> item key -> how many of the records are of that item."""
    out: Counts = {}
    scan = rec.scan
    for r in records:
        stream, _seq, can_id, flags = scan(r)
        items = out.setdefault(stream, {})
        key = item_key(can_id, flags)
        items[key] = items.get(key, 0) + 1
    return out


def check_counts(header: BatchHeader, records: Sequence[bytes]) -> None:
    """A version-2 header's counts must be the records' own (COUNT_MISMATCH otherwise)."""
    if header.version >= 2 and header.counts != item_counts(records):
        raise BadData(Reason.COUNT_MISMATCH, "the header's per-item counts are not the records'")


def seal(
    template: BatchHeader, records: Sequence[bytes], salt_key: bytes, signer: cose.Signer
) -> SealedBatch:
    """Sign a batch: `template` gives every header field but record_count, merkle_root,
    key_id and (version 2) the per-item counts, computed here from the records, the salt
    key and the signer."""
    header = replace(
        template,
        record_count=len(records),
        merkle_root=merkle_root(salt_key, records),
        key_id=signer.kid,
        counts=item_counts(records) if template.version >= 2 else None,
    )
    signed = SignedHeader.sign(header, signer)
    return SealedBatch(signed, salt_key, encode_records_block(records))
