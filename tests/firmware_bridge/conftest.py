"""Run the bridge tests against both decoders: the C extension and the Python reference."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firmware_bridge import decoder


@pytest.fixture(scope="module", params=["c", "python"])
def each_decoder(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every StreamDecoder made in the module runs the given implementation."""
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "python":
            mp.setattr(decoder, "_fast", None)
        else:
            assert decoder.ACCELERATED, "firmware_bridge._fastdecode is not built"
        yield request.param
