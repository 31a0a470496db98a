"""A valid evidence bundle of the real RAV4 drive (../shared/data), for the report tests.

The factory of tests/core builds the keys and the log; the batches here hold real records:
CAN speed (0x0b4) and brake (0x224) frames from the comma2k19 trace, GNSS as NMEA GGA/RMC
written from the u-blox fixes, and the IMU samples, all on the recording's boot clock
placed in UTC by the GNSS fixes. The `views` are decoded with the DBC, as the collector
does, and the event is the hardest braking of the drive.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import cantools

from notary_core import batch, bundle, grant, header, logleaf
from notary_core import records as r
from tests.conftest import SHARED_DATA
from tests.core import bundle_factory as f

DATA = SHARED_DATA
CAN_LOG = DATA / "can" / "comma2k19_toyota_rav4_seg40_reconstructed.log"
GNSS_CSV = DATA / "gnss" / "comma2k19_toyota_rav4_seg40_gnss_ublox.csv"
IMU_CSV = DATA / "imu" / "comma2k19_toyota_rav4_seg40_imu.csv"
DBC = DATA / "dbc" / "toyota_rav4_2017_pt_generated.dbc"
IDS = {0x0B4: "SPEED", 0x224: "BRAKE_MODULE"}
SCOPE = ("can0#0b4", "can0#224", "gnss", "imu")
SEC = f.SEC


def _nmea(body: str) -> bytes:
    x = 0
    for ch in body.encode():
        x ^= ch
    return f"${body}*{x:02X}".encode()


def _dm(deg: float, digits: int) -> str:
    a = abs(deg)
    d = int(a)
    return f"{d:0{digits}d}{(a - d) * 60:07.4f}"


def gnss_sentences(lat: float, lon: float, speed_mps: float, utc_ms: int) -> list[bytes]:
    t = datetime.fromtimestamp(utc_ms / 1000, UTC)
    hms = t.strftime("%H%M%S") + f".{utc_ms % 1000 // 10:02d}"
    ns, ew = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
    pos = f"{_dm(lat, 2)},{ns},{_dm(lon, 3)},{ew}"
    knots = speed_mps / (1852 / 3600)
    return [
        _nmea(f"GPGGA,{hms},{pos},1,09,0.9,33.4,M,-29.5,M,,"),
        _nmea(f"GPRMC,{hms},A,{pos},{knots:.2f},,{t.strftime('%d%m%y')},,,A"),
    ]


@dataclass
class Drive:
    records: list[tuple[int, int, str, r.Body]]  # (mono ns, utc ns, stream, body)
    offset_ns: int  # utc = boot + offset


@functools.cache
def load_drive() -> Drive:
    with GNSS_CSV.open() as fh:
        gnss = list(csv.DictReader(fh))
    offset = round(int(gnss[0]["utc_timestamp_ms"]) * 1e6 - float(gnss[0]["t_boot_s"]) * 1e9)
    out: list[tuple[int, int, str, r.Body]] = []
    for row in gnss:
        mono = round(float(row["t_boot_s"]) * 1e9)
        for s in gnss_sentences(
            float(row["latitude_deg"]),
            float(row["longitude_deg"]),
            float(row["speed_mps"]),
            int(row["utc_timestamp_ms"]),
        ):
            out.append((mono, mono + offset, "gnss", r.NmeaSentence(r.NmeaStatus.CHECKSUM_OK, s)))
    with IMU_CSV.open() as fh:
        for row in csv.DictReader(fh):
            mono = round(float(row["t_boot_s"]) * 1e9)
            v = [float(row[k]) for k in list(row)[1:]]
            out.append(
                (mono, mono + offset, "imu", r.ImuSample((v[0], v[1], v[2]), (v[3], v[4], v[5])))
            )
    for line in CAN_LOG.read_text().splitlines():
        ts, chan, frame = line.split()
        can_id, data = frame.split("#")
        if chan != "can0" or int(can_id, 16) not in IDS:
            continue
        mono = round(float(ts.strip("()")) * 1e9)
        payload = bytes.fromhex(data)
        out.append(
            (
                mono,
                mono + offset,
                "can0",
                r.CanFrame(int(can_id, 16), r.CanFlags(0), len(payload), payload),
            )
        )
    out.sort(key=lambda x: x[0])
    return Drive(out, offset)  # fmt: skip


def decoded_views(drive: Drive, window: tuple[int, int]) -> dict[str, Any]:
    """What the collector puts in `views`: DBC-decoded speed and brake inside the window."""
    db = cantools.database.load_file(str(DBC))
    signals: dict[str, dict[str, Any]] = {}
    for _mono, utc, stream, body in drive.records:
        if stream != "can0" or not window[0] <= utc <= window[1]:
            continue
        assert isinstance(body, r.CanFrame)
        values = db.decode_message(body.can_id, body.data, decode_choices=False)
        wanted = {"SPEED": "km/h", "BRAKE_PRESSED": "", "BRAKE_PRESSURE": ""}
        for name, unit in wanted.items():
            if name in values:
                s = signals.setdefault(name, {"unit": unit, "source": f"can0#{body.can_id:03x}",
                                              "t": [], "v": []})  # fmt: skip
                s["t"].append(utc)
                s["v"].append(float(values[name]))
    return {"dbc": {"name": DBC.name, "sha256": hashlib.sha256(DBC.read_bytes()).hexdigest()},
            "signals": signals}  # fmt: skip


def hardest_braking(margin_s: int) -> int:
    """UTC ns of the steepest 1 s speed drop (GNSS speed, 10 Hz) at least `margin_s` from
    either end of the drive, so that a window around it is full of data."""
    with GNSS_CSV.open() as fh:
        rows = [(int(x["utc_timestamp_ms"]) * 10**6, float(x["speed_mps"]))
                for x in csv.DictReader(fh)]  # fmt: skip
    inner = range(10 * margin_s, len(rows) - 10 * margin_s - 10)
    return max((rows[i][1] - rows[i + 10][1], rows[i + 5][0]) for i in inner)[1]


def build_rich(
    purpose: str = "claim 2018-0815: rear-end collision",
    half_window_s: int = 15,
    views: dict[str, Any] | None = None,
    signal_name: str | None = None,
) -> tuple[bytes, f.World, int]:
    """(signed bundle, world, event utc ns) for a window around the hardest braking."""
    drive = load_drive()
    w = f.make_world(n_batches=0)
    event = hardest_braking(half_window_s)
    window = (event - half_window_s * SEC, event + half_window_s * SEC)
    t_first = drive.records[0][0]
    by_second: dict[int, list[tuple[int, int, str, r.Body]]] = {}
    for item in drive.records:
        by_second.setdefault((item[0] - t_first) // SEC, []).append(item)
    prev, seqs, counts = header.GENESIS_PREV_HASH, dict[str, int](), dict[str, int]()
    for n, (_sec, items) in enumerate(sorted(by_second.items())):
        recs = []
        for mono, utc, stream, body in items:
            seqs[stream] = seqs.get(stream, -1) + 1
            counts[stream] = counts.get(stream, 0) + 1
            recs.append(r.encode(r.Record(stream, seqs[stream], mono, utc, r.ClockSource.GNSS,
                                          body)))  # fmt: skip
        tmpl = header.BatchHeader(
            device_id=f.DEVICE, boot_id=bytes.fromhex("b0c9d2329ad1606b") * 2, batch_seq=n,
            prev_header_hash=prev, record_count=0, merkle_root=bytes(32),
            first_mono_ns=items[0][0], last_mono_ns=items[-1][0],
            first_utc_ns=items[0][1], last_utc_ns=items[-1][1],
            clock_source=r.ClockSource.GNSS, clock_uncertainty_ns=2_000_000,
            streams={k: header.StreamCounters(c, c) for k, c in counts.items()},
            agent_version="vnotary-edge/0.1.0", config_hash=hashlib.sha256(b"agent.toml").digest(),
            key_id=b"", counts={},
        )  # fmt: skip
        sb = batch.seal(tmpl, recs, os.urandom(32), w.device)
        prev = sb.signed.header_hash
        w.batches.append((sb, recs, w.log(logleaf.batch_leaf(sb.signed.header_hash))))
    g = f.owner_grant(w, window_start_ns=window[0] - 60 * SEC, window_end_ns=window[1] + 60 * SEC,
                      scope=SCOPE, purpose=purpose)  # fmt: skip
    raw = f.build(w, window=window, scope=SCOPE, grants=[grant.issue(g, w.owner)])
    b = bundle.parse_bundle(raw).bundle
    if views is None:
        views = decoded_views(drive, window)
        views["event"] = {"utc_ns": event, "label": "hardest braking"}
        if signal_name is not None:
            views["signals"][signal_name] = views["signals"].pop("SPEED")
    b = replace(b, bundle_id="ev-2018-0815-0001", views=views,
                request=replace(b.request, purpose=purpose))  # fmt: skip
    return b.sign(w.collector), w, event
