"""What the crash tests share: a creator with a token, fans' purchases, payments, and the app
wired as ``bootstrap.build`` wires it, with the crashing wrappers of :mod:`tests.crash.faults`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from adapters.db import migrate
from adapters.db.engine import Database, open_database
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.system_clock import SystemClock
from bot import bootstrap
from bot.conversation.context import Services
from bot.settings import Settings, load_settings
from core.errors import AlreadyRegistered, TokenAlreadyCreated
from core.model import UserRef
from core.ports import Notifier, PaymentGateway, TokenChain, Wallets
from core.purchases import Money, PaymentReceived, PaymentReversed, Purchase
from tests.crash.faults import (
    CrashingChain,
    CrashingGateway,
    CrashingNotifier,
    Faults,
    crashing_uow,
)
from tests.fakes.payments import FakeNotifier, FakePaymentGateway

# The standard development mnemonic: ganache funds its owner account (index 0).
MNEMONIC = "test test test test test test test test test test test junk"
CREATOR = UserRef("test", "alice", name="Alice", chat_id="chat-alice")
PRICE = "1.50"


def settings_for(database_url: str, rpc_url: str | None = None) -> Settings:
    environ = {"ONE_BOT__DATABASE__URL": database_url, "ONE_BOT__CHAIN__MNEMONIC": MNEMONIC}
    if rpc_url:
        environ["ONE_BOT__CHAIN__RPC_URL"] = rpc_url
    return load_settings(environ=environ)


def fan(tag: str, index: int) -> UserRef:
    return UserRef(
        "test", f"{tag}-{index}", name=f"Fan {tag} {index}", chat_id=f"chat-{tag}-{index}"
    )


def payment(purchase: Purchase, *, ref: str | None = None) -> PaymentReceived:
    """The card payment of ``purchase`` at its price, as the provider's webhook reports it."""
    ref = ref or f"pi_{purchase.id}"
    return PaymentReceived(
        "card", f"evt_{ref}", purchase.id, ref, Money("usd", purchase.price_cents), payer=None
    )


def reversal(purchase: Purchase, reason: str = "refunded") -> PaymentReversed:
    return PaymentReversed("card", f"rev_{purchase.id}", f"pi_{purchase.id}", reason)


async def ensure_token(services: Services) -> None:
    """Alice's creator profile and her $ALICE token, unless a previous run made them."""
    with contextlib.suppress(AlreadyRegistered):
        await services.creators.register(CREATOR, "Alice", "alice@example.com", ["fitness"])
    with contextlib.suppress(TokenAlreadyCreated):
        await services.tokens.create(CREATOR, "ALICE", PRICE)


async def start_purchases(services: Services, tag: str, count: int) -> list[Purchase]:
    """``count`` fans each start a purchase of a different amount (1, 2, 3 … tokens)."""
    started = []
    for index in range(count):
        checkout = await services.purchases.start(fan(tag, index), "alice", str(index + 1), "test")
        started.append(checkout.purchase)
    return started


async def on_paid(services: Services, event: PaymentReceived) -> None:
    """What the webhook route does with a payment: record it, then advance its purchase."""
    outcome = await services.purchases.payment_received(event)
    if outcome.outcome == "recorded" and outcome.purchase_id is not None:
        await services.saga.advance(outcome.purchase_id, outcome.purchase)


async def on_reversed(services: Services, event: PaymentReversed) -> None:
    purchase_id = await services.purchases.payment_reversed(event)
    if purchase_id is not None:
        await services.saga.advance(purchase_id)


async def all_at_once(*work: Awaitable[Any]) -> list[BaseException]:
    """Run coroutines concurrently to the end; the exceptions they raised."""
    results = await asyncio.gather(*work, return_exceptions=True)
    return [r for r in results if isinstance(r, BaseException)]


@dataclass
class Backend:
    """Where a test's "processes" keep their state: a database, and the chain (None: each
    process opens a fresh embedded one, rebuilt from the ledger), with the provider's side."""

    name: str
    url: str
    chain: TokenChain | None
    wallets: Wallets | None
    notifier: FakeNotifier = field(default_factory=FakeNotifier)
    card: FakePaymentGateway = field(default_factory=lambda: FakePaymentGateway("card"))


@dataclass
class Opened:
    app: bootstrap.App
    database: Database
    chain: TokenChain  # the chain as the app sees it (unwrapped)
    wallets: Wallets


async def open_app(
    stack: AsyncExitStack,
    settings: Settings,
    faults: Faults,
    *,
    gateways: Sequence[PaymentGateway],
    notifier: Notifier,
    chain: TokenChain | None = None,
    wallets: Wallets | None = None,
    reject: Callable[[str], bool] = lambda reference: False,
) -> Opened:
    """The app as ``bootstrap.build`` makes it, every port wrapped to crash as ``faults`` says.

    Without ``chain``, the configured chain is opened as a starting bot opens it (the embedded
    one is rebuilt from the ledger; a JSON-RPC node is used as it is).
    """
    database = open_database(settings.database.url)
    stack.push_async_callback(database.dispose)
    await migrate.upgrade(database)
    plain = partial(SqlUnitOfWork, database)
    clock = SystemClock()
    if chain is None or wallets is None:
        chain, wallets = await bootstrap.open_chain(
            settings.chain, stack, plain, clock, chain, wallets
        )
    app = await bootstrap.build(
        settings,
        stack,
        uow=crashing_uow(plain, faults),
        clock=clock,
        chain=CrashingChain(chain, faults, reject=reject),
        wallets=wallets,
        gateways=[CrashingGateway(gateway, faults) for gateway in gateways],
        notifier=CrashingNotifier(notifier, faults),
    )
    return Opened(app, database, chain, wallets)
