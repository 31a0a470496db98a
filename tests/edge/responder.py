"""STANDS IN FOR THE COLLECTOR in the edge tests until the real one is wired end to end.

It subscribes to vn/v1/dev/+/batch through the real broker with the `collector`
certificate, opens each batch's compressed envelope (protocol §5.1) and verifies the batch
with notary_core (signature, count, Merkle root), stores it idempotently by batch_seq, and
publishes a signed Receipt to vn/v1/dev/{id}/receipt.
`paused` makes it ignore batches (no receipt), to test re-sends; `withhold` stores them
but sends no receipt (so they stay in the agent's spool, and a re-used batch_seq with
other bytes, a fork, is caught).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt

from notary_core import cose, envelope
from notary_core.batch import SealedBatch
from notary_core.header import Beacon
from notary_core.receipt import Receipt, ReceiptStatus
from tests.infra.mqtt_broker import MosquittoBroker, close_client, connect_client


@dataclass
class Responder:
    broker: MosquittoBroker
    device_key: cose.PublicKey
    signer: cose.Signer
    stored: dict[int, bytes] = field(default_factory=dict)  # seq -> sealed batch, first arrival
    wire: list[tuple[int, bool]] = field(default_factory=list)  # (sealed size, in an envelope)
    arrivals: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    paused: bool = False
    withhold: bool = False
    reject: set[int] = field(default_factory=set)  # answer these seqs REJECTED
    beacon: Beacon | None = None  # put into every receipt (§6.1), as the latest final anchor
    signer_for: Callable[[int], cose.Signer] | None = None  # by batch_seq: a key rotation
    _client: mqtt.Client | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        c = connect_client(self.broker, "collector", client_id="test-collector")
        c.on_message = self._on_message
        c.on_connect = lambda cl, u, f, rc, p: cl.subscribe("vn/v1/dev/+/batch", qos=1)
        c.reconnect_delay_set(1, 1)
        c.subscribe("vn/v1/dev/+/batch", qos=1)
        self._client = c
        time.sleep(0.1)

    def stop(self) -> None:
        if self._client is not None:
            close_client(self._client)
            self._client = None

    def _on_message(self, c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        if self.paused:
            return
        device_id = msg.topic.split("/")[3]
        try:
            payload = envelope.unwrap(msg.payload)  # §5.1, as the collector opens it
            sealed = SealedBatch.from_bytes(payload)
            sealed.verify(self.device_key)
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return
        seq = sealed.signed.header.batch_seq
        with self._lock:
            self.arrivals.append(seq)
            self.wire.append((len(payload), envelope.is_envelope(msg.payload)))
            old = self.stored.setdefault(seq, payload)
            if old != payload:
                self.errors.append(f"batch {seq} re-sent with different bytes")
        if self.withhold:
            return
        status = ReceiptStatus.REJECTED if seq in self.reject else ReceiptStatus.STORED
        receipt = Receipt(device_id, seq, sealed.signed.header_hash, status, time.time_ns(), seq,
                          self.beacon)  # fmt: skip
        signer = self.signer if self.signer_for is None else self.signer_for(seq)
        c.publish(f"vn/v1/dev/{device_id}/receipt", receipt.sign(signer), qos=1)

    def chain(self) -> list[SealedBatch]:
        with self._lock:
            return [SealedBatch.from_bytes(self.stored[s]) for s in sorted(self.stored)]

    def chain_with_gaps(self) -> list[SealedBatch]:
        """Every stored batch, ascending, gaps allowed (batches the agent discarded)."""
        return self.chain()
