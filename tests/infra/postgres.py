"""A throwaway PostgreSQL cluster for integration tests (research/feasibility.md §7).

PostgreSQL refuses to run as root, so when the tests run as root the cluster runs as the
`postgres` system user. Test settings by default (TEST_SETTINGS: fsync off); a benchmark
passes `settings=DURABLE` (PostgreSQL's defaults: fsync, synchronous_commit and
full_page_writes on, as in production) plus what it needs. One cluster per test session;
each test gets its own database from `PgCluster.new_database()`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shlex
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from vnotary_cli.demo.stack import free_port as _free_port

TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
"""Nothing survives a crash of the host: fast, and enough for tests, which never crash it."""
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/install-system-deps.sh")
    return Path(found[-1]).parent


class PgCluster:
    def __init__(self, root: Path, port: int, settings: Mapping[str, str] = TEST_SETTINGS) -> None:
        self.root = root
        self.port = port
        self.settings = dict(settings)
        self.log = root / "log"
        self.dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        data = self.root / "data"
        if not data.exists():
            self._run(
                str(pg_bin() / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1" + "".join(
            f" -c {shlex.quote(f'{k}={v}')}" for k, v in self.settings.items()
        )
        self._run(
            str(pg_bin() / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.log),
            "-w",
            "-s",
            "-o",
            opts,
            "start",
        )

    def stop(self) -> None:
        data = self.root / "data"
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(pg_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-s", "stop")

    def new_database(self) -> str:
        """A fresh, empty database on the cluster; returns its DSN."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    @property
    def postmaster_pid(self) -> int:
        return int((self.root / "data" / "postmaster.pid").read_text().split()[0])


@contextlib.contextmanager
def pg_cluster(settings: Mapping[str, str] = TEST_SETTINGS) -> Iterator[PgCluster]:
    root = Path(tempfile.mkdtemp(prefix="vn-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PgCluster(root, _free_port(), settings)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
