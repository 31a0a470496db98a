"""A receipt key rotation (protocol §6.3): the agent pins a list of receipt keys and is
released by receipts under any of them, against a real broker (mTLS + ACL); a receipt
under a key it does not pin releases nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from edge_agent.config import load as load_config
from notary_core import cose
from notary_core.errors import BadData, Reason
from notary_core.receipt import Receipt, ReceiptStatus, open_receipt_any
from tests.edge.kit import RAV4, Device, check_chain, replay_source, start_agent
from tests.edge.responder import Responder
from tests.infra.mqtt_broker import MosquittoBroker

pytestmark = pytest.mark.integration


def _new_key(dev: Device) -> cose.Signer:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (dev.dir / "new.pub").write_bytes(pem)
    return cose.Signer.from_key(key)


def test_receipts_under_either_pinned_key_release_batches(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, resp = setup
    new = _new_key(dev)
    resp.signer_for = lambda seq: new if seq % 2 else dev.collector  # mid-rotation
    cfg = dev.config(
        broker, replay_source(RAV4), exit_when_done=True,
        batch={"window_s": 0.5, "max_records": 4000},
        mqtt={"collector_public_key": ["collector.pub", "new.pub"]},
    )  # fmt: skip
    proc = start_agent(cfg, dev.dir / "agent.log")
    assert proc.wait(timeout=120) == 0, (dev.dir / "agent.log").read_text()
    batches = resp.chain()
    assert len(batches) >= 2  # receipts under both keys
    check_chain(batches, dev.public)
    out = subprocess.run(
        [str(Path(".venv/bin/vnotary").resolve()), "edge", "status", "--config", str(cfg)],
        capture_output=True, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout)["spool_depth"] == 0
    assert not resp.errors


def test_the_config_takes_one_key_or_a_list(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, _ = setup
    _new_key(dev)
    one = load_config(dev.config(broker, replay_source(RAV4)))
    assert one.mqtt.collector_public_keys == (dev.dir / "collector.pub",)
    two = dev.config(broker, replay_source(RAV4),
                     mqtt={"collector_public_key": ["collector.pub", "new.pub"]})  # fmt: skip
    assert load_config(two).mqtt.collector_public_keys == (
        dev.dir / "collector.pub", dev.dir / "new.pub",
    )  # fmt: skip
    for bad in ([], ["collector.pub", "collector.pub"]):
        with pytest.raises(BadData) as exc:
            load_config(dev.config(broker, replay_source(RAV4),
                                   mqtt={"collector_public_key": bad}))  # fmt: skip
        assert "mqtt.collector_public_key" in str(exc.value)


def test_a_receipt_under_an_unpinned_key_is_refused() -> None:
    old, new, other = (cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())
                       for _ in range(3))  # fmt: skip
    receipt = Receipt("edge-001", 4, bytes(32), ReceiptStatus.STORED, 1, 9, None)
    for signer in (old, new):
        assert open_receipt_any(receipt.sign(signer), [old.public, new.public]) == receipt
    with pytest.raises(BadData) as exc:
        open_receipt_any(receipt.sign(other), [old.public, new.public])
    assert exc.value.reason in (Reason.BAD_SIGNATURE, Reason.KEY_MISMATCH)
    with pytest.raises(BadData):
        open_receipt_any(receipt.sign(old), [])
