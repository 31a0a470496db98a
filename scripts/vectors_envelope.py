"""Vectors of the compressed envelope (docs/protocol.md §5.1): envelope.json.

Imported by scripts/gen_vectors.py, which writes and checks them. The compressed streams
are written by the small deflate encoders below (RFC 1951 stored blocks, and fixed-Huffman
blocks with greedy LZ77 matches), not by the zlib library: another zlib build, or zlib-ng,
may choose other equally valid bytes, and a vector must come out the same on every machine.
Python's zlib only checks that it inflates them.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

from vectors_v2 import reason_of

from notary_core import envelope, limits
from notary_core.batch import SealedBatch

Doc = dict[str, Any]


class _Bits:
    """RFC 1951 §3.1.1: data elements are packed starting with the least significant bit."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value: int, count: int) -> None:
        self.acc |= value << self.n
        self.n += count
        while self.n >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.n -= 8

    def code(self, code: int, length: int) -> None:
        """A Huffman code, most significant bit first (§3.1.1)."""
        self.put(int(f"{code:0{length}b}"[::-1], 2), length)

    def done(self) -> bytes:
        if self.n:
            self.out.append(self.acc & 0xFF)
        return bytes(self.out)


def _literal(bits: _Bits, sym: int) -> None:
    # §3.2.6 fixed literal/length codes
    if sym < 144:
        bits.code(0x30 + sym, 8)
    elif sym < 256:
        bits.code(0x190 + sym - 144, 9)
    elif sym < 280:
        bits.code(sym - 256, 7)
    else:
        bits.code(0xC0 + sym - 280, 8)


_LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83,
             99, 115, 131, 163, 195, 227, 258]  # fmt: skip
_LEN_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
_DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
              1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]  # fmt: skip
_DIST_EXTRA = [0, 0, 0, 0] + [i // 2 for i in range(2, 28)]


def _match(bits: _Bits, length: int, distance: int) -> None:
    i = max(k for k, base in enumerate(_LEN_BASE) if base <= length)
    if length == 258:
        i = 28
    _literal(bits, 257 + i)
    bits.put(length - _LEN_BASE[i], _LEN_EXTRA[i])
    j = max(k for k, base in enumerate(_DIST_BASE) if base <= distance)
    bits.code(j, 5)  # §3.2.6: fixed distance codes are 5 bits
    bits.put(distance - _DIST_BASE[j], _DIST_EXTRA[j])


def deflate_fixed(data: bytes) -> bytes:
    """One final fixed-Huffman block; greedy LZ77 over 3-byte prefixes, window 32 KiB."""
    bits = _Bits()
    bits.put(1, 1)  # BFINAL
    bits.put(1, 2)  # BTYPE 01: fixed Huffman codes
    seen: dict[bytes, list[int]] = {}
    i = 0
    while i < len(data):
        best, dist = 0, 0
        for j in reversed(seen.get(data[i : i + 3], [])[-16:]):
            if i - j > 32768:
                break
            n = 0
            while n < 258 and i + n < len(data) and data[j + n] == data[i + n]:
                n += 1
            if n > best:
                best, dist = n, i - j
        step = best if best >= 3 else 1
        if best >= 3:
            _match(bits, best, dist)
        else:
            _literal(bits, data[i])
        for k in range(i, i + step):
            seen.setdefault(data[k : k + 3], []).append(k)
        i += step
    _literal(bits, 256)  # end of block
    return bits.done()


def deflate_stored(data: bytes) -> bytes:
    """Stored blocks (§3.2.4) of at most 65,535 bytes."""
    out = bytearray()
    for start in range(0, len(data), 65535):
        part = data[start : start + 65535]
        final = start + 65535 >= len(data)
        out += bytes([1 if final else 0]) + struct.pack("<HH", len(part), len(part) ^ 0xFFFF)
        out += part
    return bytes(out)


def deflate_zeros(n: int) -> bytes:
    """n zero bytes in a few bits per 258: one literal, then matches at distance 1."""
    bits = _Bits()
    bits.put(1, 1)
    bits.put(1, 2)
    _literal(bits, 0)
    left = n - 1
    while left >= 258 + 3 or left == 258:
        _match(bits, 258, 1)
        left -= 258
    if left >= 3:
        _match(bits, left, 1)
    else:
        for _ in range(left):
            _literal(bits, 0)
    _literal(bits, 256)
    return bits.done()


def zlib_stream(deflated: bytes, data: bytes) -> bytes:
    """RFC 1950: CMF 0x78 (deflate, 32 KiB window), FLG 0x01 (FLEVEL 0, FCHECK), Adler-32."""
    return b"\x78\x01" + deflated + struct.pack(">I", zlib.adler32(data))


def head(length: int, version: int = 1, method: int = 1) -> bytes:
    return struct.pack(">8sBBI", envelope.MAGIC, version, method, length)


def envelope_doc(sealed: bytes) -> Doc:
    """`sealed`: the EdDSA sealed batch of batch.json."""
    fixed = zlib_stream(deflate_fixed(sealed), sealed)
    stored = zlib_stream(deflate_stored(sealed), sealed)
    for stream in (fixed, stored):
        assert zlib.decompress(stream) == sealed  # the reference encoders are right
    n = len(sealed)
    good = head(n) + fixed
    valid = [
        {"id": "zlib-fixed-huffman", "payload": good.hex()},
        {"id": "zlib-stored-blocks", "payload": (head(n) + stored).hex()},
        {"id": "bare-sealed-batch", "payload": sealed.hex()},
    ]
    dict_flag = 0x20 | (-0x7820 % 31)  # FDICT set, FCHECK still right
    zeros = limits.MAX_BATCH_PAYLOAD + (1 << 20)  # 9 MiB in ~60 KB
    bomb = zlib_stream(deflate_zeros(zeros), bytes(zeros))
    assert zlib.decompress(bomb) == bytes(zeros)
    corruptions = {
        "declared-length-over-limit": head(limits.MAX_BATCH_PAYLOAD + 1) + fixed,
        "declared-length-0": head(0) + fixed,
        "inflates-past-declared-length": head(n - 1) + fixed,
        "inflates-short-of-declared-length": head(n + 1) + fixed,
        "bomb-9MiB-of-zeros-declared-at-the-limit": head(limits.MAX_BATCH_PAYLOAD) + bomb,
        "truncated-header-@13": good[:13],
        "truncated-stream-@200": good[:200],
        "truncated-adler32": good[:-1],
        "trailing-byte": good + b"\x00",
        "modified-adler32-bit-@0": good[:-4] + bytes([good[-4] ^ 0x80]) + good[-3:],
        "modified-stream-bit-@100": good[:114] + bytes([good[114] ^ 0x01]) + good[115:],
        "preset-dictionary": head(n) + bytes([0x78, dict_flag]) + b"\x00" * 4 + fixed[2:],
        "raw-deflate-no-zlib-header": head(n) + deflate_fixed(sealed),
        "envelope-version-2": head(n, version=2) + fixed,
        "method-2": head(n, method=2) + fixed,
        "method-0": head(n, method=0) + fixed,
        "envelope-in-envelope": head(len(good)) + zlib_stream(deflate_stored(good), good),
    }

    def check(payload: bytes) -> None:
        SealedBatch.from_bytes(envelope.unwrap(payload))

    for case in valid:
        assert envelope.unwrap(bytes.fromhex(case["payload"])) == sealed
    invalid = [
        {"id": k, "payload": v.hex(), "reason": reason_of(lambda v=v: check(v))}
        for k, v in corruptions.items()
    ]
    return {
        "format": "vnotary-envelope-vectors/1",
        "magic": envelope.MAGIC.hex(),
        "max_sealed_batch": limits.MAX_BATCH_PAYLOAD,
        "sealed_batch": sealed.hex(),
        "valid": valid,
        "invalid": invalid,
    }
