"""`vnotary export`: only verified records, read back by python-can, named by sha256 and verdict."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import can
import pytest

from notary_core import records as rec
from notary_core.bundle import parse_bundle
from tests.core.bundle_factory import build, make_world
from tests.report.rich_bundle import build_rich
from tests.verifier.test_verify_cli import trust_file
from verifier.export import candump_line
from vnotary_cli.main import main


def _disclosed(data: bytes) -> list[rec.Record]:
    return [rec.decode(d.record) for b in parse_bundle(data).bundle.batches for d in b.disclosed]


@pytest.fixture(scope="module")
def rich() -> tuple[bytes, object]:
    data, world, _event = build_rich()
    return data, world


def test_candump_reads_back_with_python_can(
    rich: tuple[bytes, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, world = rich
    bundle = tmp_path / "drive.vnb"
    bundle.write_bytes(data)
    trust = trust_file(tmp_path, world)  # type: ignore[arg-type]
    out = tmp_path / "drive.log"
    assert main(["export", str(bundle), "--format", "candump", "-o", str(out),
                 "--trust", str(trust)]) == 0  # fmt: skip
    frames = [r for r in _disclosed(data) if isinstance(r.body, rec.CanFrame)]
    assert len(frames) > 100
    with can.LogReader(str(out)) as reader:
        read = list(reader)
    assert len(read) == len(frames)
    for msg, r in zip(read, frames, strict=True):
        assert isinstance(r.body, rec.CanFrame)
        assert msg.arbitration_id == r.body.can_id and bytes(msg.data) == r.body.data
        assert msg.channel == r.stream and round(msg.timestamp * 1e6) == r.utc_ns // 1000
        assert msg.is_extended_id == bool(r.body.flags & rec.CanFlags.EXT)
    doc = json.loads((tmp_path / "drive.log.manifest.json").read_text())
    assert doc["bundle_sha256"] == hashlib.sha256(data).hexdigest()
    assert doc["verdict"] == "OK" and doc["records"] == len(frames)
    assert doc["left_out"] == len(_disclosed(data)) - len(frames)  # GNSS and IMU: use csv
    assert doc["export_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    said = capsys.readouterr().out
    assert "verdict: OK" in said and doc["bundle_sha256"] in said


def test_csv_has_every_record_and_an_inconclusive_bundle_says_so(
    rich: tuple[bytes, object], tmp_path: Path
) -> None:
    data, _ = rich
    bundle = tmp_path / "drive.vnb"
    bundle.write_bytes(data)
    assert main(["export", str(bundle), "--format", "csv"]) == 0  # no --trust: INCONCLUSIVE
    with (tmp_path / "drive.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    records = _disclosed(data)
    assert len(rows) == len(records)
    assert {row["kind"] for row in rows} == {"can", "nmea", "imu"}
    nmea = next(row for row in rows if row["kind"] == "nmea")
    assert nmea["text"].startswith("$")
    assert [int(row["utc_ns"]) for row in rows] == [r.utc_ns for r in records]
    doc = json.loads((tmp_path / "drive.csv.manifest.json").read_text())
    assert doc["verdict"] == "INCONCLUSIVE" and doc["reasons"] == []
    assert any("UNTRUSTED" in u for u in doc["undecided"])


def test_a_failing_bundle_exports_nothing(tmp_path: Path) -> None:
    w = make_world()
    raw = bytearray(build(w))
    raw[-100] ^= 1  # the collector's signature
    bundle = tmp_path / "bad.vnb"
    bundle.write_bytes(bytes(raw))
    assert main(["export", str(bundle), "--format", "candump"]) == 1
    assert not (tmp_path / "bad.log").exists()
    assert not (tmp_path / "bad.log.manifest.json").exists()


@pytest.mark.parametrize(
    ("flags", "can_id", "data", "line"),
    [
        (rec.CanFlags(0), 0x0B4, b"\x01\x02", "0B4#0102"),
        (rec.CanFlags.EXT, 0x18DAF110, b"", "18DAF110#"),
        (rec.CanFlags.RTR, 0x123, b"", "123#R8"),
        (rec.CanFlags.FD | rec.CanFlags.BRS, 0x123, bytes(12), "123##1" + "00" * 12),
        # An error frame's id is its error class (linux/can/error.h; 0x080: bus error).
        (rec.CanFlags.ERR, 0x080, bytes(8), "20000080#" + "00" * 8),
    ],
)
def test_candump_lines_follow_can_utils(
    flags: rec.CanFlags, can_id: int, data: bytes, line: str, tmp_path: Path
) -> None:
    dlc = 8 if flags & rec.CanFlags.RTR else len(data) if len(data) <= 8 else 9
    r = rec.Record("can0", 0, 0, 1_700_000_000_123_456_789, rec.ClockSource.GNSS,
                   rec.CanFrame(can_id, flags, dlc, data))  # fmt: skip
    text = candump_line(r)
    assert text == f"(1700000000.123456) can0 {line}"
    log = tmp_path / "one.log"
    log.write_text(text + "\n")
    with can.LogReader(str(log)) as reader:
        (msg,) = list(reader)
    assert msg.is_fd == bool(flags & rec.CanFlags.FD)
    assert msg.is_remote_frame == bool(flags & rec.CanFlags.RTR)
    assert msg.is_error_frame == bool(flags & rec.CanFlags.ERR)
    if not flags & (rec.CanFlags.RTR | rec.CanFlags.ERR):  # python-can drops those payloads
        assert bytes(msg.data) == data
