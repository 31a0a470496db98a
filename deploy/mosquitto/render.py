#!/usr/bin/env python3
"""Render deploy/mosquitto/mosquitto.conf.template for a real broker.

    render.py --port 8883 --cafile /etc/mosquitto/vn/ca.crt --certfile ... --keyfile ... \
        --acl-file /etc/mosquitto/vn/acl.conf > /etc/mosquitto/mosquitto.conf

A full main file (the compose stack, the tests). Beside Debian's stock
/etc/mosquitto/mosquitto.conf, which already sets persistence, persistence_location and
log_dest and then includes conf.d (a second persistence_location is "Duplicate
persistence_location" and mosquitto does not start), render a drop-in instead:

    render.py --drop-in --cafile ... --certfile ... --keyfile ... \
        --acl-file /etc/mosquitto/vn/acl.conf > /etc/mosquitto/conf.d/vnotary.conf

`--crlfile PATH` adds the fleet CA's revocation list (deploy/pki/fleet_ca.py: crl.pem) to the
listener: a revoked client certificate is then refused at the TLS handshake. mosquitto reads
the file when it starts (and on SIGHUP): after a revocation, replace it and restart or HUP the
broker (docs/deploy.md § Device certificates).
"""

from __future__ import annotations

import argparse
import string
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "mosquitto.conf.template"
ACL = HERE / "acl.conf"
# What Debian's stock /etc/mosquitto/mosquitto.conf sets before `include_dir
# /etc/mosquitto/conf.d`: a drop-in leaves these to it (persistence in /var/lib/mosquitto,
# the log in /var/log/mosquitto/mosquitto.log, the same as the full file's defaults).
DEBIAN_MAIN_KEYS = frozenset({"pid_file", "persistence", "persistence_location", "log_dest"})


def render(
    drop_in: bool = False,
    crlfile: str | None = None,
    log_stdout: bool = False,
    max_queued_messages: int | None = None,
    max_queued_bytes: int | None = None,
    **values: str,
) -> str:
    """Substitute every ${name}; a missing value is an error, never an empty setting.
    `drop_in`: leave out the settings Debian's main file already makes (DEBIAN_MAIN_KEYS).
    `crlfile`: check client certificates against this CRL (with_crlfile).
    `log_stdout`: log to standard output instead of the log file (a container, whose
    runtime bounds and rotates it). `max_queued_*`: bound each client's queue (the
    template's 0 is unlimited)."""
    lines = TEMPLATE.read_text().splitlines(keepends=True)
    if drop_in:
        lines = [x for x in lines if (x.split() or [""])[0] not in DEBIAN_MAIN_KEYS]
    text = string.Template("".join(lines)).substitute(values)
    if log_stdout:
        text = _replace(text, "log_dest", "log_dest stdout")
    if max_queued_messages is not None:
        text = _replace(text, "max_queued_messages", f"max_queued_messages {max_queued_messages}")
    if max_queued_bytes is not None:
        text = _replace(text, "max_queued_bytes", f"max_queued_bytes {max_queued_bytes}")
    return with_crlfile(text, crlfile) if crlfile else text


def _replace(conf: str, key: str, line: str) -> str:
    """The configuration with its one `key` line replaced by `line`."""
    lines = conf.splitlines(keepends=True)
    at = [i for i, x in enumerate(lines) if (x.split() or [""])[0] == key]
    if len(at) != 1:
        raise ValueError(f"the configuration has no single {key} line")
    lines[at[0]] = line + "\n"
    return "".join(lines)


def with_crlfile(conf: str, crlfile: str) -> str:
    """The rendered configuration with `crlfile` on the listener, after its `keyfile` line."""
    lines = conf.splitlines(keepends=True)
    at = [i for i, x in enumerate(lines) if (x.split() or [""])[0] == "keyfile"]
    if len(at) != 1:
        raise ValueError("the configuration has no single keyfile line to put crlfile after")
    lines.insert(at[0] + 1, f"crlfile {crlfile}\n")
    return "".join(lines)


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
    p.add_argument(
        "--crlfile",
        help="the fleet CA's CRL (fleet_ca.py crl.pem): refuse revoked client certificates",
    )
    p.add_argument(
        "--log-stdout",
        action="store_true",
        help="log to standard output, not --log-file (a container: its runtime bounds the log)",
    )
    p.add_argument(
        "--max-queued-messages",
        type=int,
        help="bound each client's queue, in messages (default: the template's 0, unlimited)",
    )
    p.add_argument(
        "--max-queued-bytes",
        type=int,
        help="bound each client's queue, in bytes (default: the template's 0, unlimited)",
    )
    p.add_argument(
        "--drop-in",
        action="store_true",
        help="a conf.d drop-in beside Debian's stock mosquitto.conf (which sets persistence, "
        "persistence_location and log_dest): --persistence, --data-dir, --log-file unused",
    )
    a = p.parse_args()
    sys.stdout.write(
        render(
            drop_in=a.drop_in,
            crlfile=a.crlfile,
            log_stdout=a.log_stdout,
            max_queued_messages=a.max_queued_messages,
            max_queued_bytes=a.max_queued_bytes,
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
