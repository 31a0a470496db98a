"""`vnotary demo`: the whole job on one machine, with the real RAV4 drive, in a few minutes.

1. starts mosquitto (mTLS, per-device ACL) and an anvil node on free ports, creates a fleet
   CA, provisions a device, deploys the anchor contract, starts two independent witnesses
   and the collector (SQLite), which publishes a checkpoint only with both cosignatures;
2. plays the drive as a vehicle would: CAN through a serial slcan adapter on a pty, IMU and
   GNSS through the firmware-bridge board simulator on a second pty;
3. runs the edge agent until the drive is delivered and anchored;
4. registers an owner and an insurer; the insurer asks for the 60 s around the hardest
   braking, for speed, brake and GNSS only; the owner grants it; the insurer downloads it;
5. verifies the bundle (`vnotary verify --rpc`, the witnesses' quorum pinned) and writes
   the evidence report; runs one round of `vnotary monitor` over the collector's log;
6. prints where everything is and stops every process it started.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import getpass
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from vnotary_cli.demo import inputs
from vnotary_cli.demo.access import Api, find_hardest_braking, grant_and_download
from vnotary_cli.demo.inputs import ANVIL, DBC, FLEET_CA, RENDER, TRACE
from vnotary_cli.demo.portal import serve_portal
from vnotary_cli.demo.stack import REPO, DemoError, Stack, free_port, port_open, wait_until
from vnotary_cli.demo.witnesses import (
    QUORUM,
    collector_tables,
    log_vkey,
    monitor_once,
    pinned_trust,
    start_witnesses,
)

# anvil's first well-known development account: public test key, never holds real value.
DEV_CHAIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEVICE = "edge-rav4"
VEHICLE = "vin-2T3RFREV7HW000001"
ORIGIN = "demo.vnotary.local/log"
# What the insurer asks for: speed (0x0B4 SPEED), brake (0x224 BRAKE_MODULE) and GNSS.
SCOPE = ["can0#0b4", "can0#224", "gnss"]
SIGNALS = ["SPEED", "BRAKE_PRESSURE", "BRAKE_PRESSED"]
START_DELAY_S = 4.0  # time for the agent to start and open both ports before the drive


class Steps:
    """Numbered progress output; every step says what it did and how long it took."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.n = 0

    def step(self, text: str) -> None:
        self.n += 1
        print(f"[{time.monotonic() - self.t0:6.1f} s] {self.n}. {text}", flush=True)

    def note(self, text: str) -> None:
        print(f"{'':12}{text}", flush=True)


def _pki(stack: Stack, w: Path) -> dict[str, Path]:
    ca = w / "ca"
    py = sys.executable
    stack.start("ca-init", [py, str(FLEET_CA), "init", "--dir", str(ca)]).wait(30)
    stack.start("ca-server", [py, str(FLEET_CA), "server", "--dir", str(ca),
                              "--host", "localhost", "--host", "127.0.0.1"]).wait(30)  # fmt: skip
    stack.start("ca-collector", [py, str(FLEET_CA), "client", "--dir", str(ca),
                                 "--cn", "collector"]).wait(30)  # fmt: skip
    files = {p.name: p for p in ca.iterdir()}
    return files


def _find(files: dict[str, Path], *needles: str) -> Path:
    for name, path in sorted(files.items()):
        if all(n in name for n in needles):
            return path
    raise DemoError(f"no file with {needles} in the fleet CA directory: {sorted(files)}")


def start_broker(stack: Stack, w: Path, files: dict[str, Path]) -> int:
    sys.path.insert(0, str(RENDER.parent))
    import render  # type: ignore[import-not-found]  # noqa: PLC0415 (deploy/mosquitto/render.py)

    port = free_port()
    data = w / "mosquitto"
    data.mkdir()
    conf = data / "mosquitto.conf"
    conf.write_text(render.render(
        port=str(port), bind_address="127.0.0.1", user=_user(), persistence="true",
        data_dir=str(data), log_file=str(stack.logs / "mosquitto-broker.log"),
        cafile=str(_find(files, "ca", "crt")), certfile=str(_find(files, "server", "crt")),
        keyfile=str(_find(files, "server", "key")), acl_file=str(render.ACL),
    ))  # fmt: skip
    mosquitto = inputs.mosquitto()
    if mosquitto is None:
        raise DemoError("mosquitto is not installed")
    proc = stack.start("mosquitto", [mosquitto, "-c", str(conf)])
    wait_until("mosquitto", port_open(port), 15, proc)
    return port


def _user() -> str:
    return getpass.getuser()


def start_chain(stack: Stack) -> tuple[str, str]:
    if not ANVIL.exists():
        raise DemoError("anvil is not installed: run `bash scripts/install-system-deps.sh`")
    port = free_port()
    proc = stack.start("anvil", [str(ANVIL), "--host", "127.0.0.1", "--port", str(port),
                                 "--block-time", "1"])  # fmt: skip
    wait_until("anvil", port_open(port), 20, proc)
    url = f"http://127.0.0.1:{port}"
    # Imported here: web3 is slow to import and `vnotary --help` should not pay for it.
    from collector.log.anchor_evm import deploy  # noqa: PLC0415

    return url, asyncio.run(deploy(url, DEV_CHAIN_KEY))


def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).resolve()
    lacking = inputs.missing(data_dir)
    if lacking:
        print("vnotary demo: cannot start, missing:", file=sys.stderr)
        for line in lacking:
            print(f"  - {line}", file=sys.stderr)
        return 2
    w = Path(args.workdir).resolve()
    if w.exists():
        shutil.rmtree(w)
    w.mkdir(parents=True)
    steps = Steps()
    try:
        with Stack(w) as stack:
            return _demo(stack, w, data_dir, steps, args)
    except DemoError as exc:
        print(f"\nvnotary demo FAILED at step {steps.n}: {exc}", file=sys.stderr)
        print(f"logs: {w / 'logs'}", file=sys.stderr)
        return 1


def _demo(stack: Stack, w: Path, data: Path, steps: Steps, args: argparse.Namespace) -> int:
    steps.step("local stack: fleet CA, mosquitto (mTLS + per-device ACL), anvil, anchor contract")
    files = _pki(stack, w)
    broker_port = start_broker(stack, w, files)
    rpc_url, contract = start_chain(stack)
    steps.note(f"broker 127.0.0.1:{broker_port}, chain {rpc_url}, anchor contract {contract}")

    steps.step(f"provision device {DEVICE}: Ed25519 key, CSR signed by the fleet CA")
    dev = w / "device"
    out = stack.run("provision", "edge", "provision", "--device-id", DEVICE, "--dir", str(dev))
    pem = out[out.index("-----BEGIN PUBLIC KEY-----") : out.index("-----END PUBLIC KEY-----") + 24]
    (dev / "device.pub").write_text(pem + "\n")
    stack.start("ca-sign-device", [sys.executable, str(FLEET_CA), "sign-device", "--dir",
                                   str(w / "ca"), "--csr", str(dev / "tls.csr"),
                                   "--out", str(dev / "tls.crt")]).wait(30)  # fmt: skip

    operator = ed25519.Ed25519PrivateKey.generate()
    collector = start_collector(
        stack, w, files, broker_port, rpc_url, contract, steps, data / DBC, operator
    )
    collector["operator"] = operator
    stack.run("device-add", "collector", "device", "add", "--config", str(collector["config"]),
              DEVICE, "--public-key", str(dev / "device.pub"))  # fmt: skip

    steps.step(
        f"play the RAV4 drive at {args.speed}x: CAN via slcan on a pty, "
        "IMU + GNSS via the board simulator on another"
    )
    run_dir = w / "run"
    run_dir.mkdir()
    # Both devices start at one instant, so the CAN and the IMU/GNSS timelines (one boot
    # clock in the recording) stay aligned as they were in the car.
    start_at = str(time.time() + START_DELAY_S)
    slcan = stack.vnotary("sim-slcan", "sim", "slcan", str(data / TRACE), "--channel", "can0",
                          "--speed", str(args.speed), "--link", str(run_dir / "slcan0"),
                          "--linger", "3", "--start-at", start_at)  # fmt: skip
    board = stack.vnotary("sim-board", "bridge", "simulate", "--data-dir", str(data),
                          "--sources", "imu,gnss", "--speed", str(args.speed),
                          "--link", str(run_dir / "board0"), "--linger", "3",
                          "--start-at", start_at)  # fmt: skip
    slcan.first_line()
    board.first_line()
    agent_cfg = write_agent_config(w, dev, files, broker_port, collector["public_pem"], run_dir)
    agent = stack.vnotary("edge-agent", "edge", "run", "--config", str(agent_cfg))

    steps.step("edge agent: capture -> seal -> spool -> MQTT, until every batch has its receipt")
    slcan.wait(600)
    board.wait(600)
    drain(stack, agent, agent_cfg, steps)
    status = json.loads(stack.run("edge-status", "edge", "status", "--config", str(agent_cfg)))
    steps.note(
        f"agent spool: {status.get('spool_depth')} unacknowledged, "
        f"next batch_seq {status.get('next_batch_seq')}"
    )
    return finish(stack, w, data, steps, collector, rpc_url, args.serve)


def start_collector(
    stack: Stack, w: Path, files: dict[str, Path], broker_port: int, rpc_url: str,
    contract: str, steps: Steps, data_dbc: Path, operator: ed25519.Ed25519PrivateKey,
) -> dict[str, Any]:  # fmt: skip
    c = w / "collector"
    c.mkdir()
    stack.run("collector-keygen", "collector", "keygen", "--out", str(c / "collector.key"))
    steps.step("two independent witnesses (an insurer's, an owners' association's), each "
               "pinning the log's key")  # fmt: skip
    witnesses = start_witnesses(stack, w, ORIGIN, log_vkey(c / "collector.key", ORIGIN))
    for x in witnesses:
        steps.note(f"{x.name} at {x.url}")
    quorum, tables = collector_tables(witnesses)
    steps.step(f"collector on its embedded defaults (SQLite), publishing a checkpoint once "
               f"{QUORUM} witnesses cosigned it, anchoring every 2 s")  # fmt: skip
    (c / "eth.key").write_text(DEV_CHAIN_KEY + "\n")
    key = serialization.load_pem_private_key((c / "collector.key").read_bytes(), None)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (c / "collector.pub").write_bytes(public_pem)
    api_port = free_port()
    config = c / "collector.toml"
    config.write_text(f"""store = "sqlite:///{c / "collector.db"}"
key_file = "collector.key"
origin = "{ORIGIN}"
checkpoint_interval_s = 1.0
{quorum}{tables}

[mqtt]
host = "127.0.0.1"
port = {broker_port}
ca_cert = "{_find(files, "ca", "crt")}"
cert = "{_find(files, "collector", "crt")}"
key = "{_find(files, "collector", "key")}"

[anchor]
rpc_url = "{rpc_url}"
contract = "{contract}"
key_file = "eth.key"
interval_s = 2
confirmations = 2

[access]
operator_keys = ["{_b64url_raw(operator.public_key())}"]
dbc = "{data_dbc}"
retry_after_s = 1
""")
    proc = stack.vnotary("collector", "collector", "run", "--config", str(config))
    api = stack.vnotary("collector-api", "collector", "serve", "--config", str(config),
                        "--port", str(api_port))  # fmt: skip
    wait_until("collector API", port_open(api_port), 30, api)
    if proc.popen.poll() is not None:
        raise DemoError(f"the collector exited at start\n{proc.tail()}")
    return {"config": config, "dir": c, "public_pem": c / "collector.pub", "proc": proc,
            "api_port": api_port, "witnesses": witnesses}  # fmt: skip


def write_agent_config(
    w: Path, dev: Path, files: dict[str, Path], broker_port: int, collector_pub: Path, run_dir: Path
) -> Path:
    cfg = dev / "agent.toml"
    cfg.write_text(f"""device_id = "{DEVICE}"
key_file = "device.key"

[batch]
window_s = 1.0
max_records = 20000

[spool]
path = "spool.sqlite"

[mqtt]
host = "127.0.0.1"
port = {broker_port}
ca_file = "{_find(files, "ca", "crt")}"
cert_file = "tls.crt"
key_file = "tls.key"
collector_public_key = "{collector_pub}"

[[source]]
type = "can"
stream = "can0"
interface = "slcan"
channel = "{run_dir / "slcan0"}"
bitrate = 500000

[[source]]
type = "bridge"
stream = "bridge"
port = "{run_dir / "board0"}"
baudrate = 921600
""")
    return cfg


def drain(stack: Stack, agent: Any, cfg: Path, steps: Steps) -> None:
    """After the drive: wait until the spool is empty twice in a row, then stop the agent
    (SIGTERM seals the open window), and deliver what that last window held."""

    def empty() -> bool:
        out = stack.run("edge-status", "edge", "status", "--config", str(cfg))
        return int(json.loads(out).get("spool_depth", 1)) == 0

    def settled() -> bool:
        if not empty():
            return False
        time.sleep(1.5)
        return empty()

    wait_until("agent delivered the drive", settled, 120, agent)
    code = agent.stop(grace=20)
    if code not in (0, None):
        raise DemoError(f"the edge agent exited with {code}\n{agent.tail()}")
    if not empty():
        steps.note("delivering the last sealed window")
        again = stack.vnotary("edge-agent-final", "edge", "run", "--config", str(cfg))
        wait_until("the last window delivered", empty, 60, again)
        again.stop(grace=20)


def _b64url_raw(public: ed25519.Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def finish(
    stack: Stack, w: Path, data: Path, steps: Steps, collector: dict[str, Any], rpc_url: str,
    serve: bool = False,
) -> int:  # fmt: skip
    api = Api(f"http://127.0.0.1:{collector['api_port']}")
    steps.step("find the hardest braking of the drive in the decoded SPEED / BRAKE signals")
    event_ns, decel, drive_end_ns = find_hardest_braking(collector["config"], DEVICE, data / DBC)
    steps.note(f"hardest braking: {decel:.2f} m/s^2 at {_utc(event_ns)}")

    steps.step("register the vehicle, its device, an owner and an insurer; ask, grant, download")
    out = w / "evidence"
    out.mkdir()
    bundle, grant_id, owner, insurer = grant_and_download(
        api, collector["operator"], w / "collector" / "collector.pub", VEHICLE, DEVICE,
        event_ns, drive_end_ns, SCOPE, SIGNALS, out / "bundle.vnb", steps.note,
    )  # fmt: skip
    steps.note(f"bundle: {bundle.stat().st_size:,} bytes under grant {grant_id}")
    trust = out / "trust.json"
    trust.write_text(json.dumps(pinned_trust(api.get("/v1/trust"), collector["witnesses"]),
                                indent=2))  # fmt: skip

    steps.step("verify the bundle against the chain, and write the evidence report")
    # --collector: the log grew (and was anchored again) since the bundle's checkpoint; the
    # verifier fetches the consistency proof to the contract's newer head from the API.
    chain = ("--rpc", rpc_url, "--confirmations", "2", "--collector", api.base)
    verify = stack.run("verify", "verify", str(bundle), "--trust", str(trust), *chain,
                       check_exit=False)  # fmt: skip
    print("\n".join(f"{'':12}{line}" for line in verify.strip().splitlines()), flush=True)
    report = out / "report.html"
    stack.run("report", "report", str(bundle), "--trust", str(trust), *chain,
              "-o", str(report))  # fmt: skip
    if not verify.startswith("verdict: OK"):
        raise DemoError("the bundle did not verify OK (see above)")

    steps.step("one round of the monitor: log signature, witness quorum, append-only")
    seen = monitor_once(stack, w, f"http://127.0.0.1:{collector['api_port']}", trust)
    print("\n".join(f"{'':12}{line}" for line in seen.strip().splitlines()), flush=True)

    portal = f"{api.base}/portal/"
    if serve:
        return serve_portal(api, w, portal, trust, owner, insurer, event_ns, VEHICLE,
                            SCOPE, SIGNALS)  # fmt: skip
    steps.step("done: every process the demo started is being stopped")
    print(
        f"""
  bundle  {bundle}
  trust   {trust}  (the witnesses' keys and a quorum of {QUORUM} pinned)
  report  {report}
  monitor {w / "monitor"}
  logs    {w / "logs"}
  portal  {portal}  (up while the demo runs; `vnotary demo --serve` keeps it up)

  check it yourself:
    vnotary verify {bundle} --trust {trust}
    vnotary report {bundle} -o report.html
""",
        flush=True,
    )
    return 0


def _utc(ns: int) -> str:
    return (
        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns / 1e9))
        + f".{ns % 10**9 // 10**6:03d} UTC"
    )


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="the end-to-end demo on the real RAV4 drive (a few minutes)")
    p.add_argument(
        "--data-dir", default=str(REPO / "data"),
        help="the real data set: can/, dbc/, imu/, gnss/ (default: the checkout's data/)",
    )  # fmt: skip
    p.add_argument(
        "--workdir", default=str(REPO / "demo-data"),
        help="where keys, stores, logs, the bundle and the report go (emptied first)",
    )  # fmt: skip
    p.add_argument(
        "--speed", type=float, default=1.0, help="times the recorded pace (default 1: real time)"
    )
    p.add_argument(
        "--serve", action="store_true",
        help="keep the stack running at the end, with the consent portal, until Ctrl-C",
    )  # fmt: skip
    p.set_defaults(handler=run)
