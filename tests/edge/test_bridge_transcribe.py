"""Bridge messages that stand for core records are transcribed exactly (stream gnss / imu)."""

from __future__ import annotations

from edge_agent.sources.bridge import _transcribe
from firmware_bridge import messages as msg
from notary_core import records as rec


def test_gnss_passthrough_becomes_an_nmea_record_with_its_checksum_checked() -> None:
    good = b"$GPGGA,161229.487,3723.2475,N,12158.3416,W,1,07,1.0,9.0,M,,,,0000*18"
    stream, body = _transcribe(msg.GnssSentence(good))  # type: ignore[misc]
    assert stream == "gnss" and body == rec.NmeaSentence(rec.NmeaStatus.CHECKSUM_OK, good)
    bad = good.replace(b"3723", b"3724")
    _, body = _transcribe(msg.GnssSentence(bad))  # type: ignore[misc]
    assert body == rec.NmeaSentence(rec.NmeaStatus.CHECKSUM_BAD, bad)


def test_imu_counts_are_scaled_and_other_messages_are_not_transcribed() -> None:
    sample = msg.ImuSample((1000, -2000, 3), (4, 5, -6), 1_000_000, 2_000)
    stream, body = _transcribe(sample)  # type: ignore[misc]
    assert stream == "imu" and isinstance(body, rec.ImuSample)
    assert body.accel == (1.0, -2.0, 3_000_000 / 1e9)
    assert body.gyro == (8_000 / 1e9, 10_000 / 1e9, -12_000 / 1e9)
    assert _transcribe(msg.Heartbeat(0, 0)) is None
