"""Composition of the chain: the bot's HD wallets and the EVM the creator tokens live on."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

from adapters.chain.evm import open_token_chain
from adapters.chain.wallets import HdWallets, load_or_create_mnemonic
from bot.settings import ChainSettings
from core.ports import Clock, TokenChain, UnitOfWorkFactory, Wallets
from core.services.tokens import replay_onto_fresh_chain

log = logging.getLogger(__name__)


async def open_chain(
    settings: ChainSettings,
    stack: AsyncExitStack,
    uow: UnitOfWorkFactory,
    clock: Clock,
    chain: TokenChain | None,
    wallets: Wallets | None,
) -> tuple[TokenChain, Wallets]:
    """The configured chain and the bot's HD wallets; an embedded chain is rebuilt first."""
    configured = settings.mnemonic.get_secret_value() if settings.mnemonic else None
    path = settings.mnemonic_file.expanduser()
    mnemonic, generated = await asyncio.to_thread(load_or_create_mnemonic, configured, path)
    if generated:
        log.warning(
            "no chain.mnemonic configured: generated the bot's keys and stored them in %s. "
            "Back that file up; it controls every custodial wallet.",
            path,
        )
    keys = HdWallets(mnemonic)
    wallets = wallets or keys
    if chain is None:
        evm = await open_token_chain(keys.owner_account(), settings.rpc_url)
        stack.push_async_callback(evm.aclose)
        if not settings.rpc_url:
            # The embedded chain lives in memory: replay the ledger so balances agree again.
            tokens, balances = await replay_onto_fresh_chain(uow, clock, evm, wallets)
            log.info("embedded chain rebuilt: %d tokens, %d balances", tokens, balances)
        chain = evm
    return chain, wallets
