"""The core's C accelerator (notary_core/_accel.c) for the tests that compare it with the
Python path, even under VNOTARY_PURE_PYTHON=1, which hides it from the core (tests/conftest.py).

Mutation testing runs with the switch on, so that the Python path is what runs; the Python
code that checks what the C loop confirms (`_confirmed_in_c`) runs only beside the C loop,
and these tests must reach it there too.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import notary_core
from notary_core import bundle, evidence, evidence_v2


def load_accel() -> ModuleType | None:
    """The built extension, loaded under a name of its own (an extension module's init
    function follows the last part of its name, so that part stays `_accel`), or None when
    it was not built."""
    pkg = Path(notary_core.__file__).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = pkg / f"_accel{suffix}"
        if path.exists():
            spec = importlib.util.spec_from_file_location("tests.core.c_ext._accel", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    return None


ACCEL = load_accel()


@contextlib.contextmanager
def c_loop(on: bool) -> Iterator[None]:
    """The core with the C loop on (the built extension, whatever the switch says) or off."""
    saved = (evidence._accel, evidence.ACCELERATED, evidence_v2._accel, bundle._accel)
    accel = ACCEL if on else None
    evidence._accel = evidence_v2._accel = bundle._accel = accel  # type: ignore[assignment]
    evidence.ACCELERATED = accel is not None
    try:
        yield
    finally:
        evidence._accel, evidence.ACCELERATED, evidence_v2._accel, bundle._accel = saved
