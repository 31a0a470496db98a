"""Types of the C extension built from _accel.c (see that file)."""

def check_batch(
    items: tuple[tuple[int, bytes, bytes], ...],
    multiproof: tuple[bytes, ...],
    size: int,
    root: bytes,
    params: tuple[int, int, int, int, int, int],
    /,
) -> tuple[list[tuple[bytes, int]], list[int]] | None: ...
