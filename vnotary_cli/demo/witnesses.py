"""The demo's independent parties that keep the log honest: two witnesses (an insurer's and
an owners' association's, each its own `vnotary witness serve` process with its own key and
SQLite state) and, at the end, one round of `vnotary monitor`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core.checkpoint import NoteSigner
from vnotary_cli.demo.stack import DemoError, Stack, free_port, port_open, wait_until

PARTIES = (("witness.insurer.demo/w1", "insurer"), ("witness.owners.demo/w1", "owners"))
QUORUM = 2


@dataclass(frozen=True)
class Witness:
    name: str
    url: str
    vkey: str  # as its operator published it (`vnotary witness keygen` printed it)


def log_vkey(key_file: Path, origin: str) -> str:
    """The checkpoint key the witnesses pin: the log operator hands it to them."""
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise DemoError("the collector key is not Ed25519")
    return NoteSigner(origin.split("/", 1)[0], key).verifier.vkey


def start_witnesses(stack: Stack, w: Path, origin: str, vkey: str) -> list[Witness]:
    out = []
    for name, who in PARTIES:
        d = w / f"witness-{who}"
        d.mkdir()
        printed = stack.run(f"witness-{who}-keygen", "witness", "keygen", "--name", name,
                            "--out", str(d / "witness.key")).strip()  # fmt: skip
        (d / "witness.toml").write_text(
            f'name = "{name}"\nkey_file = "witness.key"\ndb = "witness.db"\n\n'
            f'[[log]]\norigin = "{origin}"\nvkeys = ["{vkey}"]\n'
        )
        port = free_port()
        proc = stack.vnotary(f"witness-{who}", "witness", "serve", "--config",
                             str(d / "witness.toml"), "--port", str(port))  # fmt: skip
        wait_until(f"witness {name}", port_open(port), 30, proc)
        out.append(Witness(name, f"http://127.0.0.1:{port}", printed))
    return out


def collector_tables(witnesses: list[Witness]) -> tuple[str, str]:
    """The collector config's top-level quorum line and its [[witness]] tables."""
    tables = "".join(f'\n[[witness]]\nurl = "{x.url}"\nvkey = "{x.vkey}"\n' for x in witnesses)
    return f"witness_quorum = {QUORUM}\n", tables


def pinned_trust(collector_trust: dict[str, Any], witnesses: list[Witness]) -> dict[str, Any]:
    """The insurer's trust file: the collector's keys and contract, and the witnesses' keys
    as the witnesses themselves published them (not the collector's word for them)."""
    return {**collector_trust, "witnesses": [x.vkey for x in witnesses],
            "witness_quorum": QUORUM}  # fmt: skip


def monitor_once(stack: Stack, w: Path, api_url: str, trust: Path) -> str:
    out = stack.run("monitor", "monitor", "--collector", api_url, "--state",
                    str(w / "monitor"), "--trust", str(trust), "--once")  # fmt: skip
    state = json.loads((w / "monitor" / "state.json").read_text())
    if state.get("alarm"):
        raise DemoError(f"the monitor raised an alarm: {state['alarm']}")
    return out
