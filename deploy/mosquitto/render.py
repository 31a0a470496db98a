#!/usr/bin/env python3
"""Render deploy/mosquitto/mosquitto.conf.template for a real broker.

    render.py --port 8883 --cafile /etc/mosquitto/vn/ca.crt --certfile ... --keyfile ... \
        --acl-file /etc/mosquitto/vn/acl.conf > /etc/mosquitto/conf.d/vnotary.conf
"""

from __future__ import annotations

import argparse
import string
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "mosquitto.conf.template"
ACL = HERE / "acl.conf"


def render(**values: str) -> str:
    """Substitute every ${name}; a missing value is an error, never an empty setting."""
    return string.Template(TEMPLATE.read_text()).substitute(values)


def main() -> int:
    p = argparse.ArgumentParser(description="render the vnotary mosquitto configuration")
    p.add_argument("--port", default="8883")
    p.add_argument("--bind-address", default="0.0.0.0")  # noqa: S104 - a broker serves vehicles
    p.add_argument("--user", default="mosquitto")
    p.add_argument("--persistence", default="true")
    p.add_argument("--data-dir", default="/var/lib/mosquitto")
    p.add_argument("--log-file", default="/var/log/mosquitto/mosquitto.log")
    p.add_argument("--cafile", required=True)
    p.add_argument("--certfile", required=True)
    p.add_argument("--keyfile", required=True)
    p.add_argument("--acl-file", default=str(ACL))
    a = p.parse_args()
    sys.stdout.write(
        render(
            port=a.port,
            bind_address=a.bind_address,
            user=a.user,
            persistence=a.persistence,
            data_dir=a.data_dir,
            log_file=a.log_file,
            cafile=a.cafile,
            certfile=a.certfile,
            keyfile=a.keyfile,
            acl_file=a.acl_file,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
