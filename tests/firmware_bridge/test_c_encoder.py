"""The C reference encoder (firmware_bridge/c/) produces the golden frames byte for byte.

The test writes a small C driver from tests/vectors/bridge/frames.json (one encoder call
per vector), compiles it with the system C compiler in strict C99 and compares its output.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from firmware_bridge.decoder import FrameStatus, StreamDecoder

pytestmark = pytest.mark.usefixtures("each_decoder")

REPO = Path(__file__).resolve().parents[2]
C_DIR = REPO / "firmware_bridge" / "c"
VECTORS = REPO / "tests" / "vectors" / "bridge" / "frames.json"
OUT = "out, sizeof out"
LONG_MSG = b"Test Using Larger Than Block-Size Key - Hash Key First"
CFLAGS = ["-Wall", "-Wextra", "-Werror", "-std=c99", "-pedantic", "-O1"]


def _bytes(hex_text: str) -> str:
    data = bytes.fromhex(hex_text)
    return "{" + ", ".join(str(b) for b in data) + "}" if data else "{0}"


def _call(m: dict[str, Any], mcu_us: int) -> str:
    kind = m["kind"]
    if kind == "hello":
        major, minor, patch = m["fw_version"]
        return (
            f"{{ static const uint8_t img[] = {_bytes(m['fw_image_sha256'])};"
            f" n = vnb_hello(&b, {mcu_us}ull, {major}, {minor}, {patch}, img,"
            f" {m['capabilities']}u, out, sizeof out); }}"
        )
    if kind == "heartbeat":
        return f"n = vnb_heartbeat(&b, {mcu_us}ull, {m['status']}u, {m['tx_dropped']}u, {OUT});"
    if kind == "imu":
        a = ", ".join(map(str, m["accel"]))
        g = ", ".join(map(str, m["gyro"]))
        return (
            f"{{ static const int32_t a[3] = {{{a}}}; static const int32_t g[3] = {{{g}}};"
            f" n = vnb_imu(&b, {mcu_us}ull, a, g, {m['accel_scale_nano']}u,"
            f" {m['gyro_scale_nano']}u, out, sizeof out); }}"
        )
    if kind == "gnss":
        raw = bytes.fromhex(m["raw"])
        return (
            f"{{ static const uint8_t s[] = {_bytes(m['raw'])};"
            f" n = vnb_gnss(&b, {mcu_us}ull, s, {len(raw)}, {OUT}); }}"
        )
    if kind == "sensor":
        return (
            f"n = vnb_sensor(&b, {mcu_us}ull, {m['sensor_id']}, {m['mantissa']}ll,"
            f" {m['exponent']}, {json.dumps(m['unit'])}, out, sizeof out);"
        )
    if kind == "time_sync":
        return (
            f"n = vnb_time_sync(&b, {mcu_us}ull, {m['source']}, {m['mcu_us']}ull,"
            f" {m['utc_ns']}ll, out, sizeof out);"
        )
    if kind == "log":
        text = m["text"].encode()
        return (
            f"n = vnb_log(&b, {mcu_us}ull, {m['level']}, {m['code']},"
            f" {json.dumps(m['text'])}, {len(text)}, {OUT});"
        )
    assert kind == "opaque"
    payload = bytes.fromhex(m["payload"])
    return (
        f"{{ static const uint8_t p[] = {_bytes(m['payload'])};"
        f" n = vnb_encode(&b, {m['type']}, {mcu_us}ull, p, {len(payload)}, {OUT}); }}"
    )


def _driver(vectors: list[dict[str, Any]]) -> str:
    lines = [
        "#include <stdio.h>",
        '#include "vnb.h"',
        "static void emit(const uint8_t *p, size_t n) {",
        '    size_t i; for (i = 0; i < n; i++) printf("%02x", p[i]); printf("\\n"); }',
        "int main(void) {",
        "    static vnb_board b; static uint8_t out[VNB_MAX_WIRE]; size_t n; uint8_t mac[32];",
        '    static const uint8_t check[] = "123456789";',
        '    printf("%08x\\n", (unsigned)vnb_crc32c(check, 9));',
        # RFC 4231 test case 2 (key "Jefe") and a long key (hashed first).
        '    vnb_hmac_sha256((const uint8_t *)"Jefe", 4,',
        '        (const uint8_t *)"what do ya want for nothing?", 28, mac); emit(mac, 32);',
        "    { static uint8_t k[131]; memset(k, 0xaa, sizeof k);",
        f"      vnb_hmac_sha256(k, sizeof k, (const uint8_t *){json.dumps(LONG_MSG.decode())},",
        "          54, mac); emit(mac, 32); }",
    ]
    for i, v in enumerate(vectors):
        key = f"k{i}"
        if v["key"]:
            lines.append(f"    {{ static const uint8_t {key}[32] = {_bytes(v['key'])};")
            lines.append(f"      vnb_board_init(&b, {v['board_id']}u, {key}); }}")
        else:
            lines.append(f"    vnb_board_init(&b, {v['board_id']}u, NULL);")
        lines.append(
            f"    b.seq = {v['before']['seq']}u; b.last_sign_ts = {v['before']['last_sign_ts']}ull;"
        )
        lines.append("    " + _call(v["message"], v["mcu_us"]))
        lines.append("    emit(out, n);")
    lines += ["    return 0;", "}", ""]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def c_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], list[str]]:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler: run scripts/install-system-deps.sh")
    vectors = json.loads(VECTORS.read_text())["frames"]
    tmp = tmp_path_factory.mktemp("vnb")
    (tmp / "driver.c").write_text(_driver(vectors))
    exe = tmp / "driver"
    subprocess.run(
        [cc, *CFLAGS, f"-I{C_DIR}", str(C_DIR / "vnb.c"), str(tmp / "driver.c"), "-o", str(exe)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    out = subprocess.run([str(exe)], check=True, capture_output=True, timeout=30, text=True)
    return vectors, out.stdout.splitlines()


def test_library_compiles_alone_with_only_stdint_and_string() -> None:
    source = (C_DIR / "vnb.c").read_text() + (C_DIR / "vnb.h").read_text()
    includes = {line.split()[1] for line in source.splitlines() if line.startswith("#include")}
    assert includes == {"<stdint.h>", "<string.h>", '"vnb.h"'}
    assert "malloc" not in source and "printf" not in source


def test_primitives_match_python(c_output: tuple[list[dict[str, Any]], list[str]]) -> None:
    _, lines = c_output
    assert lines[0] == "e3069283"  # CRC-32C check value (RFC 3720 B.4 / the Rocksoft "check")
    assert (
        lines[1] == hmac.new(b"Jefe", b"what do ya want for nothing?", hashlib.sha256).hexdigest()
    )
    assert lines[1].startswith("5bdcc146bf60754e")  # RFC 4231 test case 2
    long_mac = hmac.new(b"\xaa" * 131, LONG_MSG, hashlib.sha256)
    assert lines[2] == long_mac.hexdigest()


def test_c_frames_are_byte_exact(c_output: tuple[list[dict[str, Any]], list[str]]) -> None:
    vectors, lines = c_output
    frames = lines[3:]
    assert len(frames) == len(vectors)
    for v, got in zip(vectors, frames, strict=True):
        assert got == v["wire"], v["name"]


def test_c_frames_decode_in_python(c_output: tuple[list[dict[str, Any]], list[str]]) -> None:
    vectors, lines = c_output
    for v, got in zip(vectors, lines[3:], strict=True):
        keys = {v["board_id"]: bytes.fromhex(v["key"])} if v["key"] else {}
        (decoded,) = StreamDecoder(keys).feed(bytes.fromhex(got))
        assert decoded.status is FrameStatus.OK, v["name"]
        assert decoded.raw.hex() == v["frame"]
        assert decoded.header.seq == v["before"]["seq"]
