"""Times on the command line: exact nanoseconds, explicit UTC, and the epoch is not "absent"."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given
from hypothesis import strategies as st

from vnotary_cli.argtypes import utc_ns
from vnotary_cli.main import main


def test_the_epoch_is_zero_and_fractions_are_exact() -> None:
    assert utc_ns("1970-01-01T00:00:00Z") == 0
    assert utc_ns("1970-01-01T02:00:00+02:00") == 0
    # A float timestamp would round this by hundreds of ns.
    assert utc_ns("2024-05-01T12:00:00.123457Z") == 1_714_564_800_123_457_000
    with pytest.raises(argparse.ArgumentTypeError, match="before the epoch"):
        utc_ns("1969-12-31T23:59:59Z")


@given(st.integers(0, 253_402_300_799 * 10**6))
def test_every_microsecond_round_trips(us: int) -> None:
    from datetime import UTC, datetime, timedelta

    when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
    assert utc_ns(when.isoformat()) == us * 1000


def test_not_before_at_the_epoch_means_the_epoch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15: `--not-before 1970-01-01T00:00:00Z` silently meant "now"."""
    assert main(["collector", "keygen", "--out", str(tmp_path / "c.key")]) == 0
    cfg = tmp_path / "collector.toml"
    cfg.write_text('store = "sqlite:///c.db"\nkey_file = "c.key"\norigin = "t.test/log"\n')
    pem = tmp_path / "dev.pem"
    pem.write_bytes(
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    add = ["collector", "device", "add", "--config", str(cfg), "--public-key", str(pem)]
    assert main([*add, "replayed", "--not-before", "1970-01-01T00:00:00Z"]) == 0
    assert main([*add, "live"]) == 0
    capsys.readouterr()
    assert main(["collector", "device", "list", "--config", str(cfg)]) == 0
    rows = {line.split("\t")[0]: line.split("\t") for line in capsys.readouterr().out.splitlines()}
    assert rows["replayed"][3] == "0"
    assert int(rows["live"][3]) > 1_700_000_000 * 10**9
