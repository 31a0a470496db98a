"""A small ext4 file system the tests can fill or turn read-only: the spool's disk failing
for real, as it does on a gateway (a full SD card; ext4 remounting itself read-only after
an I/O error, with the agent's files still open, which a plain `remount,ro` refuses).

Needs root (loop mount) and e2fsprogs; the tests and CI run as root on these machines.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def ext4(path: Path, size_mb: int) -> Iterator[Path]:
    image = path.with_name(path.name + ".img")
    with image.open("wb") as f:
        f.truncate(size_mb << 20)
    subprocess.run(["mkfs.ext4", "-q", "-m", "0", str(image)], check=True)
    path.mkdir(parents=True, exist_ok=True)
    opts = "loop,errors=remount-ro"
    subprocess.run(["mount", "-o", opts, str(image), str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)  # also frees the loop device
        image.unlink()


def turn_read_only(path: Path) -> None:
    """Make ext4 hit an error (its test hook), so it remounts itself read-only."""
    source = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()
    Path("/sys/fs/ext4", Path(source).name, "trigger_fs_error").write_text("vnotary test\n")


def fill(path: Path) -> None:
    """Write a filler file until the file system is full."""
    with (path / "filler").open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
