"""The data set in data/: complete, unaltered, documented, and nothing reads ../shared.

A clone must run the demo and the tests on its own (issue 15): every file the tests and
the demo read is in data/, each matches the SHA-256 of the original recorded in
data/SHA256SUMS (the CAN traces after gunzip), each is described in data/SOURCES.md, and
its licence text is in data/LICENSES/.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
from pathlib import Path

from tests.datasets import DATA, GIULIA_CAN, RAV4_CAN, RAV4_DBC, RAV4_GNSS, RAV4_IMU
from vnotary_cli.demo import inputs

REPO = DATA.parent
NOT_DATA = {"SOURCES.md", "SHA256SUMS"}


def _sums() -> dict[str, str]:
    out = {}
    for line in (DATA / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        out[name] = digest
    return out


def _stored(name: str) -> Path:
    """Where the original `name` is kept: as is, or gzipped beside it."""
    plain = DATA / name
    return plain if plain.exists() else DATA / f"{name}.gz"


def test_every_file_matches_the_digest_of_its_original() -> None:
    sums = _sums()
    assert len(sums) == 14
    for name, digest in sums.items():
        path = _stored(name)
        raw = path.read_bytes()
        if path.suffix == ".gz":
            assert raw[4:8] == b"\0\0\0\0", f"{path}: gzip header has a time (use gzip -n)"
            raw = gzip.decompress(raw)
        assert hashlib.sha256(raw).hexdigest() == digest, name


def test_every_stored_file_is_listed_described_and_licensed() -> None:
    sums = _sums()
    sources = (DATA / "SOURCES.md").read_text()
    stored = {
        p.relative_to(DATA).as_posix()
        for p in DATA.rglob("*")
        if p.is_file() and p.parent.name != "LICENSES" and p.name not in NOT_DATA
    }
    originals = {s.removesuffix(".gz") for s in stored}
    assert originals == set(sums)
    for name in stored:
        assert f"`{name}`" in sources, f"{name} is not described in data/SOURCES.md"
    for licence in re.findall(r"`LICENSES/([^`]+)`", sources):
        assert (DATA / "LICENSES" / licence).is_file(), licence
    assert len(list((DATA / "LICENSES").iterdir())) == 5


def test_the_names_the_tests_and_the_demo_use_exist() -> None:
    for rel in (RAV4_CAN, GIULIA_CAN, RAV4_DBC, RAV4_GNSS, RAV4_IMU):
        assert (DATA / rel).is_file(), rel
    assert [m for m in inputs.missing(DATA) if m.startswith("data file")] == []


def test_the_demo_names_every_missing_data_file_before_starting(tmp_path: Path) -> None:
    lacking = inputs.missing(tmp_path)
    for rel in (inputs.TRACE, inputs.DBC, RAV4_IMU, RAV4_GNSS):
        assert any(str(tmp_path / rel) in line for line in lacking), rel


def test_nothing_in_the_repository_reads_the_shared_folder() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    # A path to ../shared in code, not a mention in a docstring (notary_core/conformance.py
    # names the vector layout's README by its place in the shared set).
    pattern = re.compile(r"""\.\./shared|VNOTARY_SHARED_DATA|["']shared["']|/ "shared/""")
    offenders = []
    for name in tracked:
        path = REPO / name
        if path.suffix not in {".py", ".sh", ".toml", ".yaml", ".cfg", ""} or not path.is_file():
            continue
        if name.startswith("data/") or path == Path(__file__):
            continue
        text = path.read_text(errors="replace")
        offenders += [f"{name}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []
