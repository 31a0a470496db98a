"""A real collector for the portal's browser tests, each part its own process over HTTP.

Two witnesses (`vnotary witness serve`), an anvil chain with the anchor contract, the
collector's log worker (`vnotary collector run`: checkpoints, witnessing, anchoring) and its
API (`vnotary collector serve`, which serves the portal), on one SQLite store. The device is
enrolled and installed over the signed API; batches of the real RAV4 trace go through the
real Ingestor into the same store (what MQTT ingest would do; the broker is tested
elsewhere). Parts come from the demo (vnotary_cli.demo), so the test and `vnotary demo
--serve` run the same stack.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.ingest.pipeline import Ingestor
from collector.settings import Settings
from collector.store.open import open_store
from notary_core.records import decode
from tests.collector.fleet import Device, load_can_records
from vnotary_cli.demo.access import Api, _raw_b64url
from vnotary_cli.demo.run import DEV_CHAIN_KEY, start_chain
from vnotary_cli.demo.stack import Stack, free_port, port_open, wait_until
from vnotary_cli.demo.witnesses import collector_tables, log_vkey, pinned_trust, start_witnesses

SEC = 1_000_000_000
ORIGIN = "portal.test/vnotary/log"
VEHICLE = "vin-2T3RFREV7HW000001"
DEVICE = "veh-0001"
DBC = "dbc/toyota_rav4_2017_pt_generated.dbc"


@dataclass
class PortalStack:
    url: str  # the API's origin; the portal is at url + "/portal/"
    api: Api
    operator: ed25519.Ed25519PrivateKey
    trust: Path  # the witnesses' keys as they published them, the log's key
    config: Path
    batches: list[tuple[int, int]] = field(default_factory=list)  # (first, last utc) stored

    def register(self, role: str, name: str, public_key: str) -> str:
        """The operator registers a key the browser made (raw Ed25519, base64url)."""
        out = self.api.ok("POST", "/v1/parties", self.operator,
                          {"role": role, "name": name, "public_key": public_key})  # fmt: skip
        return str(out["thumbprint"])

    def bind_owner(self, thumbprint: str) -> None:
        self.api.ok("POST", f"/v1/vehicles/{VEHICLE}/owners", self.operator,
                    {"owner": thumbprint, "start_ns": 0})  # fmt: skip


def _config(w: Path, tables: tuple[str, str], rpc: str, contract: str, operator: str,
            dbc: Path) -> Path:  # fmt: skip
    quorum, witnesses = tables
    (w / "eth.key").write_text(DEV_CHAIN_KEY + "\n")
    (w / "eth.key").chmod(0o600)
    path = w / "collector.toml"
    path.write_text(f"""store = "sqlite:///{w / "collector.db"}"
key_file = "collector.key"
origin = "{ORIGIN}"
checkpoint_interval_s = 1.0
{quorum}{witnesses}

[anchor]
rpc_url = "{rpc}"
contract = "{contract}"
key_file = "eth.key"
interval_s = 1
confirmations = 1

[access]
operator_keys = ["{operator}"]
dbc = "{dbc}"
retry_after_s = 1
""")
    return path


def _ingest(config: Path, device: Device, shared_data: Path, n: int) -> list[tuple[int, int]]:
    records = load_can_records(shared_data, 2300 * n)
    start = decode(records[0]).utc_ns // SEC * SEC
    settings = Settings.load(config)

    async def go() -> list[tuple[int, int]]:
        out = []
        async with await open_store(settings.store_url()) as store:
            ingestor = Ingestor(store, settings.receipt_signer())
            for i in range(n):
                lo, hi = start + i * SEC, start + (i + 1) * SEC
                chunk = [r for r in records if lo <= decode(r).utc_ns < hi]
                sealed = device.seal(chunk, utc_ns=lo)
                got = await ingestor.ingest(f"vn/v1/dev/{device.device_id}/batch",
                                            sealed.to_bytes(), time.time_ns())  # fmt: skip
                assert got.status == "stored", got
                out.append((lo, lo + 999_000_000))
        return out

    return asyncio.run(go())


@contextmanager
def portal_stack(w: Path, shared_data: Path, n_batches: int = 4) -> Iterator[PortalStack]:
    w.mkdir(parents=True, exist_ok=True)
    with Stack(w) as stack:
        stack.run("keygen", "collector", "keygen", "--out", str(w / "collector.key"))
        witnesses = start_witnesses(stack, w, ORIGIN, log_vkey(w / "collector.key", ORIGIN))
        rpc, contract = start_chain(stack)
        operator = ed25519.Ed25519PrivateKey.generate()
        config = _config(w, collector_tables(witnesses), rpc, contract, _raw_b64url(operator),
                         shared_data / DBC)  # fmt: skip
        port = free_port()
        worker = stack.vnotary("collector-run", "collector", "run", "--config", str(config))
        api_proc = stack.vnotary("collector-api", "collector", "serve", "--config", str(config),
                                 "--port", str(port))  # fmt: skip
        wait_until("collector API", port_open(port), 30, api_proc)
        assert worker.popen.poll() is None, worker.tail()
        url = f"http://127.0.0.1:{port}"
        api = Api(url)
        s = PortalStack(url, api, operator, w / "trust.json", config)
        device = Device(DEVICE)
        api.ok("POST", "/v1/vehicles", operator, {"vehicle_id": VEHICLE, "label": "RAV4 2017"})
        api.ok("POST", "/v1/devices", operator, {"device_id": DEVICE, "not_before_ns": 0,
               "public_key": base64.b64encode(device.spki).decode()})  # fmt: skip
        api.ok("POST", f"/v1/vehicles/{VEHICLE}/devices", operator,
               {"device_id": DEVICE, "start_ns": 0})  # fmt: skip
        s.batches = _ingest(config, device, shared_data, n_batches)
        trust: dict[str, Any] = pinned_trust(api.get("/v1/trust"), witnesses)
        s.trust.write_text(json.dumps(trust, indent=2))
        yield s
