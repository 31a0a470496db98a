"""web3.py backend of `Anchor`: signs locally, talks JSON-RPC over HTTP, wraps every error.

Sync web3 in a worker thread (asyncio.to_thread) with our own requests session, closed on
exit; anchoring runs at a few transactions per minute, so the thread hop is irrelevant.
It anchors on the version-2 contract only (contracts/AnchorV2.vy, docs/protocol.md §7.4):
`connect` checks the deployed code and that our key is the contract's owner.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import requests
from eth_account import Account
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.exceptions import TransactionNotFound
from web3.types import TxParams

from collector.log.anchor import Anchor, AnchorUnavailable, Found, Head, Mined
from notary_core import anchoring
from notary_core.errors import BadData, Reason

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
CONTRACT = "AnchorV2"  # what `deploy` deploys and the collector anchors on
ANCHOR_GAS = 100_000
"""Measured (bench/bench_anchor.py): ~34,700 gas per anchor, ~68,500 for the first one
(it fills the two empty head slots); explicit, so a send needs no estimate round trip."""
LOG_SPAN = 5_000
"""Blocks per eth_getLogs request: public endpoints refuse wide ranges (often > 10,000)."""
T = TypeVar("T")


def load_artifact(name: str = CONTRACT) -> dict[str, Any]:
    """A compiled contract of contracts/ (contracts/compile.py writes them)."""
    data: dict[str, Any] = json.loads((CONTRACTS / f"{name}.json").read_text(encoding="utf-8"))
    return data


class EvmAnchor(Anchor):
    def __init__(
        self,
        rpc_url: str,
        private_key: str,
        contract: str,
        chain_id: int,
        timeout_s: float = 5.0,
        start_block: int = 0,
    ) -> None:
        self.start_block = start_block  # the contract's deployment block: no event before it
        self._session = requests.Session()
        provider = HTTPProvider(
            rpc_url,
            session=self._session,
            request_kwargs={"timeout": timeout_s},
            exception_retry_configuration=None,
        )
        self.w3 = Web3(provider)
        self.account = Account.from_key(private_key)
        self._address = Web3.to_checksum_address(contract)
        self.contract = str(self._address)
        self.chain_id = chain_id
        self._c = self.w3.eth.contract(address=self._address, abi=load_artifact()["abi"])
        self._topic_hex = Web3.to_hex(HexBytes(self._c.events.Anchored().topic))

    @classmethod
    async def connect(
        cls, rpc_url: str, private_key: str, contract: str, start_block: int = 0
    ) -> EvmAnchor:
        """`start_block`: the anchor contract's deployment block (from `deploy_at`, kept in
        the settings), so `find` never scans the chain from genesis."""
        probe = cls(rpc_url, private_key, contract, 0, start_block=start_block)
        try:
            probe.chain_id = await probe._call(lambda: int(probe.w3.eth.chain_id))
            code = await probe._call(lambda: bytes(probe.w3.eth.get_code(probe._address)))
            probe._check_contract(anchoring.identify(code))
        except BaseException:
            await probe.close()
            raise
        return probe

    def _check_contract(self, found: anchoring.Contract) -> None:
        """Anchor only on a version-2 contract we own: a misconfigured address fails here."""
        where = f"{self.contract} on chain {self.chain_id}"
        if found.version != anchoring.V2:
            kind = "the event-only version 1" if found.version == anchoring.V1 else "unknown code"
            raise BadData(
                Reason.UNKNOWN_CONTRACT,
                f"the anchor contract {where} is {kind}, not version 2: deploy one "
                "(`vnotary collector contract deploy`) and set [anchor] contract",
            )
        if found.owner != bytes(HexBytes(self.account.address)):
            raise BadData(
                Reason.KEY_MISMATCH,
                f"the anchor contract {where} belongs to 0x{found.owner.hex()}, "
                f"not to our chain key {self.account.address}",
            )

    async def _call(self, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except TransactionNotFound:
            raise
        except Exception as exc:  # requests, web3, eth_* all raise their own types
            raise AnchorUnavailable(f"chain node: {type(exc).__name__}: {exc}"[:300]) from None

    async def send(self, size: int, root: bytes, prev_size: int, prev_root: bytes) -> bytes:
        def go() -> bytes:
            nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
            base = self.w3.eth.get_block("latest")["baseFeePerGas"]
            tx = self._c.functions.anchor(size, root, prev_size, prev_root).build_transaction(
                cast(
                    TxParams,
                    {
                        "from": self.account.address,
                        "nonce": nonce,
                        "gas": ANCHOR_GAS,
                        "chainId": self.chain_id,
                        "maxFeePerGas": 2 * base + 10**9,
                        "maxPriorityFeePerGas": 10**9,
                    },
                )
            )
            signed = self.account.sign_transaction(tx)
            return bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))

        return await self._call(go)

    async def status(self, tx_hash: bytes) -> Mined | str:
        def go() -> Mined | str:
            try:
                r = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                try:
                    self.w3.eth.get_transaction(HexBytes(tx_hash))
                except TransactionNotFound:
                    return "unknown"
                return "pending"
            if int(r["status"]) != 1:  # the contract refused it (its head had moved)
                return "reverted"
            number = int(r["blockNumber"])
            stamp = int(self.w3.eth.get_block(number)["timestamp"])
            return Mined(number, bytes(r["blockHash"]), stamp)

        return await self._call(go)

    async def find(self, root: bytes) -> Found | None:
        def go() -> Found | None:
            # Newest first, LOG_SPAN blocks at a time, down to the deployment block: the
            # anchor looked for is usually the last one sent. Only the owner (our key,
            # checked in `connect`) can make the contract emit an event.
            hi = int(self.w3.eth.block_number)
            while hi >= self.start_block:
                lo = max(self.start_block, hi - LOG_SPAN + 1)
                logs = self.w3.eth.get_logs(
                    {
                        "address": self._address,
                        "fromBlock": lo,
                        "toBlock": hi,
                        "topics": [self._topic_hex, Web3.to_hex(root)],
                    }
                )
                if logs:  # the contract takes a root once per size: the last one it is
                    log = logs[-1]
                    e = anchoring.decode_event(
                        anchoring.V2, [bytes(t) for t in log["topics"]], bytes(log["data"])
                    )
                    number = int(log["blockNumber"])
                    stamp = int(self.w3.eth.get_block(number)["timestamp"])
                    mined = Mined(number, bytes(log["blockHash"]), stamp)
                    return Found(bytes(log["transactionHash"]), mined, e.prev_root)
                hi = lo - 1
            return None

        return await self._call(go)

    async def anchored(self) -> anchoring.Head:
        def go() -> anchoring.Head:
            size, root = self._c.functions.head().call(block_identifier="latest")
            return anchoring.Head(int(size), bytes(root))

        return await self._call(go)

    async def head(self) -> Head:
        def go() -> Head:
            latest = int(self.w3.eth.block_number)
            try:
                fin: int | None = int(self.w3.eth.get_block("finalized")["number"])
            except Exception:  # a chain without the tag
                fin = None
            return Head(latest, fin)

        return await self._call(go)

    async def gas_used(self, tx_hash: bytes) -> int:
        return await self._call(
            lambda: int(self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))["gasUsed"])
        )

    async def close(self) -> None:
        self._session.close()


async def deploy(rpc_url: str, private_key: str, name: str = CONTRACT) -> str:
    """Deploy the committed artifact; return the contract address (for tests and the demo)."""
    address, _block = await deploy_at(rpc_url, private_key, name)
    return address


async def deploy_at(rpc_url: str, private_key: str, name: str = CONTRACT) -> tuple[str, int]:
    """Deploy the committed artifact `name` (the version-2 contract unless a test asks for
    another); return its address and deployment block (the anchor settings' start block).
    The deploying key is the contract's owner: the only one that may anchor."""
    session = requests.Session()
    try:
        w3 = Web3(HTTPProvider(rpc_url, session=session, exception_retry_configuration=None))
        acct = Account.from_key(private_key)
        art = load_artifact(name)

        def go() -> tuple[str, int]:
            c = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
            tx = c.constructor().build_transaction(
                {
                    "from": acct.address,
                    "nonce": w3.eth.get_transaction_count(acct.address, "pending"),
                    "chainId": int(w3.eth.chain_id),
                }
            )
            h = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
            r = w3.eth.wait_for_transaction_receipt(h, timeout=30)
            return str(r["contractAddress"]), int(r["blockNumber"])

        try:
            return await asyncio.to_thread(go)
        except Exception as exc:
            raise AnchorUnavailable(f"deploy: {type(exc).__name__}: {exc}"[:300]) from None
    finally:
        session.close()
