"""A real chronyd for the clock tests, with `-x`: it never touches the host's clock.

Its command socket lives in a private directory (chronyd refuses one others can enter), a
SOCK reference clock takes samples the test sends (the datagram gpsd sends, chrony's
refclock_sock.c `struct sock_sample`), and a second chronyd can serve NTP on 127.0.0.1
(`local stratum 1`) to a client chronyd. chrony is a Debian package
(scripts/install-system-deps.sh installs it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

CHRONYD = shutil.which("chronyd") or "/usr/sbin/chronyd"
CHRONYC = shutil.which("chronyc") or "/usr/bin/chronyc"
SOCK_MAGIC = 0x534F434B  # "SOCK"


class Chronyd:
    def __init__(self, workdir: Path, lines: list[str]) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self.socket = str(self.dir / "chronyd.sock")
        self.refclock = str(self.dir / "gnss.sock")
        conf = [*lines, f"pidfile {self.dir / 'chronyd.pid'}", f"driftfile {self.dir / 'drift'}"]
        (self.dir / "chrony.conf").write_text("\n".join(conf) + "\n")
        cmd = [CHRONYD, "-x", "-n", "-f", str(self.dir / "chrony.conf"), "-l",
               str(self.dir / "chronyd.log")]  # fmt: skip
        if os.geteuid() == 0:
            cmd[1:1] = ["-u", "root"]  # keep root: the private directory is root's
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_socket(self, path: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chronyd did not start: {self.log()}")
            time.sleep(0.05)

    def tracking(self) -> str:
        """chronyc's human-readable tracking report (the tests read it independently)."""
        return subprocess.run([CHRONYC, "-n", "-h", self.socket, "tracking"], capture_output=True,
                              text=True, check=True, timeout=5).stdout  # fmt: skip

    def log(self) -> str:
        p = self.dir / "chronyd.log"
        return p.read_text() if p.exists() else ""

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class SockFeeder:
    """Sends a sample to a SOCK refclock every `interval` s: 'true time = system time +
    offset', as gpsd does for a GNSS receiver."""

    def __init__(
        self, path: str, offset_s: float, interval: float = 0.25, pulse: bool = False
    ) -> None:
        self.path, self.offset, self.interval, self.pulse = path, offset_s, interval, pulse
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            while not self._stop.wait(self._until_next()):
                t = time.time()
                sec = int(t)
                offset = self.offset
                if self.pulse:  # a PPS edge: only the offset within the second counts
                    offset = self.offset - (t - sec)
                sample = struct.pack("@qqdiiii", sec, int((t - sec) * 1e6), offset,
                                     int(self.pulse), 0, 0, SOCK_MAGIC)  # fmt: skip
                with contextlib.suppress(OSError):  # chronyd not up yet
                    s.sendto(sample, self.path)

    def _until_next(self) -> float:
        """A receiver's pulse comes on the second, not `interval` after the last one was sent
        (waiting `interval` drifts late under load, and a 1 Hz source then misses polls)."""
        if not self.pulse:
            return self.interval
        t = time.time()
        return self.interval - (t % self.interval) + 0.001

    def __enter__(self) -> SockFeeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def gnss_chronyd(refid: str = "GPS") -> Iterator[Chronyd]:
    """chronyd -x with one SOCK refclock (a GNSS receiver through gpsd) and a command socket."""
    with tempfile.TemporaryDirectory(prefix="vn-chrony-") as tmp:
        d = Path(tmp) / "c"
        c = Chronyd(d, [f"refclock SOCK {d / 'gnss.sock'} refid {refid} poll 0 filter 1 "
                        "delay 0.0002", f"bindcmdaddress {d / 'chronyd.sock'}", "cmdport 0",
                        "port 0", "makestep 1 -1"])  # fmt: skip
        try:
            c.wait_socket(c.socket)
            yield c
        finally:
            c.stop()


@contextlib.contextmanager
def ntp_chronyd() -> Iterator[Chronyd]:
    """An NTP server chronyd on 127.0.0.1 (local stratum 1) and a client chronyd -x of it."""
    with tempfile.TemporaryDirectory(prefix="vn-chrony-") as tmp:
        port = free_udp_port()
        server = Chronyd(Path(tmp) / "s", ["local stratum 1", "allow 127.0.0.1",
                                           f"port {port}", "bindaddress 127.0.0.1",
                                           "cmdport 0"])  # fmt: skip
        d = Path(tmp) / "c"
        client = Chronyd(d, [f"server 127.0.0.1 port {port} iburst minpoll -6 maxpoll -6",
                             f"bindcmdaddress {d / 'chronyd.sock'}", "cmdport 0", "port 0",
                             "makestep 1 -1"])  # fmt: skip
        try:
            client.wait_socket(client.socket)
            yield client
        finally:
            client.stop()
            server.stop()
