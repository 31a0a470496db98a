"""Build configuration beyond pyproject.toml: the optional C accelerator of the bridge decoder.

`firmware_bridge._fastdecode` (the stream decoder in C) is built when a C compiler is there;
without one the install still succeeds and `StreamDecoder` runs the pure-Python reference.
"""

from setuptools import Extension, setup

BRIDGE_C = "firmware_bridge/c"

setup(
    ext_modules=[
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
        )
    ],
)
