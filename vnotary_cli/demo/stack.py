"""The demo's local stack: processes it starts, watches and always stops.

Each service runs as a child process with its output in `<workdir>/logs/<name>.log`;
`Stack` is a context manager that stops every process it started, in reverse order, even
when a step fails. Nothing here listens beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    what: str, ready: Callable[[], bool], timeout: float, proc: Proc | None = None
) -> None:
    """Poll `ready` until it is true; fail with the service's log tail if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if proc is not None and proc.popen.poll() is not None:
            raise DemoError(
                f"{what}: {proc.name} exited with {proc.popen.returncode}\n{proc.tail()}"
            )
        time.sleep(0.1)
    raise DemoError(
        f"{what}: not ready after {timeout:.0f} s" + (f"\n{proc.tail()}" if proc else "")
    )


def port_open(port: int) -> Callable[[], bool]:
    def check() -> bool:
        with socket.socket() as s:
            s.settimeout(0.2)
            return s.connect_ex(("127.0.0.1", port)) == 0

    return check


class DemoError(RuntimeError):
    """A demo step failed; the message says which and why."""


class Proc:
    def __init__(
        self, name: str, popen: subprocess.Popen[bytes], log: Path, out: IO[bytes]
    ) -> None:
        self.name, self.popen, self.log, self._out = name, popen, log, out

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(f"    {self.name}| {line}" for line in text)

    def first_line(self, timeout: float = 20.0) -> str:
        """The first line the process printed (simulators print their pty path)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if "\n" in text:
                return text.split("\n", 1)[0].strip()
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        raise DemoError(f"{self.name} printed nothing\n{self.tail()}")

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise DemoError(
                f"{self.name} still running after {timeout:.0f} s\n{self.tail()}"
            ) from None

    def stop(self, grace: float = 10.0) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._out.close()
        return self.popen.returncode


class Stack:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.logs / f"{name}.log"
        out = log.open("wb")
        popen = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}, cwd=REPO,
        )  # fmt: skip
        proc = Proc(name, popen, log, out)
        self.procs.append(proc)
        return proc

    def vnotary(self, name: str, *args: str) -> Proc:
        return self.start(name, [sys.executable, "-m", "vnotary_cli.main", *args])

    def run(self, name: str, *args: str, timeout: float = 60.0, check_exit: bool = True) -> str:
        """Run a vnotary command to completion; return its output (and fail on a non-zero
        exit unless `check_exit` is false)."""
        proc = subprocess.run(
            [sys.executable, "-m", "vnotary_cli.main", *args], capture_output=True, text=True,
            timeout=timeout, cwd=REPO, check=False,
        )  # fmt: skip
        (self.logs / f"{name}.log").write_text(proc.stdout + proc.stderr)
        if check_exit and proc.returncode != 0:
            detail = proc.stderr or proc.stdout
            raise DemoError(f"`vnotary {' '.join(args)}` exited {proc.returncode}:\n{detail}")
        return proc.stdout

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                proc.stop()
