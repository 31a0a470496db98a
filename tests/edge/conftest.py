"""Fixtures of the edge tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.edge.kit import Device, provision
from tests.edge.responder import Responder
from tests.infra.mqtt_broker import MosquittoBroker, running_broker


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[MosquittoBroker, Device, Responder]]:
    """A real broker (mTLS + ACL), a provisioned device, and the receipt responder."""
    with running_broker(tmp_path) as broker:
        dev = provision(tmp_path, broker)
        resp = Responder(broker, dev.public, dev.collector)
        resp.start()
        try:
            yield broker, dev, resp
        finally:
            resp.stop()
