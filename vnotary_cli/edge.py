"""`vnotary edge provision | run | status`: the gateway side of vnotary."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from notary_core.errors import BadData, Reason

CONFIG = "the agent's TOML config (deploy/edge/agent.toml)"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    edge = subparsers.add_parser("edge", help="the in-vehicle agent: provision, run, status")
    sub = edge.add_subparsers(dest="edge_command", required=True, metavar="SUBCOMMAND")
    p = sub.add_parser("provision", help="create the device key (0600) and a CSR for mTLS")
    p.add_argument("--device-id", required=True, help="the device id (its certificate CN)")
    p.add_argument("--dir", type=Path, required=True, help="where to write the key files")
    p.set_defaults(handler=_provision)
    r = sub.add_parser("run", help="run the agent with a TOML config")
    r.add_argument("--config", type=Path, required=True, help=CONFIG)
    r.add_argument(
        "--log-format", choices=("plain", "json"), help="log lines (overrides log.format)"
    )
    r.set_defaults(handler=_run)
    s = sub.add_parser("status", help="spool depth, oldest unacknowledged batch, counters")
    s.add_argument("--config", type=Path, required=True, help=CONFIG)
    s.set_defaults(handler=_status)


def _provision(args: argparse.Namespace) -> int:
    from edge_agent import device_key  # noqa: PLC0415 - keep `vnotary --help` light
    from notary_core.header import DEVICE_ID_RE  # noqa: PLC0415

    if not DEVICE_ID_RE.fullmatch(args.device_id) or args.device_id == "collector":
        raise BadData(Reason.MALFORMED, f"{args.device_id!r} is not an acceptable device id")
    key, tls_key, csr, public = device_key.provision(args.dir, args.device_id)
    print(f"device id:   {args.device_id}")
    print(f"key id:      {public.kid.hex()}")
    print(f"signing key: {key} (mode 0600)")
    print(f"TLS key:     {tls_key} (mode 0600)")
    print(f"CSR:         {csr}  -> sign with deploy/pki/fleet_ca.py sign-device")
    print("public key (register this with the collector):")
    print(device_key.public_pem(public))
    return 0


def _run(args: argparse.Namespace) -> int:
    from edge_agent.__main__ import run  # noqa: PLC0415

    return run(args.config, args.log_format)


def _status(args: argparse.Namespace) -> int:
    from edge_agent import config  # noqa: PLC0415
    from edge_agent.spool import Spool  # noqa: PLC0415

    cfg = config.load(args.config)
    if not cfg.spool_path.exists():
        raise BadData(Reason.MALFORMED, f"no spool at {cfg.spool_path}: has the agent run?")
    spool = Spool(cfg.spool_path, cfg.spool_max_bytes, 0, readonly=True)
    try:
        json.dump(spool.status(), sys.stdout, indent=2)
        print()
    finally:
        spool.close()
    return 0
