"""The log API (app factory) and the `vnotary collector` commands, against a real SQLite store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.api.app import create_app
from collector.log.leaves import leaf_hash
from collector.settings import Settings
from notary_core import merkle
from notary_core.checkpoint import NoteVerifier, open_checkpoint
from vnotary_cli.demo.stack import free_port
from vnotary_cli.main import main


@pytest.fixture
def config(tmp_path: Path) -> Path:
    assert main(["collector", "keygen", "--out", str(tmp_path / "collector.key")]) == 0
    cfg = tmp_path / "collector.toml"
    cfg.write_text(
        'store = "sqlite:///c.db"\nkey_file = "collector.key"\norigin = "collector.test/log"\n',
        encoding="utf-8",
    )
    return cfg


def _pubkey(tmp_path: Path, name: str) -> Path:
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    path = tmp_path / f"{name}.pem"
    path.write_bytes(pem)
    return path


class Client:
    """Plain HTTP against a real uvicorn server on a free port."""

    def __init__(self, base: str) -> None:
        self.base = base

    async def get(self, path: str, **params: int) -> tuple[int, bytes]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        url = f"{self.base}{path}" + (f"?{query}" if query else "")

        def go() -> tuple[int, bytes]:
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                with e:
                    return e.code, e.read()

        return await asyncio.to_thread(go)

    async def json(self, path: str, **params: int) -> Any:
        return json.loads((await self.get(path, **params))[1])


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[Client]:
    """The collector's API under a real uvicorn server on a free port, until the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        yield Client(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task


def test_cli_registry_and_log_api(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(config)
    for dev in ("veh-1", "veh-2"):
        assert (
            main(
                [
                    "collector",
                    "device",
                    "add",
                    "--config",
                    cfg,
                    dev,
                    "--public-key",
                    str(_pubkey(tmp_path, dev)),
                    "--not-before",
                    "2024-01-01T00:00:00Z",
                ]
            )
            == 0
        )
    assert (
        main(
            [
                "collector",
                "device",
                "add",
                "--config",
                cfg,
                "veh-1",
                "--public-key",
                str(_pubkey(tmp_path, "veh-1b")),
            ]
        )
        == 0
    )
    assert main(["collector", "device", "revoke", "--config", cfg, "veh-2"]) == 0
    assert main(["collector", "device", "list", "--config", cfg]) == 0
    assert main(["collector", "log", "checkpoint", "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert "enrol veh-1" in out and "rotate veh-1" in out and "revoked veh-2" in out
    assert "collector.test/log\n5\n" in out  # 4 registry events, then the index leaf
    settings = Settings.load(config)
    verifier = NoteVerifier.from_public("collector.test", settings.signing_key().public_key())

    async def api() -> None:
        async with served(settings) as client:
            status, note = await client.get("/v1/log/checkpoint")
            cp = open_checkpoint(note, [verifier], "collector.test/log")
            assert cp.size == 5  # 4 registry events and the index leaf
            entry = await client.json("/v1/log/entries/0")
            leaf = bytes.fromhex(entry["leaf"])
            assert entry["type"] == "REGISTRY_EVENT"
            proof = await client.json("/v1/log/proof/inclusion", index=0, size=5)
            nodes = [bytes.fromhex(p) for p in proof["proof"]]
            merkle.verify_inclusion(leaf_hash(leaf), 0, 5, nodes, cp.root)
            status, body = await client.get("/v1/log/proof/consistency", size1=2, size2=4)
            assert status == 200 and len(json.loads(body)["proof"]) >= 1
            status, body = await client.get("/v1/log/proof/inclusion", index=9, size=5)
            assert status == 400 and json.loads(body)["reason"] == "BAD_INDEX"
            assert (await client.get("/v1/log/proof/inclusion", index=0, size=99))[0] == 400
            assert (await client.get("/v1/log/entries/99"))[0] == 400
            assert await client.json("/v1/anchors") == []

    asyncio.run(api())
