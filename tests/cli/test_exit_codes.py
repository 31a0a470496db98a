"""Exit codes, help, errors and pipes of `vnotary` (vnotary_cli/exits.py is the table).

A crash must never read as a verdict: 1 is FAIL, so an internal error is 70 with its
traceback; a user's mistake is one line and 2 or 4, never a traceback.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core.errors import BadData, Reason, Unreachable
from tests.cli.walk import undocumented
from tests.core.bundle_factory import build, make_world
from verifier import cli as verifier_cli
from vnotary_cli import exits
from vnotary_cli.main import main


def vnotary(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vnotary_cli.main", *args],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


@pytest.fixture
def config(tmp_path: Path) -> Path:
    assert main(["collector", "keygen", "--out", str(tmp_path / "c.key")]) == 0
    path = tmp_path / "collector.toml"
    path.write_text('store = "sqlite:///c.db"\nkey_file = "c.key"\norigin = "cli.test/log"\n')
    return path


def _pem(tmp_path: Path) -> Path:
    path = tmp_path / "dev.pem"
    path.write_bytes(
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return path


def test_every_option_and_argument_has_help() -> None:
    assert undocumented() == []


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == "vnotary 0.1.0"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (BadData(Reason.MALFORMED, "no"), exits.USAGE),
        (Unreachable("broker"), exits.UNAVAILABLE),
        (ConnectionRefusedError(111, "refused"), exits.UNAVAILABLE),
        (socket.gaierror(-2, "unknown host"), exits.UNAVAILABLE),
        (FileNotFoundError(2, "No such file or directory", "x.toml"), exits.UNREADABLE),
        (PermissionError(13, "Permission denied", "/etc/x"), exits.UNREADABLE),
        (KeyboardInterrupt(), exits.INTERRUPTED),
        (ZeroDivisionError("bug"), exits.INTERNAL),
        (ModuleNotFoundError("No module named 'web3'", name="web3"), exits.USAGE),
        (ModuleNotFoundError("No module named 'ours'", name="ours"), exits.INTERNAL),
    ],
)
def test_each_error_family_has_its_code(
    error: BaseException, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom() -> int:
        raise error

    assert exits.guarded("collector", "collector", boom) == code
    err = capsys.readouterr().err
    assert ("Traceback" in err) == (code == exits.INTERNAL)
    if code == exits.USAGE and isinstance(error, ModuleNotFoundError):
        assert "pip install 'vnotary[collector]'" in err


def test_a_crash_in_the_verifier_is_70_never_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "b.vnb"
    bundle.write_bytes(build(make_world()))

    def crash(*_args: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(verifier_cli, "verify_bundle", crash)
    assert main(["verify", str(bundle)]) == exits.INTERNAL
    assert verifier_cli.main([str(bundle)]) == verifier_cli.EXIT_INTERNAL == 70

    def raises(*_args: object) -> None:
        raise BadData(Reason.MALFORMED, "verify_bundle must report, not raise")

    monkeypatch.setattr(verifier_cli, "verify_bundle", raises)
    assert main(["verify", str(bundle)]) == exits.INTERNAL
    assert "internal error" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["-m", "vnotary_cli.main", "verify"], ["-m", "verifier"]])
def test_a_closed_pipe_stops_quietly(tmp_path: Path, command: list[str]) -> None:
    bundle = tmp_path / "b.vnb"
    bundle.write_bytes(build(make_world()))
    proc = subprocess.Popen(
        [sys.executable, *command, str(bundle), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line (`| head -0`)
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == exits.BROKEN_PIPE, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_user_errors_are_one_line_without_traceback(config: Path, tmp_path: Path) -> None:
    add = ["collector", "device", "add", "--config", str(config), "dev-1", "--public-key"]
    missing = vnotary(*add, str(tmp_path / "absent.pem"))
    assert missing.returncode == exits.UNREADABLE and "absent.pem" in missing.stderr
    (tmp_path / "bad.pem").write_text("not a key\n")
    bad = vnotary(*add, str(tmp_path / "bad.pem"))
    assert bad.returncode == exits.USAGE and "not a PEM public key" in bad.stderr
    when = vnotary(*add, str(_pem(tmp_path)), "--not-before", "yesterday")
    assert when.returncode == exits.USAGE and "not an ISO 8601 time" in when.stderr
    naive = vnotary(*add, str(_pem(tmp_path)), "--not-before", "2024-01-01T00:00:00")
    assert naive.returncode == exits.USAGE and "no UTC offset" in naive.stderr
    party = vnotary("collector", "party", "--config", str(config), "owner", "o",
                    "--public-key=%%%")  # fmt: skip
    assert party.returncode == exits.USAGE and "not base64url" in party.stderr
    no_config = vnotary("collector", "device", "list", "--config", str(tmp_path / "none.toml"))
    assert no_config.returncode == exits.UNREADABLE and "none.toml" in no_config.stderr
    for proc in (missing, bad, no_config):  # one line, naming the command
        assert proc.stderr.startswith("vnotary collector: ") and proc.stderr.count("\n") == 1
    for proc in (when, naive, party):  # argparse: the usage, then one line naming the option
        assert proc.stderr.splitlines()[-1].startswith("vnotary collector ")
    for proc in (missing, bad, when, naive, party, no_config):
        assert "Traceback" not in proc.stderr, proc.stderr


def test_a_part_without_its_extra_names_it(tmp_path: Path) -> None:
    # web3 and fastapi made unimportable, as in an install without [collector].
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('web3', 'fastapi', 'aiosqlite'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from vnotary_cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "collector", "run", "--config", "x.toml"],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert proc.returncode == exits.USAGE, proc.stderr
    assert "pip install 'vnotary[collector]'" in proc.stderr and "Traceback" not in proc.stderr
