"""The collector's signed receipt for a batch (docs/protocol.md §Receipt).

Only a valid receipt releases a batch from the agent's spool. It is a COSE_Sign1 by the
collector key over the deterministic CBOR map:

    1: version (1)   2: device_id   3: batch_seq   4: header_hash (32)
    5: status        6: received_utc_ns            7: log_index (entry in the transparency log)
    8: (version 2) beacon: a recent block of the anchoring chain, or null (§6.1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from notary_core import cbor, cose, limits
from notary_core.errors import BadData, Reason
from notary_core.header import Beacon

RECEIPT_VERSION = 2
RECEIPT_VERSIONS = (1, 2)
RECEIPT_CONTENT_TYPE = "application/vnd.vnotary.receipt+cbor; v=1"
MAX_RECEIPT_SIZE = 1024


class ReceiptStatus(IntEnum):
    STORED = 0  # verified and durably stored (or already stored: idempotent re-send)
    REJECTED = 1  # verified as bad and quarantined; the agent must not re-send it forever


@dataclass(frozen=True, slots=True)
class Receipt:
    device_id: str
    batch_seq: int
    header_hash: bytes
    status: ReceiptStatus
    received_utc_ns: int
    log_index: int
    beacon: Beacon | None = None
    version: int = RECEIPT_VERSION

    def to_cbor(self) -> bytes:
        body: dict[int, Any] = {
            1: self.version,
            2: self.device_id,
            3: self.batch_seq,
            4: self.header_hash,
            5: int(self.status),
            6: self.received_utc_ns,
            7: self.log_index,
        }
        if self.version >= 2:
            body[8] = None if self.beacon is None else self.beacon.to_cbor()
        elif self.beacon is not None:
            raise BadData(Reason.MALFORMED, "a version-1 receipt has no beacon")
        return cbor.dumps(body)

    def sign(self, signer: cose.Signer) -> bytes:
        return cose.sign1(signer, self.to_cbor(), RECEIPT_CONTENT_TYPE)


def open_receipt(data: bytes, collector_key: cose.PublicKey) -> Receipt:
    """Verify a receipt against the pinned collector key and parse it. Raises BadData."""
    message = cose.parse_sign1(data, MAX_RECEIPT_SIZE)
    if message.content_type != RECEIPT_CONTENT_TYPE:
        raise BadData(Reason.MALFORMED, f"content type {message.content_type!r}")
    payload = message.verify(collector_key)
    value: Any = cbor.loads(payload, MAX_RECEIPT_SIZE, "receipt")
    if (
        not isinstance(value, dict)
        or type(value.get(1)) is not int  # a CBOR true or 1.0 is no version (§1)
        or value[1] not in RECEIPT_VERSIONS
    ):
        raise BadData(Reason.UNSUPPORTED_VERSION, "receipt version")
    version = value[1]
    if set(value) != set(range(1, 8 if version == 1 else 9)):
        raise BadData(Reason.MALFORMED, "receipt keys")
    try:
        beacon = value[8] if version >= 2 else None
        receipt = Receipt(
            device_id=value[2],
            batch_seq=value[3],
            header_hash=value[4],
            status=ReceiptStatus(value[5]),
            received_utc_ns=value[6],
            log_index=value[7],
            beacon=None if beacon is None else Beacon.parse(beacon),
            version=version,
        )
    except (KeyError, ValueError) as exc:
        raise BadData(Reason.MALFORMED, f"receipt field: {exc}") from None
    if not (
        isinstance(receipt.device_id, str)
        and type(receipt.batch_seq) is int
        and isinstance(receipt.header_hash, bytes)
        and len(receipt.header_hash) == limits.HASH_SIZE
        and type(receipt.received_utc_ns) is int
        and type(receipt.log_index) is int
    ):
        raise BadData(Reason.MALFORMED, "receipt fields have the wrong types")
    return receipt


def open_receipt_any(data: bytes, keys: Sequence[cose.PublicKey]) -> Receipt:
    """A receipt that verifies under one of the pinned receipt keys (several during a
    rotation, protocol §6.3). Raises the first key's BadData when none verifies it."""
    if not keys:
        raise BadData(Reason.UNKNOWN_KEY, "no receipt key pinned")
    first: BadData | None = None
    for key in keys:
        try:
            return open_receipt(data, key)
        except BadData as exc:
            first = first or exc
    assert first is not None
    raise first
