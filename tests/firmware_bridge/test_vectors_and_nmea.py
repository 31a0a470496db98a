"""Golden vectors (Python side), the NMEA checker against real receiver logs, and the
simulator's timeline of the real RAV4 drive decoded end to end without a pty."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from firmware_bridge import cobs_ref, frame, playback, vectors
from firmware_bridge.board import BoardEncoder
from firmware_bridge.decoder import FrameStatus, StreamDecoder
from firmware_bridge.messages import GnssSentence, ImuSample, TimeSync
from firmware_bridge.nmea import NmeaCheck, check_sentence, make_sentence

pytestmark = pytest.mark.usefixtures("each_decoder")

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors" / "bridge"
LOGS = ("gpsd-haicom-305N.log", "gpsd-nl2008u.log", "gpsd-ublox-neo-m9n-nmea.log")


def test_committed_vectors_match_the_generator() -> None:
    assert vectors.main(["--check"]) == 0


def test_corruption_vectors_decode_as_recorded() -> None:
    for case in json.loads((VECTOR_DIR / "corruptions.json").read_text())["cases"]:
        keys = {int(b): bytes.fromhex(k) for b, k in case["keys"].items()}
        dec = StreamDecoder(keys)
        got = dec.feed(bytes.fromhex(case["wire"]))
        assert [f.raw.hex() for f in got] == [f["frame"] for f in case["expect_frames"]], case[
            "name"
        ]
        assert [f.status.name for f in got] == [f["status"] for f in case["expect_frames"]]
        assert dec.counters.as_dict() == case["expect_counters"], case["name"]


def test_named_corruptions_mean_what_they_say() -> None:
    cases = {
        c["name"]: c for c in json.loads((VECTOR_DIR / "corruptions.json").read_text())["cases"]
    }
    assert cases["crc-bit-@20"]["expect_counters"]["crc_failures"] == 1
    statuses = [f["status"] for f in cases["replayed"]["expect_frames"]]
    assert statuses == ["OK", "OK", "REPLAYED", "OK"]
    assert cases["tag-bit-@-5-crc-fixed"]["expect_frames"][1]["status"] == "UNAUTHENTICATED"
    assert cases["oversize-run"]["expect_counters"]["oversize_frames"] == 1
    assert cases["unknown-type"]["expect_counters"]["unknown_types"] == 1
    gnss = bytes.fromhex(cases["gnss-bad-nmea-checksum"]["expect_frames"][0]["frame"])[19:-4]
    assert check_sentence(gnss) is NmeaCheck.BAD


def test_reference_cobs_equals_the_c_extension_on_every_vector() -> None:
    for v in json.loads((VECTOR_DIR / "frames.json").read_text())["frames"]:
        raw = bytes.fromhex(v["frame"])
        assert cobs_ref.encode(raw) + b"\x00" == bytes.fromhex(v["wire"]) == frame.to_wire(raw)
        assert cobs_ref.decode(cobs_ref.encode(raw)) == raw
    for n in range(0, 700):
        data = os.urandom(n)
        assert frame.to_wire(data)[:-1] == cobs_ref.encode(data)


def test_real_receiver_logs_pass_and_gpsd_accepted_every_sentence(shared_data: Path) -> None:
    """The three gpsd captures hold no bad checksum (verified here, sentence by sentence); gpsd's
    expected output (.chk) echoes every one of them, i.e. gpsd accepted them too."""
    for name in LOGS:
        lines = (shared_data / "nmea" / name).read_bytes().splitlines(keepends=True)
        sentences = [line for line in lines if line[:1] in (b"$", b"!")]
        assert sentences and all(check_sentence(s) is NmeaCheck.OK for s in sentences), name
        chk = set((shared_data / "nmea" / f"{name}.chk").read_bytes().splitlines())
        assert {s.rstrip(b"\r\n") for s in sentences} <= chk


def test_a_real_sentence_with_one_altered_byte_is_flagged_not_accepted(shared_data: Path) -> None:
    lines = (shared_data / "nmea" / "gpsd-haicom-305N.log").read_bytes().splitlines(keepends=True)
    real = next(line for line in lines if line.startswith(b"$GPGGA"))
    k = real.index(b",", 10) + 1  # a digit of the latitude, as a line error would hit it
    altered = real[:k] + bytes([real[k] ^ 0x01]) + real[k + 1 :]
    assert check_sentence(real) is NmeaCheck.OK
    assert check_sentence(altered) is NmeaCheck.BAD
    # Through the bridge: the frame is intact (the board passes bytes through), the NMEA is not.
    (got,) = StreamDecoder().feed(BoardEncoder(1).wire(GnssSentence(altered), 5))
    assert got.status is FrameStatus.OK and isinstance(got.message, GnssSentence)
    assert check_sentence(got.message.raw) is NmeaCheck.BAD


def test_nmea_statuses() -> None:
    assert check_sentence(b"$GPGLL,4916.45,N,12311.12,W,225444,A\r\n") is NmeaCheck.NO_CHECKSUM
    assert check_sentence(make_sentence("GPZDA,1,2,3")) is NmeaCheck.OK
    assert check_sentence(b"$GPZDA,1,2,3*4x\r\n") is NmeaCheck.MALFORMED
    for bad in (
        b"",
        b"GPGGA,1*00",
        b"$",
        b"$*00",
        b"$GP$GGA*00",
        b"$GPGGA,\x01*00",
        b"$" + b"A" * 2000,
    ):
        assert check_sentence(bad) is NmeaCheck.MALFORMED, bad
    assert [int(s) for s in NmeaCheck] == [0, 1, 2, 3]  # = notary_core.records.NmeaStatus


def test_nmea_log_passthrough_keeps_every_byte(shared_data: Path) -> None:
    raw = (shared_data / "nmea" / "gpsd-ublox-neo-m9n-nmea.log").read_bytes()
    board = BoardEncoder(2)
    wire = b"".join(
        board.wire(t.message, t.mcu_us) for t in playback.nmea_log(raw.splitlines(keepends=True))
    )
    got = StreamDecoder().feed(wire)
    sent = [line for line in raw.splitlines(keepends=True) if line[:1] in (b"$", b"!")]
    assert [f.message.raw for f in got if isinstance(f.message, GnssSentence)] == sent


def test_simulated_drive_decodes_completely(shared_data: Path) -> None:
    imu = (shared_data / "imu" / "comma2k19_toyota_rav4_seg40_imu.csv").read_text().splitlines(True)
    gnss = (
        (shared_data / "gnss" / "comma2k19_toyota_rav4_seg40_gnss_ublox.csv")
        .read_text()
        .splitlines(True)
    )
    board = BoardEncoder(1, bytes(range(32)))
    timeline = list(playback.board(playback.imu(imu), playback.gnss(gnss)))
    dec = StreamDecoder({1: bytes(range(32))})
    got = dec.feed(b"".join(board.wire(t.message, t.mcu_us) for t in timeline))
    assert len(got) == len(timeline) and all(f.status is FrameStatus.OK for f in got)
    samples = [f.message for f in got if isinstance(f.message, ImuSample)]
    assert len(samples) == len(imu) - 1
    first = imu[1].split(",")
    assert abs(samples[0].accel_si[0] - float(first[1])) < 1e-6
    nmea = [f.message.raw for f in got if isinstance(f.message, GnssSentence)]
    assert len(nmea) == 2 * (len(gnss) - 1)
    assert all(check_sentence(s) is NmeaCheck.OK for s in nmea)
    assert nmea[0] == vectors.GGA
    assert sum(isinstance(f.message, TimeSync) for f in got) == 58
    assert dec.counters.seq_gaps == 0 and dec.counters.bytes_discarded == 0
