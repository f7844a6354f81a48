"""A fresh embedded EVM per test, with the bot's owner key and an intruder's key funded;
a JSON-RPC node (ganache, or ``ONE_BOT_TEST_RPC_URL``) for the tests over HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from eth_account.signers.local import LocalAccount

from adapters.chain import EvmTokenChain, HdWallets, open_token_chain
from tests.chain.dev_node import node_executable, start_ganache

# The standard development mnemonic (Hardhat, Foundry): its addresses are well known.
TEST_MNEMONIC = "test test test test test test test test test test test junk"
RPC_ENV = "ONE_BOT_TEST_RPC_URL"


@pytest.fixture(scope="session")
def wallets() -> HdWallets:
    return HdWallets(TEST_MNEMONIC)


@pytest.fixture
def intruder(wallets: HdWallets) -> LocalAccount:
    """A funded account that is not the token owner (index 9: no test user has that id)."""
    return wallets.account(9)


@pytest.fixture
async def chain(wallets: HdWallets, intruder: LocalAccount) -> AsyncIterator[EvmTokenChain]:
    chain = await open_token_chain(wallets.owner_account(), fund=[intruder.address])
    async with chain:
        yield chain


@pytest.fixture(scope="session")
def rpc_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JSON-RPC node whose accounts come from ``TEST_MNEMONIC`` and hold ETH.

    ``ONE_BOT_TEST_RPC_URL`` if set (e.g. anvil or hardhat); otherwise ganache from
    ``tests/chain/node``, started once for the session and stopped after it.
    """
    given = os.environ.get(RPC_ENV)
    if given:
        yield given
        return
    node = node_executable()
    log = tmp_path_factory.mktemp("ganache") / "ganache.log"
    process, url = start_ganache(node, TEST_MNEMONIC, log)
    try:
        yield url
    finally:
        process.stop(timeout=5)
