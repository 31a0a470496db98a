"""`vnotary collector ...`: run the collector, manage the device registry, read the log."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from collector import limits
from collector.access import flows as access_flows
from collector.access.rules import PARTY_ROLES
from collector.access.store import OPEN_END, AccessStore, Party
from collector.log.checkpoints import SignerRefused
from collector.settings import Settings, read_private, write_key
from collector.store.base import AnchorRow
from collector.store.open import open_store
from notary_core import cose
from notary_core.checkpoint import NoteVerifier
from notary_core.errors import BadData, Reason
from notary_core.grant import thumbprint
from vnotary_cli.argtypes import ed25519_b64url, utc_ns
from vnotary_cli.exits import USAGE

CONFIG = "the collector's TOML settings (docs/collector.md)"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("collector", help="verified ingest, transparency log, anchoring")
    sub = p.add_subparsers(dest="collector_command", required=True, metavar="SUBCOMMAND")

    keygen = sub.add_parser(
        "keygen", help="write a new Ed25519 collector key (PEM): one per statement in production"
    )
    keygen.add_argument(
        "--out", required=True, type=Path, help="where to write the key (mode 0600)"
    )
    keygen.add_argument(
        "--for", dest="statement", choices=("all", "log", "receipt", "bundle"), default="all",
        help="the statement it signs, which decides how its public key is printed: log "
        "(log_key_file: the signed-note verifier key for log_vkeys, needs --origin), receipt "
        "(receipt_key_file: PEM, the agents' collector_public_key), bundle (bundle_key_file: "
        "base64 SPKI for collector_keys), all (key_file: PEM; default)",
    )  # fmt: skip
    keygen.add_argument("--origin", help="the log's origin (for --for log: names the key)")
    keygen.add_argument(
        "--force",
        action="store_true",
        help="replace an existing key (verifiers pinning the old one must pin the new one)",
    )
    keygen.set_defaults(handler=_keygen)

    run = sub.add_parser("run", help="ingest, checkpoint and anchor until interrupted")
    run.add_argument("--config", required=True, type=Path, help=CONFIG)
    run.set_defaults(handler=_run)

    serve = sub.add_parser("serve", help="serve the HTTP API (log, registry, grants, evidence)")
    serve.add_argument("--config", required=True, type=Path, help=CONFIG)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    serve.set_defaults(handler=_serve)

    dev = sub.add_parser("device", help="the device registry").add_subparsers(
        dest="device_command", required=True, metavar="ACTION"
    )
    add = dev.add_parser("add", help="enrol a device key (or rotate in a new one)")
    add.add_argument("--config", required=True, type=Path, help=CONFIG)
    add.add_argument("device_id", help="the device id (its certificate CN)")
    add.add_argument("--public-key", required=True, type=Path, help="PEM public key")
    add.add_argument(
        "--not-before", type=utc_ns,
        help="ISO 8601 UTC the key is valid from (default: now; 1970-01-01T00:00:00Z is the "
        "epoch, for replayed recordings)",
    )  # fmt: skip
    add.add_argument("--not-after", type=utc_ns, help="ISO 8601 UTC (default: open)")
    add.set_defaults(handler=_device_add)
    revoke = dev.add_parser("revoke", help="revoke every live key of a device")
    revoke.add_argument("--config", required=True, type=Path, help=CONFIG)
    revoke.add_argument("device_id", help="the device id")
    revoke.set_defaults(handler=_device_revoke)
    ls = dev.add_parser("list", help="list devices and their keys")
    ls.add_argument("--config", required=True, type=Path, help=CONFIG)
    ls.set_defaults(handler=_device_list)

    lg = sub.add_parser("log", help="the transparency log").add_subparsers(
        dest="log_command", required=True, metavar="ACTION"
    )
    cp = lg.add_parser("checkpoint", help="sign a checkpoint now and print the latest")
    cp.add_argument("--config", required=True, type=Path, help=CONFIG)
    cp.set_defaults(handler=_log_checkpoint)
    contract = sub.add_parser("contract", help="the anchor contract").add_subparsers(
        dest="contract_command", required=True, metavar="ACTION"
    )
    dep = contract.add_parser(
        "deploy", help="deploy the anchor contract (version 2); the key becomes its only writer"
    )
    dep.add_argument("--rpc", required=True, help="EVM JSON-RPC URL")
    dep.add_argument("--key-file", required=True, type=Path, help="the chain key (hex), funded")
    dep.set_defaults(handler=_contract_deploy)
    guard = sub.add_parser("guard", help="the signer guard (docs/collector.md § Signer guard)")
    gs = guard.add_subparsers(dest="guard_command", required=True, metavar="ACTION")
    status = gs.add_parser("status", help="why the signer would not sign now (exit 1 if so)")
    status.add_argument("--config", required=True, type=Path, help="collector.toml")
    status.set_defaults(handler=_guard, op="status")
    resume = gs.add_parser(
        "resume", help="after a halt: clear it, only if the store now extends every signed head"
    )
    resume.add_argument("--config", required=True, type=Path, help="collector.toml")
    resume.set_defaults(handler=_guard, op="resume")
    register_access(sub)


def _keygen(args: argparse.Namespace) -> int:
    if args.statement == "log" and not args.origin:
        print("vnotary collector: keygen --for log needs --origin (the log's origin names its "
              "key)", file=sys.stderr)  # fmt: skip
        return USAGE
    try:
        key = write_key(args.out, force=args.force)
    except FileExistsError:
        print(f"vnotary collector: {args.out} exists: it is an identity verifiers or agents "
              "pin; pass --force to replace it", file=sys.stderr)  # fmt: skip
        return USAGE
    public = key.public_key()
    if args.statement == "log":
        print(NoteVerifier.from_public(args.origin.split("/")[0], public).vkey)
    elif args.statement == "bundle":
        spki = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        print(base64.b64encode(spki).decode())
    else:
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        print(pem.decode(), end="")
    return 0


EXIT_REFUSED = 6
"""`collector run` stopped because the signer guard refused to sign (systemd:
RestartPreventExitStatus=6, so it is not restarted into the same refusal)."""


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings.load(args.config)
    # Imported here: the service pulls in web3 (over a second), which `vnotary --help`,
    # the registry commands and an edge-only install should not pay for.
    from collector.service import Collector  # noqa: PLC0415

    async def main() -> None:
        async with Collector.open(settings) as c:
            print("collector running", flush=True)
            await c.run()

    refused: list[BaseException] = []
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
    except* SignerRefused as group:
        refused.extend(group.exceptions)
    if refused:
        print(f"vnotary collector: refusing to sign, stopped: {refused[0]}", file=sys.stderr)
        return EXIT_REFUSED
    return 0


def _serve(args: argparse.Namespace) -> int:
    """The HTTP API (log, registry, grants, evidence) under uvicorn, on one address."""
    import uvicorn  # noqa: PLC0415 (only the API host needs it)

    from collector.api.app import create_app  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(Settings.load(args.config))
    # h11 (pure Python, always installed) with its buffer bounded to the header limit: a
    # request whose line and headers exceed it is refused before it is parsed further.
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False,
                http="h11", h11_max_incomplete_event_size=limits.MAX_HEADERS)  # fmt: skip
    return 0


def _device_add(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)
    pem = args.public_key.read_bytes()
    try:
        loaded = serialization.load_pem_public_key(pem)
    except ValueError:
        raise BadData(Reason.MALFORMED, f"{args.public_key}: not a PEM public key") from None
    if not isinstance(loaded, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise BadData(Reason.MALFORMED, f"{args.public_key}: not an Ed25519 or P-256 key")
    key = cose.PublicKey.from_key(loaded)
    now = time.time_ns()
    # None is absent; 0 is the epoch (a replayed recording's key may start there).
    not_before = now if args.not_before is None else args.not_before

    async def go() -> None:
        async with await open_store(settings.store_url()) as store:
            e = await store.add_device_key(
                args.device_id,
                key.spki(),
                key.kid,
                not_before,
                args.not_after,
                now,
            )
            print(f"{e.action.name.lower()} {args.device_id} key {key.kid.hex()}")

    asyncio.run(go())
    return 0


def _device_revoke(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)

    async def go() -> None:
        async with await open_store(settings.store_url()) as store:
            for e in await store.revoke_device(args.device_id, time.time_ns()):
                print(f"revoked {args.device_id} key {e.key_id.hex()}")

    asyncio.run(go())
    return 0


def _device_list(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)

    async def go() -> None:
        async with await open_store(settings.store_url()) as store:
            for k in await store.list_devices():
                state = "revoked" if k.revoked_utc_ns is not None else "live"
                print(
                    f"{k.device_id}\t{k.key_id.hex()}\t{state}\t{k.not_before_ns}\t"
                    f"{k.not_after_ns}\tlog#{k.log_index}"
                )

    asyncio.run(go())
    return 0


def _contract_deploy(args: argparse.Namespace) -> int:
    """Deploy the AnchorV2 artifact (collector/log/contracts/); print the [anchor] lines."""
    from collector.log.anchor_evm import deploy_at  # noqa: PLC0415 (web3 is slow to import)

    key = read_private(args.key_file).decode("ascii").strip()
    address, block = asyncio.run(deploy_at(args.rpc, key))
    print(f'contract = "{address}"\nstart_block = {block}')
    return 0


def _log_checkpoint(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)

    async def go() -> None:
        async with await open_store(settings.store_url()) as store:
            await settings.checkpoint_signer(store).sign_if_grown(time.time_ns())
            cp = await store.latest_checkpoint()
            published = await store.latest_published_checkpoint()
            if published is not None and cp is not None and published.size < cp.size:
                print(f"(size {cp.size} signed, waiting for its witness quorum; published:)")
            print(published.note.decode() if published else "(nothing published yet)", end="")

    asyncio.run(go())
    return 0


def _guard(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)

    async def go() -> int:
        async with await open_store(settings.store) as store:
            signer = settings.checkpoint_signer(store)
            if args.op == "resume":
                print(await signer.resume(time.time_ns()))
                return 0
            problems = await signer.problems()
        print("\n".join(problems) if problems else "ok: the signer would sign")
        return 1 if problems else 0

    return asyncio.run(go())


def register_access(sub: Any) -> None:
    """`collector trust|vehicle add|party add|owner add|install`: the access registry, run
    by the operator on the collector host (the same flows as the signed HTTP API)."""
    trust = sub.add_parser("trust", help="write the trust file for `vnotary verify --trust`")
    trust.add_argument("--config", required=True, type=Path, help=CONFIG)
    trust.add_argument("--out", required=True, type=Path, help="the trust file to write (JSON)")
    trust.set_defaults(handler=_trust)
    veh = sub.add_parser("vehicle", help="register a vehicle")
    veh.add_argument("--config", required=True, type=Path, help=CONFIG)
    veh.add_argument("vehicle_id", help="the vehicle id (e.g. vin-...)")
    veh.add_argument("--label", default="", help="a name for people (default: none)")
    veh.set_defaults(handler=_registry, op="vehicle")
    party = sub.add_parser("party", help="register an owner or party key (raw Ed25519 b64url)")
    party.add_argument("--config", required=True, type=Path, help=CONFIG)
    party.add_argument("role", choices=sorted(PARTY_ROLES), help="what the key may do")
    party.add_argument("name", help="a name for people")
    party.add_argument(
        "--public-key", required=True, type=ed25519_b64url,
        help="raw Ed25519 key, base64url: write --public-key=KEY",
    )  # fmt: skip
    party.set_defaults(handler=_registry, op="party")
    prev = sub.add_parser(
        "party-revoke", help="revoke a party's key: its requests are refused from now on"
    )
    prev.add_argument("--config", required=True, type=Path, help=CONFIG)
    prev.add_argument("thumbprint", help="the key's thumbprint (put `--` before a leading '-')")
    prev.set_defaults(handler=_registry, op="party-revoke")
    prot = sub.add_parser(
        "party-rotate", help="rotate a party's key: the new key takes its role and name"
    )
    prot.add_argument("--config", required=True, type=Path, help=CONFIG)
    prot.add_argument("thumbprint", help="the old key's thumbprint (`--` before a leading '-')")
    prot.add_argument(
        "--public-key", required=True, type=ed25519_b64url,
        help="the new raw Ed25519 key, base64url: write --public-key=KEY",
    )  # fmt: skip
    prot.set_defaults(handler=_registry, op="party-rotate")
    for name, what in (("owner", "bind an owner (thumbprint) to a vehicle for a period"),
                       ("install", "install a device in a vehicle for a period")):  # fmt: skip
        p = sub.add_parser(name, help=what)
        p.add_argument("--config", required=True, type=Path, help=CONFIG)
        p.add_argument("vehicle_id", help="the vehicle id")
        p.add_argument(
            "who",
            help="owner thumbprint or device id (a thumbprint may start with '-': put `--` "
            "before the positional arguments then)",
        )
        p.add_argument("--start", type=utc_ns, help="ISO 8601 UTC (default: the epoch)")
        p.add_argument("--end", type=utc_ns, help="ISO 8601 UTC (default: open)")
        p.set_defaults(handler=_registry, op=name)
    for name, what in (("owner-end", "end an owner's period (a sale): OWNER_ENDED"),
                       ("uninstall", "end a device's installation: DEVICE_REMOVED")):  # fmt: skip
        p = sub.add_parser(name, help=what)
        p.add_argument("--config", required=True, type=Path, help="collector.toml")
        p.add_argument("vehicle_id", help="the vehicle (VIN-style id)")
        p.add_argument("who", help="owner thumbprint or device id (put `--` before a leading '-')")
        p.add_argument("--at", required=True, type=utc_ns, help="ISO 8601 UTC: when it ends")
        p.set_defaults(handler=_registry, op=name)


def _trust(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)

    async def go() -> list[AnchorRow]:
        async with await open_store(settings.store_url()) as store:
            return await store.anchors()

    anchors = asyncio.run(go())
    doc: dict[str, Any] = {
        "version": 1,
        "log_vkeys": settings.log_vkeys(),
        "collector_keys": settings.bundle_keys(),
        "anchor_contracts": sorted(
            ({"chain_id": a.chain_id, "address": a.contract} for a in anchors
             if a.status in ("sent", "final") and a.contract),
            key=lambda c: (c["chain_id"], c["address"])),
    }  # fmt: skip
    if settings.witness:  # the collector's word: pin witness keys from the witnesses
        doc["witnesses"] = [w.vkey for w in settings.witness]
        doc["witness_quorum"] = settings.witness_quorum
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def _registry(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)
    now = time.time_ns()

    async def go() -> str:
        async with (
            await open_store(settings.store_url()) as store,
            AccessStore(store).tx() as atx,
        ):
            if args.op == "vehicle":
                await access_flows.add_vehicle(atx, args.vehicle_id, args.label, now)
                return f"vehicle {args.vehicle_id}"
            if args.op == "party":
                raw = args.public_key
                tp = thumbprint(ed25519.Ed25519PublicKey.from_public_bytes(raw))
                await access_flows.add_party(atx, Party(tp, args.role, args.name, raw), now)
                return f"{args.role} {tp}"
            if args.op == "party-revoke":
                index = await access_flows.revoke_party(atx, args.thumbprint, now)
                return f"revoked party key {args.thumbprint}: log#{index}"
            if args.op == "party-rotate":
                new, index = await access_flows.rotate_party(
                    atx, args.thumbprint, args.public_key, now
                )
                return f"rotated party key {args.thumbprint} to {new}: log#{index}"
            if args.op in ("owner-end", "uninstall"):
                table = "ownerships" if args.op == "owner-end" else "installs"
                index = await access_flows.end_period(atx, table, "operator-cli", args.vehicle_id,
                                                      args.who, args.at, now)  # fmt: skip
                return f"{args.op} {args.who} in {args.vehicle_id}: log#{index}"
            start = 0 if args.start is None else args.start
            end = OPEN_END if args.end is None else args.end
            flow = access_flows.bind_owner if args.op == "owner" else access_flows.install
            index = await flow(atx, "operator-cli", args.vehicle_id, args.who, start, end, now)
            return f"{args.op} {args.who} in {args.vehicle_id}: log#{index}"

    print(asyncio.run(go()))
    return 0
