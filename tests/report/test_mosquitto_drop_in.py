"""deploy/mosquitto/render.py --drop-in beside Debian's stock mosquitto.conf, run by the real
mosquitto: the stock main file sets persistence, persistence_location and log_dest and then
includes conf.d, so the full rendering there fails with "Duplicate persistence_location"."""

from __future__ import annotations

import getpass
import subprocess
import sys
from pathlib import Path

from tests.infra.mqtt_broker import free_port, mosquitto_binary
from tests.infra.pki import FleetCA

ROOT = Path(__file__).resolve().parents[2]
RENDER = ROOT / "deploy" / "mosquitto" / "render.py"
DEBIAN_MAIN = Path("/etc/mosquitto/mosquitto.conf")


def _debian_main(tmp: Path) -> Path:
    """Debian's stock main file, every path it names moved under `tmp` (pid file, data, log,
    conf.d) and nothing else changed."""
    assert DEBIAN_MAIN.exists(), "Debian's mosquitto package: bash scripts/install-system-deps.sh"
    text = DEBIAN_MAIN.read_text()
    for key in ("pid_file", "persistence_location", "log_dest file", "include_dir"):
        assert f"\n{key} " in "\n" + text, key  # the stock file still sets what we move
    moves = {
        "/run/mosquitto/": f"{tmp}/run/",
        "/var/lib/mosquitto/": f"{tmp}/data/",
        "/var/log/mosquitto/": f"{tmp}/log/",
        "/etc/mosquitto/conf.d": f"{tmp}/conf.d",
    }
    for old, new in moves.items():
        assert old in text, old
        text = text.replace(old, new)
        Path(new).mkdir(parents=True, exist_ok=True)
    main = tmp / "mosquitto.conf"
    main.write_text(text)
    return main


def _render(tmp: Path, port: int, *extra: str) -> str:
    ca = FleetCA.create(tmp / "pki")
    server = ca.server()
    args = [sys.executable, str(RENDER), "--port", str(port), "--bind-address", "127.0.0.1",
            "--user", getpass.getuser(), "--cafile", str(ca.ca_cert),
            "--certfile", str(server.cert), "--keyfile", str(server.key), *extra]  # fmt: skip
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _run(main: Path, port: int) -> tuple[bool, str]:
    """Start mosquitto on `main`; (listening on `port` within 10 s, its stderr)."""
    proc = subprocess.Popen([mosquitto_binary(), "-c", str(main)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        listening = _wait_listening(proc, port)
    finally:
        if proc.poll() is None:
            proc.terminate()
        _, err = proc.communicate(timeout=10)
    return listening, err.decode(errors="replace")


def _wait_listening(proc: subprocess.Popen[bytes], port: int) -> bool:
    import socket
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def test_drop_in_starts_beside_debians_stock_main_file(tmp_path: Path) -> None:
    main = _debian_main(tmp_path)
    port = free_port()
    drop_in = _render(tmp_path, port, "--drop-in")
    for key in ("persistence", "persistence_location", "log_dest", "pid_file"):
        assert not any(x.split()[:1] == [key] for x in drop_in.splitlines()), key
    for key in ("listener", "require_certificate", "acl_file", "max_queued_messages 0"):
        assert key in drop_in, key
    (tmp_path / "conf.d" / "vnotary.conf").write_text(drop_in)
    listening, err = _run(main, port)
    assert listening, err
    log = (tmp_path / "log" / "mosquitto.log").read_text()
    assert f"Opening ipv4 listen socket on port {port}" in log, log


def test_full_rendering_in_conf_d_is_refused_as_before(tmp_path: Path) -> None:
    """Why --drop-in exists: the full file in conf.d is the error Debian operators saw."""
    main = _debian_main(tmp_path)
    port = free_port()
    full = _render(tmp_path, port, "--data-dir", str(tmp_path / "data"),
                   "--log-file", str(tmp_path / "log" / "full.log"))  # fmt: skip
    (tmp_path / "conf.d" / "vnotary.conf").write_text(full)
    listening, err = _run(main, port)
    assert not listening
    assert "Duplicate persistence_location" in err, err
