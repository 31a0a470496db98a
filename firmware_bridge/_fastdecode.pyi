"""Types of the C stream decoder (firmware_bridge/_fastdecode.c); see decoder.py."""

from collections.abc import Iterator
from typing import Any, ClassVar

from firmware_bridge.decoder import Counters, FrameStatus, Rejected
from firmware_bridge.errors import BridgeReason
from firmware_bridge.frame import Header
from firmware_bridge.messages import AnyMessage

Buffer = bytes | bytearray | memoryview

class Frame:
    """One intact frame. `raw` is the decoded frame, CRC included: the evidence bytes."""

    _fields: ClassVar[tuple[str, ...]]
    __match_args__: ClassVar[tuple[str, ...]] = (
        "raw",
        "header",
        "message",
        "status",
        "sign_ts",
        "problem",
    )
    def __init__(
        self,
        raw: bytes,
        header: Header,
        message: AnyMessage,
        status: FrameStatus,
        sign_ts: int | None,
        problem: BridgeReason | None,
    ) -> None: ...
    @property
    def raw(self) -> bytes: ...
    @property
    def header(self) -> Header: ...
    @property
    def message(self) -> AnyMessage: ...
    @property
    def status(self) -> FrameStatus: ...
    @property
    def sign_ts(self) -> int | None: ...
    @property
    def problem(self) -> BridgeReason | None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __hash__(self) -> int: ...
    def _asdict(self) -> dict[str, Any]: ...
    def _replace(self, **fields: Any) -> Frame: ...

class Decoder:
    def __init__(
        self, keys: dict[int, bytes], require_signed: bool, counters: Counters
    ) -> None: ...
    @property
    def pending(self) -> int: ...
    def feed(self, data: Buffer) -> list[Frame]: ...
    def drop_partial(self) -> None: ...
    def take_rejected(self) -> list[Rejected]: ...

def bind(
    header: type[Header],
    rejected: type[Rejected],
    status: tuple[FrameStatus, FrameStatus, FrameStatus],
    reason: tuple[BridgeReason | None, ...],
    message: tuple[type, ...],
    time_source: type,
    counter_names: tuple[str, ...],
) -> None: ...
def crc32c(data: Buffer) -> int: ...
def utf8_valid(data: Buffer) -> bool: ...
