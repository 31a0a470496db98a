"""The optional C accelerator built from `_accel.c`, or None where it was not built.

It only ever speeds up what the pure-Python code already decides: where it cannot confirm
an input, the Python path runs and names the fault, so the answers never depend on it.
"""

from __future__ import annotations

try:
    from notary_core import _accel as accel
except ImportError:  # installed without a C compiler or OpenSSL headers: pure Python alone
    accel = None  # type: ignore[assignment]

__all__ = ["accel"]
