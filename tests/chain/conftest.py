"""A fresh embedded EVM per test, with the bot's owner key and an intruder's key funded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from eth_account.signers.local import LocalAccount

from adapters.chain import EvmTokenChain, HdWallets, open_token_chain

# The standard development mnemonic (Hardhat, Foundry): its addresses are well known.
TEST_MNEMONIC = "test test test test test test test test test test test junk"


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
