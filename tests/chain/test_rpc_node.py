"""EvmTokenChain over JSON-RPC (``AsyncHTTPProvider``) against a real node, when one is given.

Set ``ONE_BOT_TEST_RPC_URL`` to a development node whose accounts come from the standard test
mnemonic and hold ETH (anvil's and hardhat's default; ganache needs it given), e.g.::

    MNEMONIC="test test test test test test test test test test test junk"
    npx ganache@7.9.2 --wallet.mnemonic "$MNEMONIC"
    ONE_BOT_TEST_RPC_URL=http://127.0.0.1:8545 .venv/bin/pytest tests/chain/test_rpc_node.py

Without it these tests skip; the same behaviour is covered on the embedded chain.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from adapters.chain import EvmTokenChain, HdWallets, open_token_chain
from core.errors import ChainError

RPC_ENV = "ONE_BOT_TEST_RPC_URL"


@pytest.fixture
async def node_chain(wallets: HdWallets) -> AsyncIterator[EvmTokenChain]:
    url = os.environ.get(RPC_ENV)
    if not url:
        pytest.skip(f"{RPC_ENV} is not set (a dev node funding the test mnemonic's accounts)")
    chain = await open_token_chain(wallets.owner_account(), url, receipt_timeout=30)
    async with chain:
        yield chain


async def test_deploy_mint_burn_over_json_rpc(
    node_chain: EvmTokenChain, wallets: HdWallets
) -> None:
    token = await node_chain.deploy_token("Alice", "ALICE")
    fan = wallets.custodial_address(1)
    await node_chain.mint(token, fan, 10)
    await node_chain.burn(token, fan, 4)
    assert await node_chain.balance_of(token, fan) == 6
    with pytest.raises(ChainError, match="burn exceeds balance"):
        await node_chain.burn(token, fan, 7)
    await asyncio.gather(*(node_chain.mint(token, fan, 1) for _ in range(20)))
    assert await node_chain.balance_of(token, fan) == 26


async def test_only_the_owner_mints_over_json_rpc(
    node_chain: EvmTokenChain, wallets: HdWallets
) -> None:
    token = await node_chain.deploy_token("Alice", "ALICE")
    impostor = await EvmTokenChain.connect(node_chain.web3, wallets.account(2))
    with pytest.raises(ChainError, match="only the owner may mint"):
        await impostor.mint(token, wallets.custodial_address(2), 1)
