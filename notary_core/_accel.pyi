"""Types of the C extension built from _accel.c (see that file)."""

from typing import Any, TypeVar, overload

_T = TypeVar("_T", bound=tuple[Any, ...])

@overload
def check_batch(
    items: tuple[tuple[int, bytes, bytes], ...],
    multiproof: tuple[bytes, ...],
    size: int,
    root: bytes,
    params: tuple[int, int, int, int, int, int],
    /,
) -> tuple[list[tuple[bytes, int]], list[int]] | None: ...
@overload
def check_batch(
    items: tuple[tuple[int, bytes, bytes], ...],
    multiproof: tuple[bytes, ...],
    size: int,
    root: bytes,
    params: tuple[int, int, int, int, int, int],
    times: tuple[int, int, int, int],
    /,
) -> tuple[dict[tuple[bytes, int], int], list[int], int] | None: ...
def disclosed_rows(rows: list[Any], cls: type[_T], salt_size: int, /) -> list[_T] | None: ...
