"""Witnesses as real processes (`vnotary witness serve`) for integration tests.

`witness_process(dir, name, logs)` writes a key and a config, starts the server on a free
port, waits until it answers, and stops it (SIGTERM, or it was killed) on exit.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from notary_core.witness import WitnessVerifier
from vnotary_cli.demo.stack import free_port
from witness.config import write_key


@dataclass
class WitnessProc:
    name: str
    config: Path
    port: int
    verifier: WitnessVerifier
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        exe = Path(sys.executable).parent / "vnotary"
        log = (self.config.parent / f"{self.name.replace('/', '_')}.log").open("ab")
        self.proc = subprocess.Popen(
            [str(exe), "witness", "serve", "--config", str(self.config), "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"witness {self.name} exited with {self.proc.returncode}")
            time.sleep(0.05)
        raise RuntimeError(f"witness {self.name} did not start")

    def kill(self) -> None:
        """kill -9: no chance to flush or close anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def write_config(d: Path, name: str, logs: dict[str, list[str]], db: str = "witness.db") -> Path:
    """A witness key and config in `d`; `logs` maps origin -> pinned log vkeys."""
    d.mkdir(parents=True, exist_ok=True)
    if not (d / "witness.key").exists():
        write_key(d / "witness.key")
    tables = "".join(
        f'\n[[log]]\norigin = "{origin}"\nvkeys = [{", ".join(f"{v!r}" for v in vkeys)}]\n'
        for origin, vkeys in logs.items()
    ).replace("'", '"')
    path = d / "witness.toml"
    path.write_text(f'name = "{name}"\nkey_file = "witness.key"\ndb = "{db}"\n{tables}')
    return path


@contextlib.contextmanager
def witness_process(
    d: Path, name: str, logs: dict[str, list[str]], port: int | None = None
) -> Iterator[WitnessProc]:
    from witness.config import WitnessConfig

    config = write_config(d, name, logs)
    w = WitnessProc(name, config, port or free_port(),
                    WitnessConfig.load(config).signer().verifier)  # fmt: skip
    w.start()
    try:
        yield w
    finally:
        w.stop()
