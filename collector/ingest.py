"""Verified ingest: topic + payload + time in, an outcome (and a receipt) out.

Order matters: bound and parse, match the topic, find the device key valid at the batch's
time, verify signature and Merkle root, check the hash chain, then commit batch + log leaf
+ gaps in one transaction. Only then is a STORED receipt made. Anything rejected is kept
in quarantine with its reason and bytes; nothing is dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from collector import limits
from collector.store import BatchRow, DeviceKey, Store
from notary_core import cose
from notary_core import limits as core_limits
from notary_core.batch import SealedBatch
from notary_core.errors import BadData, Reason, too_large
from notary_core.header import BatchHeader
from notary_core.receipt import Receipt, ReceiptStatus

# A REJECTED receipt tells the agent to stop re-sending: only for faults that a re-send can
# never cure. UNKNOWN_DEVICE / UNKNOWN_KEY may be cured by registering the device later.
FINAL_REASONS = frozenset(
    {
        Reason.BAD_SIGNATURE,
        Reason.ROOT_MISMATCH,
        Reason.COUNT_MISMATCH,
        Reason.CHAIN_BROKEN,
        Reason.KEY_MISMATCH,
        Reason.MALFORMED,
        Reason.NON_CANONICAL,
        Reason.TOO_LARGE,
        Reason.FORK,
        Reason.REVOKED_KEY,
        Reason.KEY_NOT_VALID,
    }
)

TOPIC_RE = re.compile(r"vn/v1/dev/([A-Za-z0-9][A-Za-z0-9._-]{0,63})/batch")


def receipt_topic(device_id: str) -> str:
    return f"vn/v1/dev/{device_id}/receipt"


def device_from_topic(topic: str) -> str:
    m = TOPIC_RE.fullmatch(topic[: limits.MAX_TOPIC])
    if m is None:
        raise BadData(Reason.TOPIC_MISMATCH, f"not a batch topic: {topic[:80]!r}")
    return m.group(1)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # stored | replay | rejected
    reason: str | None
    device_id: str | None
    batch_seq: int | None
    log_index: int | None
    receipt: bytes | None  # signed; publish to receipt_topic(device_id) if present
    gap: tuple[int, int] | None = None  # first and last missing seq, newly opened
    quarantine_id: int | None = None


def key_for(keys: list[DeviceKey], header: BatchHeader) -> DeviceKey:
    """The registered key that signed this header and was valid at the batch's time."""
    if not keys:
        raise BadData(Reason.UNKNOWN_DEVICE, f"device {header.device_id!r} unregistered")
    for k in keys:
        if k.key_id != header.key_id:
            continue
        if k.revoked_utc_ns is not None:
            raise BadData(Reason.REVOKED_KEY, "the device key is revoked")
        t = header.first_utc_ns
        if t < k.not_before_ns or (
            k.not_after_ns is not None and header.last_utc_ns >= k.not_after_ns
        ):
            raise BadData(Reason.KEY_NOT_VALID, "batch time outside the key's validity")
        return k
    raise BadData(Reason.UNKNOWN_KEY, "the header's key id is not registered for the device")


class Ingestor:
    """One per collector process; call `ingest` from a single task (it is not reentrant)."""

    def __init__(self, store: Store, signer: cose.Signer) -> None:
        self.store = store
        self.signer = signer

    async def ingest(self, topic: str, payload: bytes, now_ns: int) -> Outcome:
        device: str | None = None
        header: BatchHeader | None = None
        try:
            device = device_from_topic(topic)
            if len(payload) > core_limits.MAX_BATCH_PAYLOAD:
                raise too_large("payload", len(payload), core_limits.MAX_BATCH_PAYLOAD)
            sealed = SealedBatch.from_bytes(payload)
            header = sealed.signed.header
            if header.device_id != device:
                raise BadData(
                    Reason.TOPIC_MISMATCH,
                    f"topic names {device!r}, header names {header.device_id!r}",
                )
            return await self._verified(sealed, header, payload, topic, now_ns)
        except BadData as exc:
            return await self._reject(topic, payload, device, header, exc, now_ns)

    async def _verified(
        self, sealed: SealedBatch, header: BatchHeader, payload: bytes, topic: str, now_ns: int
    ) -> Outcome:
        key = key_for(await self.store.device_keys(header.device_id), header)
        sealed.verify(cose.PublicKey.from_spki(key.spki))
        header_hash = sealed.signed.header_hash
        ctx = await self.store.chain_context(header.device_id, header.batch_seq)
        if ctx.same is not None:
            if ctx.same[0] != header_hash:
                raise BadData(Reason.FORK, "another header is stored at this batch_seq")
            qid = await self._keep(topic, payload, header, Reason.REPLAY, "already stored", now_ns)
            # The agent may have lost our receipt: answer again, with the original log index.
            receipt = self._receipt(header, header_hash, ReceiptStatus.STORED, now_ns, ctx.same[1])
            return Outcome(
                "replay",
                str(Reason.REPLAY),
                header.device_id,
                header.batch_seq,
                ctx.same[1],
                receipt,
                quarantine_id=qid,
            )
        if ctx.prev_hash is not None and ctx.prev_hash != header.prev_header_hash:
            raise BadData(Reason.CHAIN_BROKEN, "prev_header_hash is not the stored predecessor")
        if ctx.next_prev_hash is not None and ctx.next_prev_hash != header_hash:
            raise BadData(Reason.CHAIN_BROKEN, "the stored successor names another predecessor")
        expected = 0 if ctx.max_seq is None else ctx.max_seq + 1
        row = BatchRow(
            header.device_id,
            header.batch_seq,
            header_hash,
            header.prev_header_hash,
            sealed.signed.raw,
            sealed.salt_key,
            sealed.records_block,
            header.record_count,
            header.first_utc_ns,
            header.last_utc_ns,
            now_ns,
        )
        try:
            index = await self.store.commit_batch(row, ctx.max_seq)
        except BadData:
            # Stored by another collector process between our read and our write.
            return await self._verified(sealed, header, payload, topic, now_ns)
        gap = (expected, header.batch_seq - 1) if header.batch_seq > expected else None
        receipt = self._receipt(header, header_hash, ReceiptStatus.STORED, now_ns, index)
        return Outcome(
            "stored",
            str(Reason.GAP) if gap else None,
            header.device_id,
            header.batch_seq,
            index,
            receipt,
            gap,
        )

    def _receipt(
        self, h: BatchHeader, header_hash: bytes, status: ReceiptStatus, now_ns: int, index: int
    ) -> bytes:
        return Receipt(h.device_id, h.batch_seq, header_hash, status, now_ns, index).sign(
            self.signer
        )

    async def _keep(
        self,
        topic: str,
        payload: bytes,
        header: BatchHeader | None,
        reason: str,
        detail: str,
        now_ns: int,
    ) -> int:
        kept = payload[: limits.MAX_QUARANTINE_PAYLOAD]
        if len(kept) < len(payload):
            detail = f"{detail} (kept {len(kept)} of {len(payload)} bytes)"
        return await self.store.quarantine(
            now_ns,
            topic[: limits.MAX_TOPIC],
            header.device_id if header else None,
            header.batch_seq if header else None,
            reason,
            detail,
            kept,
        )

    async def _reject(
        self,
        topic: str,
        payload: bytes,
        device: str | None,
        header: BatchHeader | None,
        exc: BadData,
        now_ns: int,
    ) -> Outcome:
        reason = str(exc.reason)
        qid = await self._keep(topic, payload, header, reason, exc.message, now_ns)
        receipt = None
        # Only the authenticated publisher (topic device == header device) is told to stop.
        if header is not None and header.device_id == device and reason in FINAL_REASONS:
            receipt = self._receipt(header, header.hash(), ReceiptStatus.REJECTED, now_ns, -1)
        return Outcome(
            "rejected",
            reason,
            header.device_id if header else device,
            header.batch_seq if header else None,
            None,
            receipt,
            quarantine_id=qid,
        )
