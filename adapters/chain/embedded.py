"""The embedded chain: an in-process py-evm (eth-tester) behind ``AsyncWeb3``, off the event loop.

py-evm is synchronous, pure-Python and CPU-bound. Served inline (web3's own
``AsyncEthereumTesterProvider`` runs each request on the event-loop thread), one mint's
``eth_sendRawTransaction`` — execute, recover the sender, mine a block — holds the loop for
≈11–14 ms with coincurve installed (≈25 ms without), and 200 mints started in one ``gather``
froze it for ≈4 s. A chat bot cannot spare that, so :class:`ThreadedTesterProvider` runs every
request on one dedicated worker thread:

- one thread, not a pool: ``EthereumTester`` is not thread-safe, and a single worker also keeps
  requests in the order they were made (nonces arrive in order);
- the loop only awaits a future. It still shares the GIL with the worker, so it can wait up to
  one switch interval (5 ms) for its turn: measured p99 loop stall ≈5 ms, and throughput
  unchanged (≈100–120 mints/s sequential, ≈85–120 with 200 in one gather; the worst stall there,
  ≈30 ms, is the loop itself starting 200 tasks). ``tests/chain/measure_mints.py`` measures it;
- a revert (eth-tester's ``TransactionFailed``) is re-raised as web3's ``ContractLogicError``,
  what an HTTP node produces, so callers handle one exception type.

The owner account (and any other address given) is funded with ETH in the genesis state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eth_tester import EthereumTester, PyEVMBackend  # type: ignore[import-untyped]
from eth_tester.exceptions import TransactionFailed  # type: ignore[import-untyped]
from eth_utils.address import to_canonical_address
from web3 import AsyncWeb3
from web3.exceptions import ContractLogicError
from web3.providers.async_base import AsyncBaseProvider
from web3.providers.eth_tester import AsyncEthereumTesterProvider, EthereumTesterProvider
from web3.providers.eth_tester.defaults import API_ENDPOINTS
from web3.types import RPCEndpoint, RPCResponse

GENESIS_BALANCE_WEI = 10**24  # a million ETH: gas for any number of mints


class ThreadedTesterProvider(AsyncEthereumTesterProvider):
    """web3's async eth-tester provider, with each request run on one worker thread."""

    def __init__(self, tester: EthereumTester) -> None:
        # Not super().__init__(): that builds a throwaway default chain; set what it sets.
        AsyncBaseProvider.__init__(self)
        self._sync = EthereumTesterProvider(tester)
        self.ethereum_tester = tester
        self.api_endpoints = API_ENDPOINTS
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedded-evm")

    async def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._worker, self._sync.make_request, method, params)
        except TransactionFailed as e:
            raise ContractLogicError(str(e)) from e

    async def disconnect(self) -> None:
        """Stop the worker thread (after the request it may be running)."""
        self._worker.shutdown(wait=False, cancel_futures=True)


def embedded_tester(
    funded: Iterable[str], balance_wei: int = GENESIS_BALANCE_WEI
) -> EthereumTester:
    """A fresh in-memory chain whose genesis gives ``balance_wei`` to each ``funded`` address."""
    account = {"balance": balance_wei, "nonce": 0, "code": b"", "storage": {}}
    genesis = {to_canonical_address(address): dict(account) for address in funded}
    if not genesis:
        raise ValueError("the embedded chain needs at least one funded account")
    return EthereumTester(PyEVMBackend(genesis_state=genesis))


def embedded_web3(
    funded: Iterable[str], balance_wei: int = GENESIS_BALANCE_WEI
) -> AsyncWeb3[AsyncBaseProvider]:
    """``AsyncWeb3`` on a fresh :func:`embedded_tester`, served from a worker thread."""
    provider: AsyncBaseProvider = ThreadedTesterProvider(embedded_tester(funded, balance_wei))
    return AsyncWeb3(provider)
