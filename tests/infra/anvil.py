"""A local anvil node for integration tests: free port, stop/restart keeping its chain.

anvil comes from the npm package @foundry-rs/anvil (scripts/install-system-deps.sh puts it
in tools/node_modules). `--state FILE` loads the chain at start and dumps it on exit, so a
restart on the same port continues the same chain, as a real node would.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vnotary_cli.demo.stack import free_port as _free_port

REPO = Path(__file__).resolve().parents[2]
ANVIL = REPO / "tools" / "node_modules" / ".bin" / "anvil"
# anvil's first well-known dev account (public test mnemonic; never holds real value).
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


class Anvil:
    def __init__(self, workdir: Path) -> None:
        if not ANVIL.exists():
            subprocess.run(["bash", str(REPO / "scripts" / "install-system-deps.sh")], check=True)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = workdir / "anvil-state.json"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            str(ANVIL),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--silent",
            "--state",
            str(self.state),
        ]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                self.rpc("eth_chainId")
                return
            time.sleep(0.05)
        raise RuntimeError("anvil did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()  # SIGTERM: anvil dumps --state before it exits
            try:
                self._proc.wait(15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def rpc(self, method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        req = urllib.request.Request(self.url, body.encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            reply = json.loads(resp.read())
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))


@contextlib.contextmanager
def anvil_node() -> Iterator[Anvil]:
    with tempfile.TemporaryDirectory(prefix="vn-anvil-") as tmp:
        node = Anvil(Path(tmp))
        try:
            node.start()
            yield node
        finally:
            node.stop()
