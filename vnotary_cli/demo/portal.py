"""`vnotary demo --serve`: the stack stays up with the consent portal for a person to click
through, as the owner and as the insurer (docs/portal.md)."""

from __future__ import annotations

import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from vnotary_cli.demo.access import Api, key_backup

PASSPHRASE = "vnotary demo"  # noqa: S105 (the demo's throwaway keys, printed on purpose)


def serve_portal(
    api: Api, w: Path, portal: str, trust: Path, owner: ed25519.Ed25519PrivateKey,
    insurer: ed25519.Ed25519PrivateKey, event_ns: int, vehicle: str, scope: list[str],
    signals: list[str],
) -> int:  # fmt: skip
    """Leave the stack up for a person: the owner's and the insurer's keys as the portal's
    backup files, and a second request waiting for the owner to approve, narrow or deny."""
    keys = w / "portal"
    keys.mkdir()
    key_backup(owner, keys / "owner-key.pem", PASSPHRASE)
    key_backup(insurer, keys / "insurer-key.pem", PASSPHRASE)
    second = {"window_start_ns": event_ns - 60 * 10**9, "window_end_ns": event_ns - 30 * 10**9,
              "scope": scope, "signals": signals, "actions": ["read", "export"],
              "purpose": "claim 2026-0042: the minute before"}  # fmt: skip
    api.ok("POST", f"/v1/vehicles/{vehicle}/requests", insurer, second)
    print(
        f"""
  portal  {portal}
          as the owner: Your keys > recover {keys / "owner-key.pem"}
          (passphrase "{PASSPHRASE}"), then pin the trust file {trust}
          as the insurer (another browser profile): recover {keys / "insurer-key.pem"}
          a request is waiting for the owner; the history shows every step, checked there

  the stack stays up until Ctrl-C
""",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping every process the demo started", flush=True)
    return 0
