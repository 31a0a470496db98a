"""Build configuration beyond pyproject.toml: the optional C accelerators.

`firmware_bridge._fastdecode` (the stream decoder in C) and `notary_core._accel` (the
evidence verifier's per-record loop, on OpenSSL's SHA-256) are built when a C compiler (and
for the second, OpenSSL's headers: libssl-dev) are there; without them the install still
succeeds and the pure-Python paths run, with the same answers.

`VNOTARY_PURE_WHEEL=1` (set by `make dist`) builds no extension, so the wheel is
`py3-none-any` and installs on every platform (a Raspberry Pi gateway included); the sdist
always carries the C sources and compiles them where it is installed.
"""

import os

from setuptools import Extension, setup

BRIDGE_C = "firmware_bridge/c"

EXTENSIONS = [
    Extension(
        "firmware_bridge._fastdecode",
        sources=[
            "firmware_bridge/_fastdecode.c",
            f"{BRIDGE_C}/vnb_rx.c",
            f"{BRIDGE_C}/vnb.c",
        ],
        include_dirs=[BRIDGE_C],
        depends=[f"{BRIDGE_C}/vnb.h", f"{BRIDGE_C}/vnb_rx.h"],
        extra_compile_args=["-std=c99", "-O2"],
        optional=True,  # no compiler: install anyway, decode in pure Python
    ),
    Extension(
        "notary_core._accel",
        sources=["notary_core/_accel.c"],
        libraries=["crypto"],
        extra_compile_args=["-std=c99", "-O2"],
        optional=True,  # no compiler or no OpenSSL headers: verify in pure Python
    ),
]

setup(ext_modules=[] if os.environ.get("VNOTARY_PURE_WHEEL") == "1" else EXTENSIONS)
