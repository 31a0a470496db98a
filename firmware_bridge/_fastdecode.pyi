"""Types of the C stream decoder (firmware_bridge/_fastdecode.c); see decoder.py."""

from firmware_bridge.decoder import Counters, Frame, FrameStatus, Rejected
from firmware_bridge.errors import BridgeReason
from firmware_bridge.frame import Header

Buffer = bytes | bytearray | memoryview

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
    frame: type[Frame],
    header: type[Header],
    rejected: type[Rejected],
    status: tuple[FrameStatus, FrameStatus, FrameStatus],
    reason: tuple[BridgeReason | None, ...],
    message: tuple[type, ...],
    time_source: type,
    counter_names: tuple[str, ...],
) -> None: ...
def crc32c(data: Buffer) -> int: ...
def crc32c_slice8(data: Buffer) -> int: ...
def utf8_valid(data: Buffer) -> bool: ...
