"""Raw mints per second on the embedded chain, and how long they hold the event loop.

Not a test (prints only). Run: .venv/bin/python -m tests.chain.measure_mints [MINTS]
Compares the adapter's provider (py-evm on a worker thread) with web3's stock async eth-tester
provider (py-evm on the event-loop thread), sequentially and with all mints in one gather.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

from eth_tester import EthereumTester, PyEVMBackend  # type: ignore[import-untyped]
from eth_utils.address import to_canonical_address
from web3 import AsyncWeb3
from web3.providers.async_base import AsyncBaseProvider
from web3.providers.eth_tester import AsyncEthereumTesterProvider

from adapters.chain.embedded import GENESIS_BALANCE_WEI, embedded_web3
from adapters.chain.evm import EvmTokenChain
from adapters.chain.wallets import HdWallets
from tests.chain.conftest import TEST_MNEMONIC

WALLETS = HdWallets(TEST_MNEMONIC)
OWNER = WALLETS.owner_account()


def inline_web3() -> AsyncWeb3[AsyncBaseProvider]:
    provider = AsyncEthereumTesterProvider()
    state = {"balance": GENESIS_BALANCE_WEI, "nonce": 0, "code": b"", "storage": {}}
    genesis = {to_canonical_address(OWNER.address): state}
    provider.ethereum_tester = EthereumTester(PyEVMBackend(genesis_state=genesis))
    return AsyncWeb3(provider)


async def loop_stalls(work: Callable[[], Awaitable[None]]) -> tuple[float, float, float]:
    """Run ``work`` while a 1 ms ticker measures how late the loop wakes it: seconds, p99, max."""
    late: list[float] = []
    done = False

    async def ticker() -> None:
        while not done:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            late.append(time.perf_counter() - start - 0.001)

    tick = asyncio.create_task(ticker())
    start = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - start
    done = True
    await tick
    late.sort()
    return elapsed, late[int(len(late) * 0.99)] if late else 0.0, late[-1] if late else 0.0


async def measure(label: str, w3: AsyncWeb3[AsyncBaseProvider], mints: int) -> None:
    chain = await EvmTokenChain.connect(w3, OWNER)
    token = await chain.deploy_token("Bench", "BENCH")
    holders = [WALLETS.custodial_address(1 + i % 20) for i in range(mints)]
    for i, holder in enumerate(holders[:20]):
        await chain.mint(
            token, holder, 1, f"warm:{i}"
        )  # first mints to a holder cost more gas: warm up

    async def sequential() -> None:
        for i, holder in enumerate(holders):
            await chain.mint(token, holder, 1, f"sequential:{i}")

    async def concurrent() -> None:
        mints = (
            chain.mint(token, holder, 1, f"concurrent:{i}") for i, holder in enumerate(holders)
        )
        await asyncio.gather(*mints)

    for name, work in (("sequential", sequential), ("concurrent", concurrent)):
        elapsed, p99, worst = await loop_stalls(work)
        print(
            f"{label:<28} {name:<10} {mints / elapsed:7.1f} mints/s   "
            f"loop stall p99 {p99 * 1000:5.1f} ms, max {worst * 1000:5.1f} ms"
        )
    assert await chain.total_supply(token) == 20 + 2 * mints
    await chain.aclose()


async def main(mints: int) -> None:
    samples: list[float] = []
    for _ in range(20):
        start = time.perf_counter()
        WALLETS.account(1000 + len(samples))
        samples.append(time.perf_counter() - start)
    print(f"HD derivation: median {statistics.median(samples) * 1000:.2f} ms per address")
    await measure("worker thread (adapter)", embedded_web3([OWNER.address]), mints)
    await measure("inline (web3 stock provider)", inline_web3(), mints)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
