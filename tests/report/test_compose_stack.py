"""deploy/compose: the invariants of the compose file, the broker configuration it renders run
by the real mosquitto with the real healthcheck command, the secrets script's owners and
modes, and the collector healthcheck script. There is no Docker engine here: the file is
parsed with PyYAML (and validated by `docker compose config` where a client is installed)."""

from __future__ import annotations

import contextlib
import getpass
import http.server
import importlib.util
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from tests.infra.mqtt_broker import free_port, mosquitto_binary, running_broker
from tests.infra.pki import REPO, FleetCA

COMPOSE = REPO / "deploy" / "compose"
# An exact release: 2.0.20, 3.11.9-slim-bookworm, v1.7.1 (PostgreSQL numbers its releases
# major.minor: 16.4-bookworm); optionally with its digest. Never `latest`, never a bare major
# (`2`, `16`) or a Python minor (`3.11-slim`), which move to every new release.
PINNED = re.compile(
    r"([^:@\s]+:v?\d+\.\d+\.\d+|postgres:\d+\.\d+)(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?"
)


def _doc() -> dict[str, Any]:
    doc = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    assert isinstance(doc, dict)
    return doc


def _long_running(svc: dict[str, Any]) -> bool:
    return svc.get("restart") != "no"


def test_every_service_is_pinned_checked_bounded_and_mounts_keys_read_only() -> None:
    for moving in ("eclipse-mosquitto:2", "postgres:16", "python:3.11-slim", "x:latest",
                   "ghcr.io/foundry-rs/foundry:latest", "postgres:16.4@sha256:abc"):  # fmt: skip
        assert not PINNED.fullmatch(moving), moving
    doc = _doc()
    services: dict[str, dict[str, Any]] = doc["services"]
    for name, svc in services.items():
        # Pinned images, and the collector image's base in its Dockerfile.
        if "image" in svc:
            assert PINNED.fullmatch(svc["image"]), (name, svc["image"])
        if "build" in svc:
            dockerfile = COMPOSE / svc["build"]["context"] / svc["build"]["dockerfile"]
            bases = re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), re.M)
            assert bases and all(PINNED.fullmatch(b) for b in bases), (name, bases)
        # Bounded logs.
        logging = svc["logging"]
        assert logging["driver"] == "json-file", name
        assert re.fullmatch(r"\d+[km]", logging["options"]["max-size"]), name
        assert 1 <= int(logging["options"]["max-file"]) <= 10, name
        # Key material is mounted read-only, and only from ./secrets/.
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if "secrets" in src:
                assert src.startswith("./secrets/") and vol.endswith(":ro"), (name, vol)
        # A real healthcheck on everything that keeps running; a one-shot is awaited with
        # service_completed_successfully instead.
        if _long_running(svc):
            check = svc["healthcheck"]
            assert check["test"][0] == "CMD" and len(check["test"]) > 2, name
            assert not {"true", "nc", "echo"} & set(check["test"][1:2]), name
            for key in ("interval", "timeout", "retries"):
                assert check[key], (name, key)
        for dep, cond in svc.get("depends_on", {}).items():
            want = "service_healthy" if _long_running(services[dep]) else (
                "service_completed_successfully")  # fmt: skip
            assert cond["condition"] == want, (name, dep)
    assert services["mosquitto-config"]["restart"] == "no"
    # The services wait for what they need.
    assert set(services["collector"]["depends_on"]) == {"mosquitto", "postgres"}
    assert set(services["api"]["depends_on"]) == {"postgres"}
    # The broker: bounded queues, the device CRL, its log on stdout (bounded above).
    args = services["mosquitto-config"]["command"]
    assert "--crlfile=/mosquitto/certs/crl.pem" in args and "--log-stdout" in args
    bounds = {a.split("=")[0]: int(a.split("=")[1]) for a in args if a.startswith("--max-q")}
    assert set(bounds) == {"--max-queued-messages", "--max-queued-bytes"}
    assert all(v > 0 for v in bounds.values())
    assert "mosquitto-log" not in doc["volumes"]
    # The healthchecks probe what the services serve.
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    collector_check = services["collector"]["healthcheck"]["test"]
    assert collector_check[-4:] == ["--port", "8883", "--port", "5432"]
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    # The database password is a file owned by the postgres user (setup-secrets.sh).
    assert doc["secrets"]["postgres_password"]["file"] == "./secrets/postgres/postgres_password"
    assert "secrets" not in services["collector"] and "secrets" not in services["api"]


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    """`docker compose config` where the Compose v2 plugin is installed; else the Debian
    `docker-compose` 1.29, which predates the top-level `name` (validated without it)."""
    cmd: list[str] | None = None
    v2 = ["docker", "compose", "version"]
    if (
        shutil.which("docker")
        and subprocess.run(v2, check=False, capture_output=True).returncode == 0
    ):
        cmd, text = ["docker", "compose"], (COMPOSE / "compose.yaml").read_text()
    elif shutil.which("docker-compose"):
        cmd = ["docker-compose"]
        text = re.sub(r"(?m)^name: .*\n", "", (COMPOSE / "compose.yaml").read_text())
    if cmd is None:
        return  # no client: the YAML invariants above are the check
    work = tmp_path / "compose"
    shutil.copytree(COMPOSE, work, ignore=shutil.ignore_patterns("secrets"))
    (work / "compose.yaml").write_text(text)
    (work / "secrets" / "postgres").mkdir(parents=True)
    (work / "secrets" / "postgres" / "postgres_password").write_text("x\n")
    (tmp_path / "mosquitto").symlink_to(REPO / "deploy" / "mosquitto")
    (tmp_path / "pki").symlink_to(REPO / "deploy" / "pki")
    done = subprocess.run([*cmd, "-f", str(work / "compose.yaml"), "--profile", "staging",
                           "config", "-q"], check=False, capture_output=True, text=True,
                          cwd=work)  # fmt: skip
    assert done.returncode == 0, done.stderr


def _container_to_local(arg: str, certs: Path, port: int) -> str:
    return arg.replace("/mosquitto/certs/", f"{certs}/").replace("8883", str(port))


def test_the_rendered_broker_runs_and_its_healthcheck_passes(tmp_path: Path) -> None:
    """render.py with the compose arguments (container paths mapped here), run by the real
    mosquitto; then the compose healthcheck's own command line against it."""
    services = _doc()["services"]
    ca = FleetCA.create(tmp_path / "ca")
    certs = tmp_path / "certs"
    certs.mkdir()
    server, hc = ca.server(("localhost", "127.0.0.1")), ca.client("healthcheck")
    for src, name in ((ca.ca_cert, "ca.crt"), (server.cert, "server.crt"),
                      (server.key, "server.key"), (hc.cert, "healthcheck.crt"),
                      (hc.key, "healthcheck.key"), (ca.crl, "crl.pem")):  # fmt: skip
        shutil.copy(src, certs / name)
    port = free_port()
    args = [_container_to_local(a, certs, port) for a in services["mosquitto-config"]["command"]]
    assert args[1] == "/deploy/mosquitto/render.py"
    args[1] = str(REPO / "deploy" / "mosquitto" / "render.py")
    args = [a for a in args if not a.startswith(("--user=", "--data-dir=", "--acl-file="))]
    args[0] = sys.executable
    (tmp_path / "data").mkdir()
    args += [f"--user={getpass.getuser()}", f"--data-dir={tmp_path / 'data'}",
             "--bind-address=127.0.0.1",
             f"--acl-file={REPO / 'deploy' / 'mosquitto' / 'acl.conf'}"]  # fmt: skip
    conf = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    assert "max_queued_bytes 1073741824" in conf and f"crlfile {certs}/crl.pem" in conf
    (tmp_path / "mosquitto.conf").write_text(conf)
    log = (tmp_path / "stdout.log").open("wb")
    proc = subprocess.Popen([mosquitto_binary(), "-c", str(tmp_path / "mosquitto.conf")],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)  # fmt: skip
    try:
        _wait_port(proc, port)
        check = services["mosquitto"]["healthcheck"]["test"][1:]
        check = [_container_to_local(a, certs, port).replace("$$", "$") for a in check]
        done = subprocess.run(check, check=False, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith("seconds")  # $SYS/broker/uptime
        # The same connection with a revoked healthcheck certificate fails (the CRL is live).
        # -E: exit once subscribed (no wait for the next uptime message).
        assert check[-4:] == ["-C", "1", "-W", "14"]
        probe = [*check[:-4], "-E", "-W", "5"]
        assert subprocess.run(probe, check=False, capture_output=True).returncode == 0
        ca.revoke(hc)
        shutil.copy(ca.crl, certs / "crl.pem")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while subprocess.run(probe, check=False, capture_output=True).returncode == 0:
            assert time.monotonic() < deadline, "the revoked healthcheck still connects"
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    assert "mosquitto version" in (tmp_path / "stdout.log").read_text()  # logs to stdout


def _wait_port(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 10
    while proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        assert time.monotonic() < deadline
        time.sleep(0.05)
    raise AssertionError("mosquitto exited")


def test_setup_secrets_gives_each_container_user_its_files(tmp_path: Path) -> None:
    root = os.geteuid() == 0
    uids = {"MOSQUITTO_UID": 1883, "POSTGRES_UID": 999, "COLLECTOR_UID": 10001}
    if not root:  # chown to others needs root; then the script is told to keep the owner
        uids = dict.fromkeys(uids, os.geteuid())
    env = {**os.environ, "SECRETS": str(tmp_path / "s"), "PYTHON": sys.executable,
           "VNOTARY": str(Path(sys.executable).with_name("vnotary")),
           **{k: str(v) for k, v in uids.items()}}  # fmt: skip
    script = COMPOSE / "setup-secrets.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    subprocess.run(["bash", str(script)], check=True, env=env, capture_output=True)
    s = tmp_path / "s"
    owners = {"broker": uids["MOSQUITTO_UID"], "postgres": uids["POSTGRES_UID"],
              "collector": uids["COLLECTOR_UID"]}  # fmt: skip
    for sub, uid in owners.items():
        st = (s / sub).stat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (uid, 0o700), sub
        for f in (s / sub).iterdir():
            st = f.stat()
            assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (uid, uid, 0o600), f
    # Every file a container opens exists (the compose mounts and collector.toml).
    doc = _doc()
    for arg in doc["services"]["mosquitto-config"]["command"]:
        if "/mosquitto/certs/" in arg:
            assert (s / "broker" / arg.split("/mosquitto/certs/")[1]).exists(), arg
    for arg in doc["services"]["mosquitto"]["healthcheck"]["test"]:
        if arg.startswith("/mosquitto/certs/"):
            assert (s / "broker" / arg.removeprefix("/mosquitto/certs/")).exists(), arg
    toml = (COMPOSE / "collector.toml").read_text()
    for path in re.findall(r'"/etc/vnotary/secrets/([^"]+)"', toml):
        assert (s / "collector" / path).exists(), path
    # The collector accepts its keys as written (it refuses group- or other-readable ones).
    from collector.settings import read_private

    for key in ("log", "receipt", "bundle"):
        assert read_private(s / "collector" / f"{key}.key").startswith(b"-----BEGIN")
    pw = (s / "postgres" / "postgres_password").read_bytes()
    assert pw == (s / "collector" / "postgres_password").read_bytes() and len(pw.strip()) == 48
    # A second run replaces no key.
    before = {p: p.read_bytes() for p in s.rglob("*.key*")}
    subprocess.run(["bash", str(script)], check=True, env=env, capture_output=True)
    assert {p: p.read_bytes() for p in s.rglob("*.key*")} == before


def _healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vn_hc", COMPOSE / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_collector_healthcheck_needs_the_process_and_its_connections(tmp_path: Path) -> None:
    hc = _healthcheck()
    store = socket.create_server(("127.0.0.1", 0))  # stands in for PostgreSQL's port
    store_port = store.getsockname()[1]
    with running_broker(tmp_path) as broker, store:
        code = ("import socket, sys, time\n"
                "a = socket.create_connection(('127.0.0.1', int(sys.argv[3])))\n"
                "b = socket.create_connection(('127.0.0.1', int(sys.argv[4])))\n"
                "print('up', flush=True); time.sleep(60)\n")  # fmt: skip
        child = subprocess.Popen(
            [sys.executable, "-c", code, "collector", "run", str(broker.port), str(store_port)],
            stdout=subprocess.PIPE,
        )
        try:
            assert child.stdout is not None and child.stdout.readline() == b"up\n"
            accepted, _ = store.accept()
            assert hc.check_collector(child.pid, [broker.port, store_port]) == []
            unused = free_port()
            assert hc.check_collector(child.pid, [broker.port, unused]) == [
                f"no established connection to port {unused}"
            ]
            assert "is not `vnotary collector run`" in hc.check_collector(os.getpid(), [])[0]
            child.kill()
            child.wait()
            assert "no process" in hc.check_collector(child.pid, [])[0]
            accepted.close()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            assert child.stdout is not None
            child.stdout.close()


@contextlib.contextmanager
def _http(status: int, body: bytes) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/readyz"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_api_healthcheck_is_readyz_with_its_problems() -> None:
    hc = _healthcheck()
    with _http(200, b'{"status":"ready","problems":[]}') as url:
        assert hc.check_http(url, 3.0) == []
    with _http(503, b'{"status":"not ready","problems":["signer halted"]}') as url:
        (problem,) = hc.check_http(url, 3.0)
        assert "503" in problem and "signer halted" in problem
    assert hc.check_http(f"http://127.0.0.1:{free_port()}/readyz", 3.0)
