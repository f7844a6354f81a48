"""The composition root: the only place that builds adapters and wires them to the core.

Nothing is built at import time; ``build`` opens resources on the caller's ``AsyncExitStack``
so they close in reverse order however the bot stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

from telegram.request import BaseRequest

from adapters.chain.evm import open_token_chain
from adapters.chain.wallets import HdWallets, load_or_create_mnemonic
from adapters.db import migrate
from adapters.db.engine import Database, open_database
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.system_clock import SystemClock
from adapters.telegram_frontend.frontend import TelegramFrontend, TelegramOptions
from adapters.telegram_frontend.limiter import LimiterClock, Limits
from adapters.telegram_frontend.translate import PLATFORM
from adapters.telegram_frontend.webhook import webhook_route
from adapters.web.server import serve, web_app
from bot.conversation import Router
from bot.conversation.commands import all_commands
from bot.conversation.context import Services
from bot.settings import ChainSettings, Settings, webhook_secret
from core.ports import Clock, TokenChain, UnitOfWorkFactory, Wallets
from core.services.creators import CreatorService
from core.services.events import EventService
from core.services.follows import FollowService
from core.services.identities import IdentityService
from core.services.tokens import TokenService, replay_onto_fresh_chain
from core.services.wallets import WalletService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class App:
    """Everything the frontends need, built once per process."""

    settings: Settings
    services: Services
    router: Router
    database: Database | None


def build_services(
    uow: UnitOfWorkFactory, clock: Clock, chain: TokenChain, wallets: Wallets
) -> Services:
    return Services(
        identities=IdentityService(uow, clock),
        creators=CreatorService(uow, clock),
        follows=FollowService(uow, clock),
        events=EventService(uow, clock),
        tokens=TokenService(uow, clock, chain, wallets),
        wallets=WalletService(uow, clock, wallets),
    )


async def build(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    uow: UnitOfWorkFactory | None = None,
    clock: Clock | None = None,
    chain: TokenChain | None = None,
    wallets: Wallets | None = None,
) -> App:
    """Wire the app; tests override the unit of work, clock, chain and wallets with fakes.

    Without a ``uow`` override, open the database and migrate it to head; without a ``chain``,
    open the configured one (the embedded EVM is rebuilt from the ledger).
    """
    database: Database | None = None
    if uow is None:
        database = open_database(settings.database.url, echo=settings.database.echo)
        stack.push_async_callback(database.dispose)
        await migrate.upgrade(database)
        uow = partial(SqlUnitOfWork, database)
    clock = clock or SystemClock()
    if chain is None or wallets is None:
        chain, wallets = await open_chain(settings.chain, stack, uow, clock, chain, wallets)
    services = build_services(uow, clock, chain, wallets)
    return App(settings, services, Router(services, all_commands()), database)


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


Server = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def telegram_frontend(
    app: App,
    *,
    request: BaseRequest | None = None,
    limits: Limits | None = None,
    limiter_clock: LimiterClock | None = None,
) -> TelegramFrontend:
    """The Telegram frontend for ``app``; tests replace the HTTP layer and the limiter's clock."""
    settings = app.settings.telegram
    assert settings.token is not None
    options = TelegramOptions(
        token=settings.token.get_secret_value(),
        mode=settings.mode,
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        webhook_url=settings.webhook_url,
        webhook_secret=webhook_secret(settings),
        poll_interval=settings.poll_interval,
    )
    unreachable = partial(app.services.identities.mark_unreachable, PLATFORM)
    return TelegramFrontend(
        options,
        app.router,
        request=request,
        limits=limits,
        limiter_clock=limiter_clock,
        on_unreachable=unreachable,
    )


def servers(app: App, *, telegram_request: BaseRequest | None = None) -> list[Server]:
    """What ``one-bot run`` runs for these settings: chat frontends and the web server."""
    found: list[Server] = []
    routes = []
    if app.settings.telegram.token is not None:
        telegram = telegram_frontend(app, request=telegram_request)
        found.append(telegram.run)
        if telegram.options.mode == "webhook":
            assert telegram.options.webhook_secret is not None
            routes.append(webhook_route(telegram, telegram.options.webhook_secret))
    if routes:
        web = app.settings.web
        found.append(partial(serve, web_app(routes), web.host, web.port))
    return found
