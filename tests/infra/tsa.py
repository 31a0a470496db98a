"""A real RFC 3161 TSA for integration tests: OpenSSL's `openssl ts -reply` behind a small
HTTP front end (RFC 3161 §3.4: POST application/timestamp-query, answer
application/timestamp-reply), run as its own process on 127.0.0.1.

    pki = TsaPki.create(tmp_path / "tsa")                # a CA and a TSA certificate
    old = TsaPki.create(tmp_path / "old", expired=True)  # its certificate expired yesterday
    with tsa_process(pki) as tsa:                        # serves until the block ends
        tsa.url                                          # http://127.0.0.1:<port>/tsr
        tsa.stop(); tsa.start()                          # an outage, and back on its port

The TSA certificate carries the critical extended key usage id-kp-timeStamping (RFC 3161
§2.3) and is issued by the CA; `pki.tsa_pem` is what a trust file pins. OpenSSL signs with
the certificate whatever its validity, so an expired TSA is a real one.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.server
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.infra.mqtt_broker import free_port

REPO = Path(__file__).resolve().parents[2]
OPENSSL = "/usr/bin/openssl"
MAX_QUERY = 64 * 1024  # a TimeStampReq is ~60 bytes; refuse anything huge

_CONFIG = """\
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.touch(mode=0o600)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))  # fmt: skip


@dataclass(frozen=True)
class TsaPki:
    directory: Path

    @classmethod
    def create(
        cls, directory: Path, name: str = "Test TSA", expired: bool = False,
        eku: bool = True,
    ) -> TsaPki:  # fmt: skip
        """A CA and a TSA certificate (EC P-256) in `directory`, and OpenSSL's ts config.
        `expired`: the TSA certificate's validity ended a day ago. `eku`: with the critical
        timeStamping extended key usage (without it, OpenSSL refuses to sign)."""
        directory.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (
            x509.CertificateBuilder().subject_name(_name(f"{name} CA"))
            .issuer_name(_name(f"{name} CA")).public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=60))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        key = ec.generate_private_key(ec.SECP256R1())
        start, end = ((now - dt.timedelta(days=30), now - dt.timedelta(days=1)) if expired
                      else (now - dt.timedelta(days=1), now + dt.timedelta(days=365)))  # fmt: skip
        b = (
            x509.CertificateBuilder().subject_name(_name(name)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )  # fmt: skip
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                                critical=True)  # fmt: skip
        cert = b.sign(ca_key, hashes.SHA256())
        (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        (directory / "tsa.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(directory / "tsa.key", key)
        (directory / "tsaserial").write_text("01\n")
        (directory / "openssl.cnf").write_text(_CONFIG.format(dir=directory))
        return cls(directory)

    @property
    def tsa_pem(self) -> str:
        return (self.directory / "tsa.pem").read_text()

    def reply(self, query: bytes) -> bytes:
        """`openssl ts -reply` for one DER TimeStampReq: the DER TimeStampResp."""
        with tempfile.TemporaryDirectory() as tmp:
            q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
            q.write_bytes(query)
            subprocess.run(
                [OPENSSL, "ts", "-reply", "-config", str(self.directory / "openssl.cnf"),
                 "-queryfile", str(q), "-out", str(r)],
                check=True, capture_output=True, timeout=30,
            )  # fmt: skip
            return r.read_bytes()


@dataclass
class TsaProc:
    pki: TsaPki
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tsr"

    def start(self) -> None:
        log = (self.pki.directory / "tsa-http.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.infra.tsa", "--dir", str(self.pki.directory),
             "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"the TSA front end exited with {self.proc.returncode}")
            time.sleep(0.05)
        raise RuntimeError("the TSA front end did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@contextlib.contextmanager
def tsa_process(pki: TsaPki) -> Iterator[TsaProc]:
    p = TsaProc(pki, free_port())
    p.start()
    try:
        yield p
    finally:
        p.stop()


class _Handler(http.server.BaseHTTPRequestHandler):
    pki: TsaPki
    lock = threading.Lock()  # one `openssl ts -reply` at a time: it advances the serial file

    def do_POST(self) -> None:
        n = int(self.headers.get("content-length") or 0)
        if self.headers.get("content-type") != "application/timestamp-query":
            return self._answer(415, b"want application/timestamp-query", "text/plain")
        if not 0 < n <= MAX_QUERY:
            return self._answer(413, b"bad length", "text/plain")
        query = self.rfile.read(n)
        try:
            with self.lock:
                body = self.pki.reply(query)
        except subprocess.CalledProcessError as exc:
            return self._answer(500, exc.stderr[-500:], "text/plain")
        return self._answer(200, body, "application/timestamp-reply")

    def _answer(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    ap = argparse.ArgumentParser(description="an RFC 3161 TSA over HTTP: openssl ts -reply")
    ap.add_argument("--dir", type=Path, required=True, help="made by TsaPki.create")
    ap.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    args = ap.parse_args()
    _Handler.pki = TsaPki(args.dir)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), _Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


if __name__ == "__main__":
    main()
