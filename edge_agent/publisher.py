"""MQTT v5 publisher (paho-mqtt 2): mTLS, QoS 1, reconnect with backoff, receipts in.

paho's network thread connects, reconnects (exponential backoff between backoff_min_s and
backoff_max_s) and hands receipt payloads to a queue; the agent's main thread decides what
to publish. Each connection starts clean and re-subscribes to the receipt topic before the
publisher reports itself ready, so batches are re-sent by the agent's own schedule rather
than paho's in-memory session.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge_agent.config import MqttConfig
from notary_core import envelope
from notary_core.errors import BadData, Reason

log = logging.getLogger(__name__)


def batch_topic(device_id: str) -> str:
    return f"vn/v1/dev/{device_id}/batch"


def receipt_topic(device_id: str) -> str:
    return f"vn/v1/dev/{device_id}/receipt"


def check_tls(cfg: MqttConfig) -> None:
    """Load the TLS files as paho will, and name the key of the one that fails: a wrong or
    unreadable file is a configuration error at start, not an ssl.SSLError traceback."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    key = "mqtt.ca_file"
    try:
        ctx.load_verify_locations(cafile=str(cfg.ca_file))
        key = "mqtt.cert_file / mqtt.key_file"
        ctx.load_cert_chain(str(cfg.cert_file), str(cfg.key_file))
    except ssl.SSLError as exc:
        what = exc.reason or str(exc)
        raise BadData(Reason.BAD_KEY, f"{key}: not usable for TLS: {what}") from None
    except OSError as exc:
        raise BadData(
            Reason.MALFORMED, f"{key}: cannot read {exc.filename}: {exc.strerror}"
        ) from None


class MqttPublisher:
    def __init__(self, cfg: MqttConfig, device_id: str, receipts: queue.Queue[bytes]) -> None:
        self.cfg = cfg
        self.device_id = device_id
        self.receipts = receipts
        self.epoch = 0  # +1 per ready connection: the agent re-plans delivery on change
        self.last_error = ""
        self._method = envelope.Method.ZLIB if cfg.compress == "zlib" else None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv5)
        check_tls(cfg)
        c.tls_set(ca_certs=str(cfg.ca_file), certfile=str(cfg.cert_file), keyfile=str(cfg.key_file))
        c.max_inflight_messages_set(cfg.inflight + 4)  # before connect (paho 2.x)
        c.reconnect_delay_set(max(1, round(cfg.backoff_min_s)), max(1, round(cfg.backoff_max_s)))
        c.on_connect = self._on_connect
        c.on_subscribe = self._on_subscribe
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_connect_fail = self._on_connect_fail
        self._client = c

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def start(self) -> None:
        self._client.connect_async(
            self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s, clean_start=True
        )
        self._client.loop_start()

    def stop(self) -> None:
        self._ready.clear()
        self._client.disconnect()
        self._client.loop_stop()
        sock = self._client.socket()
        if sock is not None:
            sock.close()

    def publish(self, payload: bytes) -> bool:
        """Hand one sealed batch to paho (QoS 1), in its compressed envelope unless
        `mqtt.compress` is "none" (docs/protocol.md §5.1; the spool keeps the bare bytes);
        False if not connected (the agent retries)."""
        if not self._ready.is_set():
            return False
        wire = envelope.for_wire(payload, self._method)
        info = self._client.publish(batch_topic(self.device_id), wire, qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _on_connect(
        self, c: mqtt.Client, u: object, flags: object, rc: ReasonCode, props: object
    ) -> None:
        if rc.is_failure:
            self.last_error = f"broker refused the connection: {rc}"
            log.warning("%s", self.last_error)
            return
        c.subscribe(receipt_topic(self.device_id), qos=1)

    def _on_subscribe(
        self, c: mqtt.Client, u: object, mid: int, rcs: list[ReasonCode], props: object
    ) -> None:
        if any(r.is_failure for r in rcs):
            self.last_error = f"receipt subscription refused: {rcs}"
            log.error("%s", self.last_error)
            return
        with self._lock:
            self.epoch += 1
        self._ready.set()
        log.info("connected to the broker at %s:%s", self.cfg.host, self.cfg.port)

    def _on_disconnect(
        self, c: mqtt.Client, u: object, flags: object, rc: ReasonCode, props: object
    ) -> None:
        self._ready.clear()
        self.last_error = f"disconnected from the broker: {rc}"
        log.warning("%s", self.last_error)

    def _on_connect_fail(self, c: mqtt.Client, u: object) -> None:
        self.last_error = f"cannot connect to the broker at {self.cfg.host}:{self.cfg.port}"
        log.warning("%s: retrying with backoff", self.last_error)

    def _on_message(self, c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        self.receipts.put(bytes(msg.payload))
