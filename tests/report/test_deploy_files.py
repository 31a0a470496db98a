"""deploy/gateway and deploy/compose: parse them as their tools would and check what matters.

No systemd and no Docker engine here: the units are read as systemd's INI dialect (repeated
keys kept), the compose file with a YAML parser, and every repository file they reference
must exist.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "deploy" / "gateway"
COMPOSE = ROOT / "deploy" / "compose"


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd unit syntax: [Section] then Key=Value lines; a key may repeat."""
    out: dict[str, dict[str, list[str]]] = {}
    section = None
    for n, line in enumerate(path.read_text().splitlines(), 1):
        s = line.strip()
        if not s or s.startswith(("#", ";")):
            continue
        if s.startswith("[") and s.endswith("]"):
            section = out.setdefault(s[1:-1], {})
            continue
        assert section is not None and "=" in s, f"{path.name}:{n}: not Key=Value: {line!r}"
        key, value = s.split("=", 1)
        section.setdefault(key, []).append(value)
    return out


def test_edge_unit_runs_the_agent_restarts_and_is_hardened(tmp_path: Path) -> None:
    u = unit(GATEWAY / "vnotary-edge.service")
    svc = u["Service"]
    # The release install.sh made current (/opt/vnotary/current -> releases/<version>-<sha>).
    assert svc["ExecStart"] == [
        "/opt/vnotary/current/bin/vnotary edge run --config /etc/vnotary/edge.toml"
    ]
    assert svc["Restart"] == ["always"] and svc["RestartSec"] == ["5s"]
    assert int(u["Unit"]["StartLimitBurst"][0]) > 1 and u["Unit"]["StartLimitIntervalSec"]
    assert svc["User"] == ["vnotary"] and svc["SupplementaryGroups"] == ["dialout"]
    for key, value in {
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "NoNewPrivileges": "yes", "ReadWritePaths": "/var/lib/vnotary", "CapabilityBoundingSet": "",
        "DevicePolicy": "closed", "ProtectKernelModules": "yes", "RestrictSUIDSGID": "yes",
        # sd_notify (edge_agent/sdnotify.py, tests/edge/test_sdnotify.py): ready once the spool
        # is open, and restarted when the main loop stops pinging for 30 s.
        "Type": "notify", "NotifyAccess": "main", "WatchdogSec": "30",
    }.items():  # fmt: skip
        assert svc[key] == [value], key
    families = svc["RestrictAddressFamilies"][0].split()
    assert set(families) == {"AF_CAN", "AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"}
    assert "char-ttyACM rw" in svc["DeviceAllow"]
    assert u["Install"]["WantedBy"] == ["multi-user.target"]
    if shutil.which("systemd-analyze"):  # where systemd exists, its own verifier too
        # It checks that ExecStart is executable: point it at this checkout's vnotary.
        venv = Path(shutil.which("vnotary") or ROOT / ".venv/bin/vnotary")
        text = (GATEWAY / "vnotary-edge.service").read_text()
        text = text.replace("/opt/vnotary/current/bin/vnotary", str(venv))
        (tmp_path / "vnotary-edge.service").write_text(text)
        (tmp_path / "vnotary-can@can0.service").write_text((GATEWAY / "vnotary-can@.service")
                                                           .read_text())  # fmt: skip
        done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "vnotary-edge.service"),
                               str(tmp_path / "vnotary-can@can0.service")],
                              check=True, capture_output=True, text=True)  # fmt: skip
        assert done.stderr == ""  # it exits 0 on unknown keys and bad values: read its words


def test_can_bring_up_classic_and_fd() -> None:
    classic = unit(GATEWAY / "80-can0.network")
    assert classic["Match"]["Name"] == ["can0"]
    assert classic["CAN"]["BitRate"] == ["500000"] and classic["CAN"]["RestartSec"] == ["100ms"]
    assert classic["Link"]["RequiredForOnline"] == ["no"]
    fd = unit(GATEWAY / "80-can0-fd.network.example")
    assert fd["CAN"]["FDMode"] == ["yes"] and fd["CAN"]["DataBitRate"] == ["2000000"]
    oneshot = unit(GATEWAY / "vnotary-can@.service")
    assert oneshot["Service"]["Type"] == ["oneshot"]
    assert "CAN_OPTS=bitrate 500000 restart-ms 100" in oneshot["Service"]["Environment"][0]
    assert oneshot["Service"]["ExecStart"] == [
        "/usr/sbin/ip link set %i type can $CAN_OPTS", "/usr/sbin/ip link set %i up"]  # fmt: skip
    assert "fd on" in (GATEWAY / "can-fd.env.example").read_text()


def test_udev_rule_names_the_board() -> None:
    rules = [x for x in (GATEWAY / "99-vnotary-board.rules").read_text().splitlines()
             if x and not x.startswith("#")]  # fmt: skip
    assert len(rules) == 1
    for part in ('SUBSYSTEM=="tty"', "ATTRS{idVendor}==", "ATTRS{idProduct}==",
                 "ATTRS{serial}==", 'SYMLINK+="vnotary-board"', 'GROUP="dialout"'):  # fmt: skip
        assert part in rules[0], part


def test_install_script_parses_and_uses_the_shipped_files() -> None:
    script = GATEWAY / "install.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    for name in ("vnotary-edge.service", "80-can0.network", "vnotary-can@.service",
                 "99-vnotary-board.rules", "deploy/edge/agent.toml", "edge provision"):  # fmt: skip
        assert name in text, name
    assert (ROOT / "deploy" / "edge" / "agent.toml").exists()
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", str(script)], check=True)


def test_compose_stack() -> None:
    doc = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    services = doc["services"]
    assert {"collector", "api", "mosquitto", "postgres", "anvil"} <= set(services)
    assert services["api"]["command"][1:3] == ["collector", "serve"]
    for name in ("collector", "api", "mosquitto", "postgres", "anvil"):
        assert services[name]["healthcheck"]["test"], name
    assert services["anvil"]["profiles"] == ["staging"]
    deps = services["collector"]["depends_on"]
    assert deps["postgres"]["condition"] == deps["mosquitto"]["condition"] == "service_healthy"
    assert set(doc["volumes"]) >= {"postgres-data", "mosquitto-data", "collector-data"}
    # Every repository path a service mounts or builds from exists.
    for svc in services.values():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("..") or src in ("./collector.toml",):
                assert (COMPOSE / src).exists(), src
    build = services["collector"]["build"]
    assert (COMPOSE / build["context"] / build["dockerfile"]).exists()
    render = services["mosquitto-config"]["command"][1].replace("/deploy/", "deploy/")
    assert (ROOT / render).exists()
    acl = next(a for a in services["mosquitto-config"]["command"] if a.startswith("--acl"))
    assert (ROOT / acl.split("=", 1)[1].lstrip("/")).exists()


def test_compose_collector_settings_load() -> None:
    from collector.settings import Settings

    s = Settings.load(COMPOSE / "collector.toml")
    assert s.store.startswith("postgresql://") and s.mqtt is not None and s.anchor is not None
    assert s.mqtt.host == "mosquitto" and s.anchor.rpc_url == "http://anvil:8545"
    # Scale-out (docs/collector.md § Several collectors): replicas of this one file are
    # distinct group members, and the signer state is on the writable data volume.
    assert s.mqtt.shared_group is not None and s.mqtt.client_id is None
    assert s.mqtt.instance_client_id().startswith("collector-")
    assert s.signer_state_path().parent == Path("/var/lib/vnotary")
    # production: one key per statement (docs/collector.md § Keys), no shared default
    assert s.key_file is None
    paths = {s.log_key_path(), s.receipt_key_path(), s.bundle_key_path()}
    assert len(paths) == 3


def test_docs_cover_the_three_jobs() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()
    for must in ("fleet_ca.py sign-device", "vnotary collector device add", "80-can0.network",
                 "docker compose", "confirmations", "vnotary report"):  # fmt: skip
        assert must in text, must


def _analyze(tmp_path: Path, *units: Path) -> None:
    """systemd's own verifier, where systemd exists, on copies running this checkout's vnotary."""
    if not shutil.which("systemd-analyze"):
        return
    venv = Path(shutil.which("vnotary") or ROOT / ".venv/bin/vnotary")
    copies = []
    for u in units:
        (tmp_path / u.name).write_text(u.read_text().replace("/opt/vnotary/bin/vnotary", str(venv)))
        copies.append(str(tmp_path / u.name))
    done = subprocess.run(["systemd-analyze", "verify", *copies], check=True,
                          capture_output=True, text=True)  # fmt: skip
    assert done.stderr == ""


def test_witness_unit_serves_the_configured_witness_and_is_hardened(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from notary_core.checkpoint import NoteSigner
    from witness.config import WitnessConfig

    u = unit(ROOT / "deploy" / "witness" / "vnotary-witness.service")
    svc = u["Service"]
    assert svc["ExecStart"] == [
        "/opt/vnotary/bin/vnotary witness serve --config "
        "/etc/vnotary-witness/witness.toml --host 127.0.0.1 --port 8090"
    ]
    assert svc["Restart"] == ["always"] and svc["User"] == ["vnotary-witness"]
    for key in ("ProtectSystem", "NoNewPrivileges", "PrivateDevices", "RestrictSUIDSGID"):
        assert svc[key] in (["strict"], ["yes"]), key
    assert svc["ReadWritePaths"] == ["/var/lib/vnotary-witness"]
    _analyze(tmp_path, ROOT / "deploy" / "witness" / "vnotary-witness.service")
    # The example config is what the witness loads, once it names a real log key.
    example = (ROOT / "deploy" / "witness" / "witness.toml").read_text()
    vkey = NoteSigner("collector.example", ed25519.Ed25519PrivateKey.generate()).verifier.vkey
    fake = example.split('vkeys = ["', 1)[1].split('"', 1)[0]
    (tmp_path / "witness.toml").write_text(example.replace(fake, vkey))
    cfg = WitnessConfig.load(tmp_path / "witness.toml")
    assert list(cfg.logs) == ["collector.example/vnotary/log"]
    assert str(cfg.db) == "/var/lib/vnotary-witness/witness.db"


def test_monitor_timer_runs_one_round_and_an_alarm_fails_the_unit(tmp_path: Path) -> None:
    svc = unit(ROOT / "deploy" / "monitor" / "vnotary-monitor.service")["Service"]
    (cmd,) = svc["ExecStart"]
    assert cmd.startswith("/opt/vnotary/bin/vnotary monitor ") and cmd.endswith(" --once")
    assert "--state /var/lib/vnotary-monitor" in cmd and "--trust " in cmd
    assert svc["Type"] == ["oneshot"] and svc["SuccessExitStatus"] == ["3"]  # 1 (alarm) fails
    timer = unit(ROOT / "deploy" / "monitor" / "vnotary-monitor.timer")
    assert timer["Timer"]["Unit"] == ["vnotary-monitor.service"]
    assert timer["Timer"]["Persistent"] == ["true"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]
    _analyze(tmp_path, ROOT / "deploy" / "monitor" / "vnotary-monitor.service",
             ROOT / "deploy" / "monitor" / "vnotary-monitor.timer")  # fmt: skip
