"""The composition root: the only place that builds adapters and wires them to the core.

Nothing is built at import time; ``build`` opens resources on the caller's ``AsyncExitStack``
so they close in reverse order however the bot stops.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from starlette.routing import BaseRoute
from telegram.request import BaseRequest

from adapters.db import migrate
from adapters.db.engine import Database, open_database
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.discord_frontend.translate import PLATFORM as DISCORD
from adapters.system_clock import SystemClock
from adapters.telegram_frontend.frontend import TelegramFrontend, TelegramOptions
from adapters.telegram_frontend.limiter import LimiterClock, Limits
from adapters.telegram_frontend.translate import PLATFORM
from adapters.telegram_frontend.webhook import webhook_route
from adapters.web.server import serve, web_app
from bot.background import Background
from bot.bootstrap.ai import Ai, open_ai
from bot.bootstrap.chain import open_chain
from bot.bootstrap.frontends import discord_servers
from bot.bootstrap.journeys import engine_settings, journey_template
from bot.bootstrap.payments import (
    RECOVERY_TICK_WINDOW,
    RECOVERY_WINDOW,
    Payments,
    open_payments,
    payment_routes,
    recover_and_advance,
)
from bot.conversation import Router
from bot.conversation.commands import FILE, PLAIN_TEXT, all_commands
from bot.conversation.context import Services
from bot.notifications import ChatNotifier
from bot.outbox import OutboxSender, SenderSettings
from bot.roles import PlatformRoles
from bot.settings import Settings, webhook_secret
from core.ports import (
    Clock,
    Embedder,
    KnowledgeStore,
    LanguageModel,
    Notifier,
    PaymentGateway,
    TokenChain,
    UnitOfWorkFactory,
    Wallets,
)
from core.roles import RoleManager
from core.services.broadcasts import BroadcastService
from core.services.clone_chat import ChatLimits, CloneChat
from core.services.clones import CloneService
from core.services.creators import CreatorService
from core.services.events import EventService
from core.services.follows import FollowService
from core.services.identities import IdentityService
from core.services.journey_engine import JourneyEngine
from core.services.journeys import JourneyService
from core.services.knowledge import KnowledgeLimits, KnowledgeService
from core.services.linking import LinkService
from core.services.purchases import PurchaseService
from core.services.roles import RoleGateService
from core.services.saga import PurchaseSaga
from core.services.settlement import ChainSettlement
from core.services.tokens import TokenService
from core.services.wallets import WalletService
from jobs.journeys import JourneyJobs
from jobs.outbox import OutboxJobs
from jobs.purchases import PurchaseJobs
from jobs.settlement import SettlementJobs

__all__ = [
    "RECOVERY_TICK_WINDOW",
    "RECOVERY_WINDOW",
    "App",
    "Payments",
    "build",
    "build_services",
    "open_chain",
    "open_payments",
    "payment_routes",
    "recover_and_advance",
    "servers",
    "telegram_frontend",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class App:
    """Everything the frontends need, built once per process."""

    settings: Settings
    services: Services
    router: Router
    database: Database | None
    notifier: ChatNotifier
    payments: Payments
    chain: TokenChain
    # Sends what journeys and broadcasts put in the outbox (run by OutboxJobs in servers()).
    outbox: OutboxSender
    # Routes of the web server beyond /health (payment webhooks, the sandbox checkout page).
    routes: tuple[BaseRoute, ...] = ()
    background: Background = field(default_factory=Background)
    # Where token-gated roles are given: the Discord frontend registers itself when it runs.
    roles: PlatformRoles = field(default_factory=PlatformRoles)


def build_services(
    settings: Settings,
    uow: UnitOfWorkFactory,
    clock: Clock,
    chain: TokenChain,
    wallets: Wallets,
    gateways: Sequence[PaymentGateway],
    notifier: Notifier,
    ai: Ai,
    roles: RoleManager,
) -> Services:
    knowledge = settings.knowledge
    clones = settings.clones
    engine = JourneyEngine(
        uow, clock, journey_template(settings.journeys), engine_settings(settings.journeys)
    )
    journeys = JourneyService(
        uow,
        clock,
        engine,
        journey_template(settings.journeys),
        ai.store,
        ai.model,
        referral_reward=settings.journeys.referral_reward,
    )
    return Services(
        identities=IdentityService(uow, clock),
        creators=CreatorService(uow, clock),
        follows=FollowService(uow, clock, journeys),
        events=EventService(uow, clock),
        tokens=TokenService(uow, clock, chain, wallets),
        wallets=WalletService(uow, clock, wallets),
        purchases=PurchaseService(uow, clock, gateways, max_tokens=settings.payments.max_tokens),
        saga=PurchaseSaga(
            uow,
            clock,
            chain,
            wallets,
            {g.rail: g for g in gateways},
            notifier,
            max_attempts=settings.payments.mint_attempts,
        ),
        clones=CloneService(uow, clock, ai.model.name if ai.model else None),
        clone_chat=CloneChat(
            uow,
            clock,
            ai.store,
            ai.model,
            ai.embedder,
            ChatLimits(
                messages=clones.rate_limit,
                window=clones.rate_window,
                daily_reward_cap=clones.daily_reward_cap,
                history_turns=clones.history_turns,
                top_k=knowledge.top_k,
            ),
        ),
        knowledge=KnowledgeService(
            uow,
            clock,
            ai.store,
            ai.reader,
            ai.embedder,
            KnowledgeLimits(
                max_file_bytes=knowledge.max_file_mb * 1024 * 1024,
                chunk_characters=knowledge.chunk_characters,
                overlap_characters=knowledge.overlap_characters,
            ),
        ),
        settlement=ChainSettlement(uow, clock, chain, wallets),
        broadcasts=BroadcastService(uow, clock),
        journeys=journeys,
        journey_engine=engine,
        links=LinkService(uow, clock),
        roles=RoleGateService(uow, clock, roles, DISCORD),
    )


async def build(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    uow: UnitOfWorkFactory | None = None,
    clock: Clock | None = None,
    chain: TokenChain | None = None,
    wallets: Wallets | None = None,
    gateways: Sequence[PaymentGateway] | None = None,
    notifier: Notifier | None = None,
    knowledge_store: KnowledgeStore | None = None,
    model: LanguageModel | None = None,
    embedder: Embedder | None = None,
) -> App:
    """Wire the app; tests override the unit of work, clock, chain, wallets, payment gateways,
    notifier, knowledge store and model with fakes (or local peers).

    Without a ``uow`` override, open the database and migrate it to head; without a ``chain``,
    open the configured one (the embedded EVM is rebuilt from the ledger); without
    ``gateways``, open the configured rails (Stripe, or its sandbox; Telegram Stars).
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
    chat_notifier = ChatNotifier(uow)
    payments = Payments(list(gateways)) if gateways is not None else None
    if payments is None:
        payments = await open_payments(settings, stack)
    ai = await open_ai(settings, stack, store=knowledge_store, model=model, embedder=embedder)
    roles = PlatformRoles()
    services = build_services(
        settings,
        uow,
        clock,
        chain,
        wallets,
        payments.gateways,
        notifier or chat_notifier,
        ai,
        roles,
    )
    background = Background()
    stack.push_async_callback(background.aclose)
    routes = payment_routes(payments, services, background)
    router = Router(
        services, all_commands(), plain_text=PLAIN_TEXT, file=FILE, background=background
    )
    journeys = settings.journeys
    outbox = OutboxSender(
        uow,
        clock,
        chat_notifier,
        SenderSettings(batch=journeys.outbox_batch, lease=journeys.lease),
    )
    # What is built now lives as long as the process: moved out of the collector's sight, a
    # full collection no longer walks it (about 100 ms that stalled the event loop each time).
    gc.freeze()
    return App(
        settings,
        services,
        router,
        database,
        chat_notifier,
        payments,
        chain,
        outbox,
        tuple(routes),
        background,
        roles,
    )


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
    frontend = TelegramFrontend(
        options,
        app.router,
        request=request,
        limits=limits,
        limiter_clock=limiter_clock,
        on_unreachable=unreachable,
    )
    if app.payments.stars is not None:
        app.payments.stars.attach(frontend.bot)  # Stars refunds go through this bot
    return frontend


def _start_link(telegram: TelegramFrontend, payload: str) -> str:
    # The bot's username is known once the frontend has started (getMe); a message needing
    # it before then fails and is retried by the outbox a second later.
    return f"https://t.me/{telegram.bot.username}?start={payload}"


def servers(
    app: App, *, telegram_request: BaseRequest | None = None, chat_frontends: bool = True
) -> list[Server]:
    """What ``one-bot run`` runs for these settings: chat frontends, the purchase jobs and
    the web server (payment webhooks, the sandbox checkout page, Telegram's webhook)."""
    found: list[Server] = []
    routes = list(app.routes)
    if chat_frontends and app.settings.telegram.token is not None:
        telegram = telegram_frontend(app, request=telegram_request)
        app.notifier.register(PLATFORM, telegram.push, link=partial(_start_link, telegram))
        found.append(telegram.run)
        if telegram.options.mode == "webhook":
            assert telegram.options.webhook_secret is not None
            routes.append(webhook_route(telegram, telegram.options.webhook_secret))
    if chat_frontends:
        found += discord_servers(app)
    payments = app.settings.payments
    jobs = PurchaseJobs(
        app.services.saga.resume,
        partial(recover_and_advance, app.services, RECOVERY_TICK_WINDOW),
        partial(recover_and_advance, app.services, RECOVERY_WINDOW),
        app.services.tokens.reconcile,
        resume_every=payments.resume_every,
        recover_every=payments.recover_every,
        reconcile_every=payments.reconcile_every,
    )
    found.append(jobs.run)
    found.append(SettlementJobs(app.services.settlement, every=payments.settle_every).run)
    journeys = app.settings.journeys
    found.append(
        JourneyJobs(
            app.services.journey_engine, every=journeys.tick_every, batch=journeys.batch
        ).run
    )
    found.append(OutboxJobs(app.outbox, every=journeys.outbox_every).run)
    if routes:
        web = app.settings.web
        found.append(partial(serve, web_app(routes), web.host, web.port))
    return found
