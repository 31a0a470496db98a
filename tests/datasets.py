"""The real data set the tests read: `data/` in the repository (provenance: data/SOURCES.md).

The CAN traces are stored gzipped (`.log.gz`): python-can's LogReader reads them as they
are, and `read_text` opens either form for the tests that parse lines themselves.
"""

from __future__ import annotations

import gzip
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
RAV4_CAN = "can/comma2k19_toyota_rav4_seg40_reconstructed.log.gz"
GIULIA_CAN = "can/recan_alfa_romeo_giulia_exp3.log.gz"
RAV4_DBC = "dbc/toyota_rav4_2017_pt_generated.dbc"
RAV4_GNSS = "gnss/comma2k19_toyota_rav4_seg40_gnss_ublox.csv"
RAV4_IMU = "imu/comma2k19_toyota_rav4_seg40_imu.csv"


def read_text(path: Path) -> str:
    """The text of a data file, gunzipped when its name ends in `.gz`."""
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes()).decode("ascii")
    return path.read_text(encoding="utf-8")
