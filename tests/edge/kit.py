"""Edge test kit: a provisioned device, a collector key, and agent configs on a real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from edge_agent import device_key
from notary_core import cose
from notary_core.batch import SealedBatch
from notary_core.header import GENESIS_PREV_HASH
from tests.datasets import DATA, GIULIA_CAN, RAV4_CAN
from tests.infra.mqtt_broker import MosquittoBroker

REPO = Path(__file__).resolve().parents[2]
RAV4 = DATA / RAV4_CAN
GIULIA = DATA / GIULIA_CAN


@dataclass
class Device:
    device_id: str
    dir: Path
    public: cose.PublicKey
    collector: cose.Signer

    def config(self, broker: MosquittoBroker, sources: str, **extra: object) -> Path:
        """An agent config; `sources` is TOML for the [[source]] tables."""
        lines = [
            f"{k} = {v!r}".replace("'", '"').replace("True", "true").replace("False", "false")
            for k, v in extra.items()
            if not isinstance(v, dict)
        ]
        tables = {k: v for k, v in extra.items() if isinstance(v, dict)}
        batch = {"window_s": 0.2, "max_records": 2000, **tables.get("batch", {})}
        mqtt = {
            "receipt_timeout_s": 5,
            "backoff_min_s": 1,
            "backoff_max_s": 1,
            **tables.get("mqtt", {}),
        }
        spool = {"path": "spool.sqlite", **tables.get("spool", {})}
        body = "\n".join(
            [
                f'device_id = "{self.device_id}"',
                'key_file = "device.key"',
                *lines,
                "[batch]",
                *[f"{k} = {_toml(v)}" for k, v in batch.items()],
                "[spool]",
                *[f"{k} = {_toml(v)}" for k, v in spool.items()],
                "[mqtt]",
                f'host = "{broker.host}"',
                f"port = {broker.port}",
                f'ca_file = "{broker.ca.ca_cert}"',
                'cert_file = "tls.crt"',
                'key_file = "tls.key"',
                *(
                    []
                    if "collector_public_key" in mqtt
                    else ['collector_public_key = "collector.pub"']
                ),
                *[f"{k} = {_toml(v)}" for k, v in mqtt.items()],
                sources,
                *[
                    f"[{name}]\n" + "\n".join(f"{k} = {_toml(v)}" for k, v in table.items())
                    for name, table in tables.items()
                    if name not in ("batch", "mqtt", "spool")
                ],
            ]
        )
        path = self.dir / "agent.toml"
        path.write_text(body + "\n")
        return path


def _toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


def provision(tmp: Path, broker: MosquittoBroker, device_id: str = "edge-001") -> Device:
    d = tmp / device_id
    _key, _tls, csr, public = device_key.provision(d, device_id)
    (d / "tls.crt").write_bytes(broker.ca.sign_device_csr(csr.read_bytes()))
    collector = ed25519.Ed25519PrivateKey.generate()
    (d / "collector.pub").write_bytes(
        collector.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return Device(device_id, d, public, cose.Signer.from_key(collector))


def replay_source(path: Path, speed: str = "max") -> str:
    return f'[[source]]\ntype = "replay"\nstream = "can"\nfile = "{path}"\nspeed = "{speed}"\n'


def start_agent(config: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "edge_agent", "--config", str(config), *args],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=config.parent,
        )


def check_chain(batches: list[SealedBatch], key: cose.PublicKey) -> int:
    """Every batch verifies, seqs are 0..n-1 and each names the previous header hash."""
    prev = GENESIS_PREV_HASH
    records = 0
    for i, b in enumerate(batches):
        h = b.signed.verify(key)
        assert h.batch_seq == i, f"gap: expected batch {i}, got {h.batch_seq}"
        assert h.prev_header_hash == prev, f"chain broken at batch {i}"
        prev = b.signed.header_hash
        records += len(b.verify(key))
    return records
