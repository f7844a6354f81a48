"""The composition root: the only place that builds adapters and wires them to the core.

Nothing is built at import time; ``build`` opens resources on the caller's ``AsyncExitStack``
so they close in reverse order however the bot stops.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from starlette.routing import BaseRoute
from telegram.request import BaseRequest

from adapters.chain.evm import open_token_chain
from adapters.chain.wallets import HdWallets, load_or_create_mnemonic
from adapters.db import migrate
from adapters.db.engine import Database, open_database
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.payments.checkout_page import checkout_routes
from adapters.payments.sandbox_server import Sandbox, open_sandbox
from adapters.payments.stripe_gateway import StripePaymentGateway
from adapters.payments.stripe_webhook import WEBHOOK_PATH as STRIPE_WEBHOOK_PATH
from adapters.payments.stripe_webhook import stripe_webhook_route
from adapters.system_clock import SystemClock
from adapters.telegram_frontend.frontend import TelegramFrontend, TelegramOptions
from adapters.telegram_frontend.limiter import LimiterClock, Limits
from adapters.telegram_frontend.stars import StarsPaymentGateway
from adapters.telegram_frontend.translate import PLATFORM
from adapters.telegram_frontend.webhook import webhook_route
from adapters.web.server import serve, web_app
from bot.background import Background
from bot.conversation import Router
from bot.conversation.commands import all_commands
from bot.conversation.context import Services
from bot.conversation.texts import dollars
from bot.notifications import ChatNotifier
from bot.settings import ChainSettings, Settings, public_url, webhook_secret
from core.ports import Clock, Notifier, PaymentGateway, TokenChain, UnitOfWorkFactory, Wallets
from core.purchases import PaymentReceived, PaymentReversed, PurchaseState
from core.services.creators import CreatorService
from core.services.events import EventService
from core.services.follows import FollowService
from core.services.identities import IdentityService
from core.services.purchases import PurchaseService
from core.services.saga import PurchaseSaga
from core.services.tokens import TokenService, replay_onto_fresh_chain
from core.services.wallets import WalletService
from jobs.purchases import PurchaseJobs

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
    # Routes of the web server beyond /health (payment webhooks, the sandbox checkout page).
    routes: tuple[BaseRoute, ...] = ()
    background: Background = field(default_factory=Background)


def build_services(
    settings: Settings,
    uow: UnitOfWorkFactory,
    clock: Clock,
    chain: TokenChain,
    wallets: Wallets,
    gateways: Sequence[PaymentGateway],
    notifier: Notifier,
) -> Services:
    return Services(
        identities=IdentityService(uow, clock),
        creators=CreatorService(uow, clock),
        follows=FollowService(uow, clock),
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
) -> App:
    """Wire the app; tests override the unit of work, clock, chain, wallets, payment gateways
    and notifier with fakes.

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
    services = build_services(
        settings, uow, clock, chain, wallets, payments.gateways, notifier or chat_notifier
    )
    background = Background()
    stack.push_async_callback(background.aclose)
    routes = payment_routes(payments, services, background)
    router = Router(services, all_commands())
    return App(
        settings,
        services,
        router,
        database,
        chat_notifier,
        payments,
        chain,
        tuple(routes),
        background,
    )


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


@dataclass(slots=True)
class Payments:
    """The rails ``open_payments`` opened, and what the web server serves for them."""

    gateways: list[PaymentGateway]
    card: StripePaymentGateway | None = None
    stars: StarsPaymentGateway | None = None
    webhook_secret: str | None = None
    sandbox: Sandbox | None = None


async def open_payments(settings: Settings, stack: AsyncExitStack) -> Payments:
    """The configured rails: cards (Stripe, or its local sandbox) and Telegram Stars."""
    stripe_settings = settings.payments.stripe
    url = public_url(settings)
    sandbox: Sandbox | None = None
    if stripe_settings.api_key is not None:
        assert stripe_settings.webhook_secret is not None  # settings require both
        secret = stripe_settings.webhook_secret.get_secret_value()
        card = StripePaymentGateway(
            stripe_settings.api_key.get_secret_value(), url, api_base=stripe_settings.api_base
        )
    else:
        # The sandbox signs its webhooks with a secret only this process knows.
        secret = "whsec_" + secrets.token_hex(24)
        local = f"http://127.0.0.1:{settings.web.port}{STRIPE_WEBHOOK_PATH}"
        sandbox = await stack.enter_async_context(open_sandbox(local, secret))
        card = StripePaymentGateway.for_sandbox(sandbox, url)
    stack.push_async_callback(card.aclose)
    payments = Payments([card], card=card, webhook_secret=secret, sandbox=sandbox)
    if settings.payments.stars.enabled and settings.telegram.token is not None:
        stars = settings.payments.stars
        payments.stars = StarsPaymentGateway(stars.stars_per_usd, max_stars=stars.max_per_invoice)
        payments.gateways.append(payments.stars)
    return payments


def payment_routes(
    payments: Payments, services: Services, background: Background
) -> list[BaseRoute]:
    """Stripe's webhook (record, then advance in the background) and the checkout pages."""
    if payments.card is None or payments.webhook_secret is None:
        return []

    async def on_paid(event: PaymentReceived) -> None:
        outcome = await services.purchases.payment_received(event)
        if outcome.purchase_id is not None and outcome.outcome == "recorded":
            work = services.saga.advance(outcome.purchase_id, outcome.purchase)
            background.spawn(work, "purchase saga")

    async def on_reversed(event: PaymentReversed) -> None:
        purchase_id = await services.purchases.payment_reversed(event)
        if purchase_id is not None:
            background.spawn(services.saga.advance(purchase_id), "purchase clawback")

    async def describe(purchase_id: int) -> tuple[str, str, bool] | None:
        checkout = await services.purchases.describe(purchase_id)
        if checkout is None:
            return None
        purchase = checkout.purchase
        payable = purchase.state is PurchaseState.PENDING
        return checkout.title, dollars(purchase.price_cents), payable

    return [
        stripe_webhook_route(payments.webhook_secret, on_paid, on_reversed),
        *checkout_routes(payments.card, describe),
    ]


# Stripe retries a webhook for three days (its event list keeps thirty): at start-up the bot
# looks back that far; while it runs, each tick only needs the last hour.
RECOVERY_WINDOW = timedelta(days=3)
RECOVERY_TICK_WINDOW = timedelta(hours=1)


async def recover_and_advance(services: Services, window: timedelta = RECOVERY_WINDOW) -> int:
    """Process payment events no webhook delivered, then advance their purchases."""
    due = await services.purchases.recover(window)
    for purchase_id in due:
        await services.saga.advance(purchase_id)
    return len(due)


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


def servers(
    app: App, *, telegram_request: BaseRequest | None = None, chat_frontends: bool = True
) -> list[Server]:
    """What ``one-bot run`` runs for these settings: chat frontends, the purchase jobs and
    the web server (payment webhooks, the sandbox checkout page, Telegram's webhook)."""
    found: list[Server] = []
    routes = list(app.routes)
    if chat_frontends and app.settings.telegram.token is not None:
        telegram = telegram_frontend(app, request=telegram_request)
        app.notifier.register(PLATFORM, telegram.push)
        found.append(telegram.run)
        if telegram.options.mode == "webhook":
            assert telegram.options.webhook_secret is not None
            routes.append(webhook_route(telegram, telegram.options.webhook_secret))
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
    if routes:
        web = app.settings.web
        found.append(partial(serve, web_app(routes), web.host, web.port))
    return found
