"""The agent's log: plain lines for journald, or JSON lines on request (issue 16 §4).

Plain: `LEVEL logger: message`, no timestamp (journald stamps each line). JSON: one
object per line with `ts` (UTC, RFC 3339), `level`, `logger`, `msg`. Nothing secret is
ever logged (keys are read in `device_key` and never formatted); as a second fence, a
line that looks like PEM key material is replaced before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

_PEM = "-----BEGIN"


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _PEM in record.getMessage():
            record.msg, record.args = "[a log line holding PEM material was withheld]", None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup(fmt: str = "plain", level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send the agent's loggers (and paho's warnings) to stderr in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_Redact())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
