"""`vnotary collector ...`: run the collector, manage the device registry, read the log."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from collector.backends import open_store
from collector.checkpoints import checkpoint_now
from collector.service import Collector
from collector.settings import Settings, write_key
from notary_core import cose


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("collector", help="verified ingest, transparency log, anchoring")
    sub = p.add_subparsers(dest="collector_command", required=True, metavar="SUBCOMMAND")

    keygen = sub.add_parser("keygen", help="write a new Ed25519 collector key (PEM)")
    keygen.add_argument("--out", required=True, type=Path)
    keygen.set_defaults(handler=_keygen)

    run = sub.add_parser("run", help="ingest, checkpoint and anchor until interrupted")
    run.add_argument("--config", required=True, type=Path)
    run.set_defaults(handler=_run)

    dev = sub.add_parser("device", help="the device registry").add_subparsers(
        dest="device_command", required=True, metavar="ACTION"
    )
    add = dev.add_parser("add", help="enrol a device key (or rotate in a new one)")
    add.add_argument("--config", required=True, type=Path)
    add.add_argument("device_id")
    add.add_argument("--public-key", required=True, type=Path, help="PEM public key")
    add.add_argument("--not-before", help="ISO 8601 UTC (default: now)")
    add.add_argument("--not-after", help="ISO 8601 UTC (default: open)")
    add.set_defaults(handler=_device_add)
    revoke = dev.add_parser("revoke", help="revoke every live key of a device")
    revoke.add_argument("--config", required=True, type=Path)
    revoke.add_argument("device_id")
    revoke.set_defaults(handler=_device_revoke)
    ls = dev.add_parser("list", help="list devices and their keys")
    ls.add_argument("--config", required=True, type=Path)
    ls.set_defaults(handler=_device_list)

    lg = sub.add_parser("log", help="the transparency log").add_subparsers(
        dest="log_command", required=True, metavar="ACTION"
    )
    cp = lg.add_parser("checkpoint", help="sign a checkpoint now and print the latest")
    cp.add_argument("--config", required=True, type=Path)
    cp.set_defaults(handler=_log_checkpoint)


def _ns(text: str | None, default: int | None) -> int | None:
    if text is None:
        return default
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1e9)


def _keygen(args: argparse.Namespace) -> int:
    key = write_key(args.out)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    print(pem.decode(), end="")
    return 0


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings.load(args.config)

    async def main() -> None:
        async with Collector.open(settings) as c:
            print("collector running", flush=True)
            await c.run()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


def _device_add(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)
    key = cose.PublicKey.from_key(
        serialization.load_pem_public_key(args.public_key.read_bytes())  # type: ignore[arg-type]
    )
    now = time.time_ns()

    async def go() -> None:
        async with await open_store(settings.store) as store:
            e = await store.add_device_key(
                args.device_id,
                key.spki(),
                key.kid,
                _ns(args.not_before, now) or now,
                _ns(args.not_after, None),
                now,
            )
            print(f"{e.action.name.lower()} {args.device_id} key {key.kid.hex()}")

    asyncio.run(go())
    return 0


def _device_revoke(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)

    async def go() -> None:
        async with await open_store(settings.store) as store:
            for e in await store.revoke_device(args.device_id, time.time_ns()):
                print(f"revoked {args.device_id} key {e.key_id.hex()}")

    asyncio.run(go())
    return 0


def _device_list(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)

    async def go() -> None:
        async with await open_store(settings.store) as store:
            for k in await store.list_devices():
                state = "revoked" if k.revoked_utc_ns is not None else "live"
                print(
                    f"{k.device_id}\t{k.key_id.hex()}\t{state}\t{k.not_before_ns}\t"
                    f"{k.not_after_ns}\tlog#{k.log_index}"
                )

    asyncio.run(go())
    return 0


def _log_checkpoint(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)

    async def go() -> None:
        async with await open_store(settings.store) as store:
            await checkpoint_now(store, settings.note_signer(), settings.origin, time.time_ns())
            cp = await store.latest_checkpoint()
            print(cp.note.decode() if cp else "(empty log)", end="")

    asyncio.run(go())
    return 0
