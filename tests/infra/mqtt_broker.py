"""A real mosquitto broker for tests, configured from the deploy templates (mTLS + per-device ACL).

The configuration is rendered from deploy/mosquitto/mosquitto.conf.template and the ACL is
deploy/mosquitto/acl.conf, so tests exercise exactly what a fleet deploys. API:

    from tests.infra.mqtt_broker import MosquittoBroker, running_broker, start_broker

    with running_broker(tmp_path) as broker:          # context manager: always stopped
        broker.host, broker.port                      # 127.0.0.1 and a free port
        creds = broker.credentials("edge-001")        # CertPair(cert, key, ca) from the fleet CA
        broker.ca                                     # the FleetCA (tests.infra.pki), e.g. for CSRs
        broker.stop(); broker.start()                 # outage: same port, same certs, same data
        broker.log_text()                             # the broker's log file
        broker.reload()                               # SIGHUP (mosquitto re-reads its config)
        c = connect_client(broker, "collector")      # paho v5 client, connected, looping
        close_client(c)

    broker = start_broker(tmp_path)                   # started; call broker.close() yourself
    MosquittoBroker(d, crlfile=ca.directory / "crl.pem")  # listener with the fleet CA's CRL

    def test_x(mqtt_broker: MosquittoBroker): ...     # pytest fixture: import `mqtt_broker`
                                                      # into your test module or conftest

paho: `client.tls_set(ca_certs=str(c.ca), certfile=str(c.cert), keyfile=str(c.key))`, MQTT v5.
ACL: CN X may publish vn/v1/dev/X/batch and receive vn/v1/dev/X/receipt; CN `collector` may
read vn/v1/dev/+/batch (also as $share/<group>/vn/v1/dev/+/batch) and write
vn/v1/dev/+/receipt. Queues are unlimited (max_queued_messages 0): see feasibility.md §1.
Persistence is on (in the broker's directory), so a stop/start keeps persistent sessions.
"""

from __future__ import annotations

import getpass
import importlib.util
import shutil
import signal
import socket
import ssl
import string
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from tests.infra.pki import REPO, CertPair, FleetCA
from vnotary_cli.demo.stack import free_port

TEMPLATE = REPO / "deploy" / "mosquitto" / "mosquitto.conf.template"
ACL_FILE = REPO / "deploy" / "mosquitto" / "acl.conf"
RENDER = REPO / "deploy" / "mosquitto" / "render.py"
START_TIMEOUT_S = 10.0


def _render_module() -> ModuleType:
    """deploy/mosquitto/render.py, imported by path (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("vnotary_deploy_render", RENDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(found).exists():
        raise RuntimeError("mosquitto is not installed: run `bash scripts/install-system-deps.sh`")
    return found


class MosquittoBroker:
    """One mosquitto process on 127.0.0.1 with the fleet's mTLS listener and ACL."""

    def __init__(
        self,
        directory: Path,
        ca: FleetCA | None = None,
        collectors: tuple[str, ...] = (),
        crlfile: Path | None = None,
    ) -> None:
        """`collectors`: more collector CNs than `collector` (several collectors: the broker
        makes each client's id its CN, so each needs its own certificate and ACL block).
        `crlfile`: the listener checks client certificates against this CRL (render.py
        --crlfile), e.g. `ca.directory / "crl.pem"`."""
        self.directory = directory
        self.collectors = collectors
        self.crlfile = crlfile
        directory.mkdir(parents=True, exist_ok=True)
        self.ca = ca or FleetCA.create(directory / "pki")
        self._server = self.ca.server()
        self._creds: dict[str, CertPair] = {}
        self.host = "127.0.0.1"
        self.port = 0
        self.conf_path = directory / "mosquitto.conf"
        self.log_path = directory / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def credentials(self, cn: str) -> CertPair:
        """A client certificate with this CN from the broker's fleet CA (issued once)."""
        if cn not in self._creds:
            self._creds[cn] = self.ca.client(cn)
        return self._creds[cn]

    def _render(self) -> None:
        data_dir = self.directory / "data"
        data_dir.mkdir(exist_ok=True)
        conf = string.Template(TEMPLATE.read_text()).substitute(
            port=str(self.port),
            bind_address=self.host,
            user=getpass.getuser(),
            persistence="true",
            data_dir=str(data_dir),
            log_file=str(self.log_path),
            cafile=str(self.ca.ca_cert),
            certfile=str(self._server.cert),
            keyfile=str(self._server.key),
            acl_file=str(self._acl()),
        )
        if self.crlfile is not None:
            conf = _render_module().with_crlfile(conf, str(self.crlfile))
        self.conf_path.write_text(conf)

    def _acl(self) -> Path:
        """The shipped ACL, with the `user collector` block repeated for each extra CN (as
        docs/collector.md § Several collectors tells an operator to do)."""
        if not self.collectors:
            return ACL_FILE
        text = ACL_FILE.read_text()
        block = text[text.index("user collector\n") :].split("\n\n")[0].rstrip("\n")
        extra = [block.replace("user collector", f"user {cn}", 1) for cn in self.collectors]
        path = self.directory / "acl.conf"
        path.write_text(text.rstrip("\n") + "\n\n" + "\n\n".join(extra) + "\n")
        return path

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start (or restart on the same port); return once the port accepts connections."""
        if self.running:
            return
        first = self.port == 0
        for _attempt in range(5 if first else 1):
            if first:
                self.port = free_port()
            self._render()
            self._proc = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_listening():
                return
            self._reap()
        raise RuntimeError(f"mosquitto did not start; log:\n{self.log_text()}")

    def _wait_listening(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def _reap(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc = None

    def stop(self) -> None:
        """Graceful stop (SIGTERM: mosquitto saves its persistence file)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._reap()

    def reload(self) -> None:
        """SIGHUP: mosquitto re-reads its configuration (and, 2.0, its TLS files)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGHUP)

    def kill(self) -> None:
        """Abrupt stop (SIGKILL): no persistence save, like a crashed broker host."""
        self._reap()

    def close(self) -> None:
        self.stop()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_broker(
    directory: Path, ca: FleetCA | None = None, collectors: tuple[str, ...] = ()
) -> MosquittoBroker:
    """A started broker in `directory` (e.g. pytest's tmp_path); call `.close()` when done."""
    broker = MosquittoBroker(directory / "broker", ca, collectors)
    broker.start()
    return broker


@contextmanager
def running_broker(
    directory: Path, ca: FleetCA | None = None, collectors: tuple[str, ...] = ()
) -> Iterator[MosquittoBroker]:
    broker = start_broker(directory, ca, collectors)
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture
def mqtt_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """pytest fixture: a running broker for one test, stopped afterwards."""
    with running_broker(tmp_path) as broker:
        yield broker


def connect_client(
    broker: MosquittoBroker,
    creds: str | CertPair,
    client_id: str | None = None,
    timeout: float = 10.0,
) -> mqtt.Client:
    """A paho MQTT v5 client with `creds` (a CN issued by the broker's CA, or any CertPair,
    e.g. from `evil_ca`), connected and looping; call `close_client(client)` when done.
    Raises ConnectionRefusedError when refused (with TLS 1.3 a refused certificate shows
    as a disconnect before or just after CONNACK)."""
    pair = broker.credentials(creds) if isinstance(creds, str) else creds
    cid = client_id or (creds if isinstance(creds, str) else pair.cert.stem)
    tls_probe(broker, pair)
    done = threading.Event()
    result: dict[str, object] = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
    client.tls_set(ca_certs=str(pair.ca), certfile=str(pair.cert), keyfile=str(pair.key))

    def on_connect(c: object, u: object, flags: object, rc: ReasonCode, props: object) -> None:
        result["rc"] = rc
        done.set()

    def on_disconnect(c: object, u: object, f: object, rc: ReasonCode, props: object) -> None:
        result.setdefault("rc", rc)
        result["disconnected"] = True
        done.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    try:
        client.connect(broker.host, broker.port)
    except OSError as exc:
        raise ConnectionRefusedError(f"TLS/TCP refused {cid}: {exc}") from exc
    client.loop_start()
    done.wait(timeout)
    time.sleep(0.05)  # TLS 1.3: a refused certificate may be noticed just after CONNACK
    rc = result.get("rc")
    if result.get("disconnected") or not isinstance(rc, ReasonCode) or rc.is_failure:
        close_client(client)
        raise ConnectionRefusedError(f"broker refused {cid}: {rc}")
    return client


def tls_probe(broker: MosquittoBroker, pair: CertPair, wait: float = 0.3) -> None:
    """Raise ConnectionRefusedError if the broker refuses this certificate at the TLS layer.

    paho 2.2 leaks its SSL socket when the handshake fails inside `connect()` (a
    ResourceWarning, an error under `-W error`); this probe closes its own socket."""
    ctx = ssl.create_default_context(cafile=str(pair.ca))
    ctx.load_cert_chain(str(pair.cert), str(pair.key))
    try:
        with (
            socket.create_connection((broker.host, broker.port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=broker.host) as tls,
        ):
            tls.settimeout(wait)
            try:
                data = tls.recv(1)  # TLS 1.3: the client-certificate verdict comes after
            except TimeoutError:
                return
            raise ConnectionRefusedError(f"broker closed the TLS session: {data!r}")
    except (ssl.SSLError, OSError) as exc:
        if isinstance(exc, ConnectionRefusedError):
            raise
        raise ConnectionRefusedError(f"TLS refused: {exc}") from exc


def close_client(client: mqtt.Client) -> None:
    """Disconnect, stop the network thread and close the socket (no ResourceWarning)."""
    client.disconnect()
    client.loop_stop()
    sock = client.socket()
    if sock is not None:
        sock.close()
