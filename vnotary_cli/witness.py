"""`vnotary witness`: run a C2SP tlog-witness for the logs you choose to watch (docs/witness.md)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from notary_core.witness import WitnessSigner
from witness.config import ConfigError, WitnessConfig, write_key


def register(sub: Any) -> None:
    p = sub.add_parser("witness", help="cosign a log's checkpoints after checking it only grew")
    ws = p.add_subparsers(dest="witness_command", required=True, metavar="SUBCOMMAND")
    keygen = ws.add_parser("keygen", help="write a new Ed25519 witness key; print its vkey")
    keygen.add_argument("--name", required=True, help="key name, e.g. witness.insurer.example/w1")
    keygen.add_argument("--out", required=True, type=Path, help="the key file (must not exist)")
    keygen.set_defaults(handler=_keygen)
    vkey = ws.add_parser("vkey", help="print the witness's verifier key (publish it)")
    vkey.add_argument("--config", required=True, type=Path, help="witness.toml")
    vkey.set_defaults(handler=_vkey)
    serve = ws.add_parser("serve", help="serve POST /add-checkpoint until interrupted")
    serve.add_argument("--config", required=True, type=Path, help="witness.toml")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8090, help="port to listen on (default: %(default)s)"
    )
    serve.set_defaults(handler=_serve)


def _keygen(args: argparse.Namespace) -> int:
    try:
        key = write_key(args.out)
    except FileExistsError:
        print(f"vnotary witness: {args.out} exists; a witness keeps its key", file=sys.stderr)
        return 2
    print(WitnessSigner(args.name, key).verifier.vkey)
    return 0


def _load(path: Path) -> WitnessConfig | None:
    try:
        config = WitnessConfig.load(path)
        config.signer()
    except (ConfigError, OSError, ValueError) as exc:
        print(f"vnotary witness: {exc}", file=sys.stderr)
        return None
    return config


def _vkey(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    print(config.signer().verifier.vkey)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 (only a serving witness needs it)

    from witness.app import create_app  # noqa: PLC0415

    config = _load(args.config)
    if config is None:
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(config)
    print(f"witness {config.name} watching {len(config.logs)} log(s)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
