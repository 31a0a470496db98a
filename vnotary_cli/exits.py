"""Exit codes of every `vnotary` command, and the one place that turns errors into them.

    0    success (`verify`: OK)
    1    `verify`: FAIL; `demo`: a step failed (no other command uses 1; a crash never does)
    2    usage: bad arguments, a configuration or input refused (with its reason), a
         missing extra (named, with the pip command)
    3    `verify`: INCONCLUSIVE
    4    a file named on the command line cannot be read or written
    5    a system the command needs did not answer (broker, chain node, database): retry
    6    `collector run`: the signer guard refused to sign (docs/collector.md § Signer guard):
         an operator must act; systemd: RestartPreventExitStatus=6
    70   internal error, a bug (sysexits EX_SOFTWARE): the traceback is printed, report it
    130  interrupted (Ctrl-C)
    141  the reader closed the output (`vnotary ... | head`): stopped quietly, as on SIGPIPE

docs/cli.md repeats this table per command; tests/cli/ hold every row to it.
"""

from __future__ import annotations

import os
import socket
import sys
import traceback
from collections.abc import Callable

from notary_core.errors import NotaryError, Unreachable

OK = 0
USAGE = 2
UNREADABLE = 4
UNAVAILABLE = 5
INTERNAL = 70
INTERRUPTED = 130
BROKEN_PIPE = 141

# Third-party module -> the extra that installs it (pyproject.toml [project.optional-dependencies]).
EXTRA_OF = {
    "can": "edge", "serial": "edge", "crc32c": "edge", "cobs": "edge", "paho": "edge",
    "fastapi": "collector", "uvicorn": "collector", "aiosqlite": "collector",
    "web3": "collector", "eth_account": "collector", "eth_abi": "collector",
    "eth_utils": "collector", "hexbytes": "collector", "requests": "collector",
    "psycopg": "collector", "cantools": "collector", "starlette": "collector",
    "pydantic": "collector", "prometheus_client": "collector",
}  # fmt: skip


def missing_extra(command: str, module: str | None, extra: str | None) -> str:
    """One line naming what to install for a command whose dependencies are absent."""
    top = (module or "?").split(".")[0]
    extra = extra or EXTRA_OF.get(top)
    hint = f": pip install 'vnotary[{extra}]'" if extra else ""
    return f"vnotary {command}: needs the Python module {top!r}, which is not installed{hint}"


def guarded(command: str, extra: str | None, handler: Callable[[], int]) -> int:
    """Run a command; every error becomes one line on stderr and its documented code."""
    try:
        return handler()
    except BrokenPipeError:
        # Python docs (signal, "Note on SIGPIPE"): point stdout at devnull so the flush at
        # exit does not raise a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE
    except KeyboardInterrupt:
        return INTERRUPTED
    except Unreachable as exc:
        return _say(f"vnotary {command}: unavailable: {exc}", UNAVAILABLE)
    except NotaryError as exc:  # bad data, a refused request, a bad configuration
        return _say(f"vnotary {command}: {exc}", USAGE)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in EXTRA_OF:
            return _say(missing_extra(command, exc.name, extra), USAGE)
        return _internal(command)
    except (ConnectionError, TimeoutError, socket.gaierror) as exc:
        return _say(f"vnotary {command}: unavailable: {exc}", UNAVAILABLE)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _say(f"vnotary {command}: {where}{exc.strerror or exc}", UNREADABLE)
    except Exception:
        return _internal(command)


def _say(line: str, code: int) -> int:
    print(line, file=sys.stderr)
    return code


def _internal(command: str) -> int:
    traceback.print_exc()
    return _say(
        f"vnotary {command}: internal error (exit {INTERNAL}): this is a bug, please report "
        "it with the traceback above",
        INTERNAL,
    )
