"""The sdist and the wheel, built as `make dist` builds them, installed and run as a user would.

Each install is a fresh virtual environment outside the source tree, from the artifact's file
with its sha256 and the lock (tests/packaging/venvs.py): no extras (verify and report a
bundle), `[collector]` (a collector anchors on a real anvil node from its packaged contract),
`[edge]` (the agent delivers a real trace through a real broker), and the sdist with `[edge]`
(compiles the C accelerators and verifies). The folder is not called dist/: pytest skips
folders of that name.
"""

from __future__ import annotations

import json
import signal
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.core.bundle_factory import build as build_bundle
from tests.core.bundle_factory import make_world
from tests.datasets import DATA, GIULIA_CAN
from tests.edge.kit import provision, replay_source
from tests.edge.responder import Responder
from tests.infra.anvil import DEV_KEY, Anvil, anvil_node
from tests.infra.mqtt_broker import running_broker
from tests.packaging import venvs
from tests.verifier.test_verify_cli import trust_file

pytestmark = [pytest.mark.integration, pytest.mark.slow]
VERSION = "0.1.0"


@pytest.fixture(scope="module")
def core(dist: venvs.Dist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return venvs.install(tmp_path_factory.mktemp("venv") / "core", dist.wheel)


def test_sdist_is_complete(dist: venvs.Dist) -> None:
    with tarfile.open(dist.sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for must in ("LICENSE", "README.md", "requirements.lock", "setup.py", "pyproject.toml",
                 "firmware_bridge/SPEC.md", "docs/protocol.md", "docs/collector.md",
                 "notary_core/_accel.c", "firmware_bridge/_fastdecode.c",
                 "firmware_bridge/c/vnb.c", "firmware_bridge/c/vnb.h",
                 "firmware_bridge/c/vnb_rx.c", "firmware_bridge/c/vnb_rx.h",
                 "contracts/Anchor.vy", "contracts/compile.py",
                 "collector/log/contracts/Anchor.json", "scripts/gen_vectors.py",
                 "tests/vectors/core/batch.json", "tests/vectors/bridge/frames.json"):  # fmt: skip
        assert must in names, must


def test_wheel_is_pure_and_carries_its_data(dist: venvs.Dist) -> None:
    assert dist.wheel.name == f"vnotary-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(dist.wheel) as whl:
        names = set(whl.namelist())
        meta = whl.read(f"vnotary-{VERSION}.dist-info/METADATA").decode()
    assert "collector/log/contracts/Anchor.json" in names
    assert f"vnotary-{VERSION}.dist-info/licenses/LICENSE" in names
    assert {"notary_core/py.typed", "notary_core/_accel.pyi"} <= names
    assert not [n for n in names if n.endswith((".so", ".c")) or n.startswith("tests/")]
    assert "License-Expression: Apache-2.0" in meta
    assert "Requires-Dist: cbor2<6,>=5.6" in meta


def test_core_install_verifies_and_reports_a_bundle(core: Path, tmp_path: Path) -> None:
    w = make_world()
    bundle = tmp_path / "b.vnb"
    bundle.write_bytes(build_bundle(w))
    trust = trust_file(tmp_path, w)
    where = venvs.run(core, "python", "-c", "import notary_core; print(notary_core.__file__)",
                      cwd=tmp_path)  # fmt: skip
    assert where.stdout.startswith(str(core.parent)), where.stdout
    assert venvs.run(core, "vnotary", "--version", cwd=tmp_path).stdout.strip() == (
        f"vnotary {VERSION}"
    )
    ok = venvs.run(core, "vnotary", "verify", str(bundle), "--trust", str(trust), "--json",
                   cwd=tmp_path)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["verdict"] == "OK"
    report = venvs.run(core, "vnotary", "report", str(bundle), "-o", "r.html", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert 'data-verdict="INCONCLUSIVE"' in (tmp_path / "r.html").read_text()
    # A part whose extra is not installed says which one to install, with the usage code.
    missing = venvs.run(core, "vnotary", "collector", "run", "--config", "x", cwd=tmp_path)
    assert missing.returncode == 2 and "pip install 'vnotary[collector]'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_collector_install_anchors_on_anvil(dist: venvs.Dist, tmp_path: Path) -> None:
    bin_dir = venvs.install(tmp_path / "venv", dist.wheel, "collector")
    work = tmp_path / "work"
    work.mkdir()
    with anvil_node() as node:
        deploy = venvs.run(bin_dir, "python", "-c", (
            "import asyncio, sys; from collector.log.anchor_evm import deploy_at; "
            "print(*asyncio.run(deploy_at(sys.argv[1], sys.argv[2])))"
        ), node.url, DEV_KEY, cwd=work)  # fmt: skip
        assert deploy.returncode == 0, deploy.stderr
        contract, block = deploy.stdout.split()
        (work / "eth.key").write_text(DEV_KEY + "\n")
        (work / "eth.key").chmod(0o600)
        (work / "collector.toml").write_text(
            'store = "sqlite:///collector.db"\nkey_file = "collector.key"\n'
            'origin = "dist.test/log"\ncheckpoint_interval_s = 0.5\n'
            f'[anchor]\nrpc_url = "{node.url}"\ncontract = "{contract}"\n'
            'key_file = "eth.key"\ninterval_s = 0.5\nconfirmations = 1\n'
        )
        keygen = venvs.run(bin_dir, "vnotary", "collector", "keygen", "--out", "collector.key",
                           cwd=work)  # fmt: skip
        assert keygen.returncode == 0, keygen.stderr
        pem = (
            ed25519.Ed25519PrivateKey.generate()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        (work / "dev.pub").write_bytes(pem)
        add = venvs.run(bin_dir, "vnotary", "collector", "device", "add", "--config",
                        "collector.toml", "dev-1", "--public-key", "dev.pub", cwd=work)  # fmt: skip
        assert add.returncode == 0, add.stderr
        with _running(bin_dir, work, "vnotary", "collector", "run", "--config",
                      "collector.toml") as log:  # fmt: skip
            logs = _wait_for_anchor(node, contract, int(block))
        assert logs, log.read_text()[-3000:]


def test_edge_install_agent_delivers_a_trace(dist: venvs.Dist, tmp_path: Path) -> None:
    bin_dir = venvs.install(tmp_path / "venv", dist.wheel, "edge")
    with running_broker(tmp_path / "broker") as broker:
        dev = provision(tmp_path, broker)
        resp = Responder(broker, dev.public, dev.collector)
        resp.start()
        try:
            cfg = dev.config(broker, replay_source(DATA / GIULIA_CAN), exit_when_done=True)
            agent = venvs.run(bin_dir, "vnotary", "edge", "run", "--config", str(cfg),
                              cwd=cfg.parent, timeout=180)  # fmt: skip
            assert agent.returncode == 0, agent.stderr[-3000:]
            assert resp.chain() and not resp.errors
        finally:
            resp.stop()


def test_sdist_install_builds_the_accelerators_and_verifies(
    dist: venvs.Dist, tmp_path: Path
) -> None:
    bin_dir = venvs.install(tmp_path / "venv", dist.sdist, "edge")
    built = venvs.run(bin_dir, "python", "-c", (
        "import firmware_bridge._fastdecode, notary_core._accel; print('accelerated')"
    ), cwd=tmp_path)  # fmt: skip
    assert built.stdout.strip() == "accelerated", built.stderr
    w = make_world()
    bundle = tmp_path / "b.vnb"
    bundle.write_bytes(build_bundle(w))
    proc = venvs.run(bin_dir, "vnotary", "verify", str(bundle), "--trust",
                     str(trust_file(tmp_path, w)), cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


class _running:
    """A long-running command of the installed package, interrupted (SIGINT) on exit."""

    def __init__(self, bin_dir: Path, cwd: Path, *args: str) -> None:
        self.log = cwd / "process.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            [str(bin_dir / args[0]), *args[1:]], cwd=cwd, env=venvs.clean_env(),
            stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def __enter__(self) -> Path:
        return self.log

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


def _wait_for_anchor(node: Anvil, contract: str, block: int) -> list[object]:
    """The contract's Anchored events, polled for up to 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        logs = node.rpc(
            "eth_getLogs", {"address": contract, "fromBlock": hex(block), "toBlock": "latest"}
        )
        if logs:
            return list(logs)
        time.sleep(0.5)
    return []
