"""EvmTokenChain over JSON-RPC (``AsyncHTTPProvider``) against a real node.

The node is ganache from ``tests/chain/node`` (``make test`` installs it; a bare ``pytest``
runs ``npm ci`` there), started on a free 127.0.0.1 port for the session. To use another
development node instead, set ``ONE_BOT_TEST_RPC_URL`` to one whose accounts come from the
standard test mnemonic and hold ETH (anvil's and hardhat's default), e.g.::

    anvil &
    ONE_BOT_TEST_RPC_URL=http://127.0.0.1:8545 .venv/bin/pytest tests/chain/test_rpc_node.py

Without Node.js these tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.chain import EvmTokenChain, HdWallets, open_token_chain
from core.errors import ChainRejected


@pytest.fixture
async def node_chain(rpc_url: str, wallets: HdWallets) -> AsyncIterator[EvmTokenChain]:
    chain = await open_token_chain(wallets.owner_account(), rpc_url, receipt_timeout=30)
    async with chain:
        yield chain


async def test_deploy_mint_burn_over_json_rpc(
    node_chain: EvmTokenChain, wallets: HdWallets
) -> None:
    token = await node_chain.deploy_token("Alice", "ALICE")
    fan = wallets.custodial_address(1)
    assert await node_chain.mint(token, fan, 10, "purchase:1") is not None
    assert await node_chain.burn(token, fan, 4, "clawback:1") is not None
    assert await node_chain.balance_of(token, fan) == 6
    with pytest.raises(ChainRejected, match="burn exceeds balance"):
        await node_chain.burn(token, fan, 7, "clawback:2")
    mints = (node_chain.mint(token, fan, 1, f"purchase:{2 + i}") for i in range(20))
    assert None not in await asyncio.gather(*mints)
    assert await node_chain.balance_of(token, fan) == 26


async def test_a_reference_applies_once_over_json_rpc(
    node_chain: EvmTokenChain, wallets: HdWallets
) -> None:
    token = await node_chain.deploy_token("Alice", "ALICE")
    fan = wallets.custodial_address(1)
    assert await node_chain.mint(token, fan, 10, "purchase:17") is not None
    assert await node_chain.applied(token, "purchase:17")
    assert not await node_chain.applied(token, "purchase:18")
    assert await node_chain.mint(token, fan, 10, "purchase:17") is None
    assert await node_chain.burn(token, fan, 3, "clawback:17") is not None
    assert await node_chain.burn(token, fan, 3, "clawback:17") is None
    # Five at once pass the check together: the contract lets one through, the rest revert.
    results = await asyncio.gather(
        *(node_chain.mint(token, fan, 5, "purchase:19") for _ in range(5))
    )
    assert len([tx for tx in results if tx is not None]) == 1
    assert await node_chain.balance_of(token, fan) == 12
    assert await node_chain.total_supply(token) == 12


async def test_only_the_owner_mints_over_json_rpc(
    node_chain: EvmTokenChain, wallets: HdWallets
) -> None:
    token = await node_chain.deploy_token("Alice", "ALICE")
    impostor = await EvmTokenChain.connect(node_chain.web3, wallets.account(2))
    with pytest.raises(ChainRejected, match="only the owner may mint"):
        await impostor.mint(token, wallets.custodial_address(2), 1, "purchase:1")
    assert not await node_chain.applied(token, "purchase:1")
