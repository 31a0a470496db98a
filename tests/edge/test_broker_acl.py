"""The broker as deployed (mTLS + per-device ACL): a device cannot speak for another one."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from tests.infra.mqtt_broker import MosquittoBroker, close_client, connect_client, mqtt_broker
from tests.infra.pki import evil_ca

__all__ = ["mqtt_broker"]
pytestmark = pytest.mark.integration


def test_device_cert_for_another_device_is_refused_by_acl(mqtt_broker: MosquittoBroker) -> None:
    """edge-002's certificate cannot publish as edge-001: MQTT v5 PUBACK "Not authorized"
    (mosquitto 2.0.11 then drops the connection) and the collector never sees the message."""
    got: list[tuple[str, bytes]] = []
    arrived = threading.Event()
    sub = connect_client(mqtt_broker, "collector")

    def on_message(c: object, u: object, msg: mqtt.MQTTMessage) -> None:
        got.append((msg.topic, msg.payload))
        arrived.set()

    sub.on_message = on_message
    sub.subscribe("vn/v1/dev/+/batch", qos=1)
    acks: dict[int, int] = {}

    def on_publish(c: object, u: object, mid: int, rc: ReasonCode, props: object) -> None:
        acks[mid] = rc.value

    try:
        dev = connect_client(mqtt_broker, "edge-002")
        dev.on_publish = on_publish
        forged = dev.publish("vn/v1/dev/edge-001/batch", b"forged", qos=1)
        forged.wait_for_publish(5)
        assert acks[forged.mid] == 0x87  # MQTT v5 "Not authorized"
        close_client(dev)
        assert not arrived.wait(0.5)
        dev = connect_client(mqtt_broker, "edge-002")
        dev.on_publish = on_publish
        own = dev.publish("vn/v1/dev/edge-002/batch", b"own", qos=1)
        own.wait_for_publish(5)
        assert acks[own.mid] == 0
        assert arrived.wait(5)
        close_client(dev)
        assert got == [("vn/v1/dev/edge-002/batch", b"own")]
    finally:
        close_client(sub)


def test_certificate_from_untrusted_ca_is_refused(
    mqtt_broker: MosquittoBroker, tmp_path: Path
) -> None:
    evil = evil_ca(tmp_path / "evil").client("edge-001")
    with pytest.raises(ConnectionRefusedError):
        connect_client(mqtt_broker, evil, client_id="edge-001")


def test_broker_restarts_on_the_same_port(mqtt_broker: MosquittoBroker) -> None:
    port = mqtt_broker.port
    mqtt_broker.stop()
    with pytest.raises(ConnectionRefusedError):
        connect_client(mqtt_broker, "edge-001", timeout=1)
    mqtt_broker.start()
    assert mqtt_broker.port == port
    c = connect_client(mqtt_broker, "edge-001")
    close_client(c)


def test_collector_shared_subscription_and_receipt_topic(mqtt_broker: MosquittoBroker) -> None:
    """The collector reads batches through $share and writes receipts the device receives."""
    batches: list[bytes] = []
    receipts: list[bytes] = []
    got_batch, got_receipt = threading.Event(), threading.Event()
    col = connect_client(mqtt_broker, "collector")
    dev = connect_client(mqtt_broker, "edge-001")
    col.on_message = lambda c, u, m: (batches.append(m.payload), got_batch.set())
    dev.on_message = lambda c, u, m: (receipts.append(m.payload), got_receipt.set())
    try:
        col.subscribe("$share/collectors/vn/v1/dev/+/batch", qos=1)
        dev.subscribe("vn/v1/dev/edge-001/receipt", qos=1)
        time.sleep(0.2)
        dev.publish("vn/v1/dev/edge-001/batch", b"b", qos=1).wait_for_publish(5)
        assert got_batch.wait(5)
        col.publish("vn/v1/dev/edge-001/receipt", b"r", qos=1).wait_for_publish(5)
        assert got_receipt.wait(5)
        assert (batches, receipts) == ([b"b"], [b"r"])
    finally:
        close_client(dev)
        close_client(col)


def _watch_disconnects(client: mqtt.Client) -> list[object]:
    """Record every disconnect of `client` (paho keeps reconnecting in its loop)."""
    seen: list[object] = []
    client.on_disconnect = lambda c, u, f, rc, props: seen.append(rc)
    return seen


@pytest.mark.parametrize("victim", ["collector", "edge-001"])
def test_a_device_cannot_take_over_another_client_id(
    mqtt_broker: MosquittoBroker, victim: str
) -> None:
    """Issue 16 §2: edge-002's certificate connecting with the collector's or edge-001's
    client id does not kick that client off (use_username_as_clientid: the broker replaces
    the id with the certificate CN), and the victim keeps receiving."""
    got = threading.Event()
    target = connect_client(mqtt_broker, victim)
    lost = _watch_disconnects(target)
    if victim == "collector":
        target.on_message = lambda c, u, m: got.set()
        target.subscribe("vn/v1/dev/+/batch", qos=1)
    else:
        target.on_message = lambda c, u, m: got.set()
        target.subscribe(f"vn/v1/dev/{victim}/receipt", qos=1)
    time.sleep(0.2)
    try:
        for _ in range(3):
            intruder = connect_client(mqtt_broker, "edge-002", client_id=victim)
            time.sleep(0.3)
            close_client(intruder)
        assert lost == []
        if victim == "collector":
            dev = connect_client(mqtt_broker, "edge-003")
            dev.publish("vn/v1/dev/edge-003/batch", b"b", qos=1).wait_for_publish(5)
        else:
            dev = connect_client(mqtt_broker, "collector", client_id="collector")
            dev.publish(f"vn/v1/dev/{victim}/receipt", b"r", qos=1).wait_for_publish(5)
        close_client(dev)
        assert got.wait(5)
        assert lost == []
    finally:
        close_client(target)


def test_retained_publishes_are_refused(mqtt_broker: MosquittoBroker) -> None:
    """Issue 16 §2: a retained batch would reach every new subscription of the collector
    again; the broker refuses the retain flag (retain_available false), so a later
    subscriber receives nothing."""
    dev = connect_client(mqtt_broker, "edge-001")
    dropped = _watch_disconnects(dev)
    dev.publish("vn/v1/dev/edge-001/batch", b"retained", qos=1, retain=True)
    time.sleep(0.5)
    close_client(dev)
    assert dropped  # the broker disconnects a client that publishes with retain
    got: list[bytes] = []
    sub = connect_client(mqtt_broker, "collector")
    sub.on_message = lambda c, u, m: got.append(m.payload)
    try:
        sub.subscribe("vn/v1/dev/+/batch", qos=1)
        time.sleep(0.5)
        assert got == []
    finally:
        close_client(sub)
