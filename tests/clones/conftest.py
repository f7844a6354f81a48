"""The real app for clone tests: SQLite, LanceDB in a temp folder, the local model server.

Only the chain and the payment rail are fakes (tests/chain and tests/payments test the real
ones); tokens reach a fan through the real purchase service and saga.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bot import bootstrap
from bot.settings import load_settings
from core.model import UserRef
from core.purchases import Money, PaymentReceived
from tests.fakes import FakeTokenChain, FakeWallets
from tests.fakes.payments import FakeNotifier, FakePaymentGateway
from tests.llm_server import LocalLLMServer, llm_server  # noqa: F401 — a fixture
from tests.support import Chat

API_KEY = "sk-local-test"
Build = Callable[..., Awaitable[bootstrap.App]]


@pytest.fixture
async def build(tmp_path: Path) -> AsyncIterator[Build]:
    """``await build(llm=server or None, **settings)``: the app, built as ``one-bot run`` does."""
    async with AsyncExitStack() as stack:

        async def make(llm: LocalLLMServer | None = None, **extra: str) -> bootstrap.App:
            environ = {
                "ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'one.db'}",
                **extra,
            }
            if llm is not None:
                environ |= {
                    "ONE_BOT__LLM__BASE_URL": llm.base_url,
                    "ONE_BOT__LLM__API_KEY": API_KEY,
                    "ONE_BOT__LLM__MODEL": "local-chat",
                    "ONE_BOT__LLM__EMBEDDING_MODEL": "local-embed",
                }
            return await bootstrap.build(
                load_settings(environ=environ),
                stack,
                chain=FakeTokenChain(),
                wallets=FakeWallets(),
                gateways=[FakePaymentGateway("card")],
                notifier=FakeNotifier(),
            )

        yield make


async def give_tokens(app: bootstrap.App, fan: str, handle: str, amount: int) -> None:
    """``fan`` buys ``amount`` of ``handle``'s token and pays by card."""
    services = app.services
    who = UserRef("test", fan, name=fan.title(), chat_id=fan)
    checkout = await services.purchases.start(who, handle, str(amount), "test")
    purchase = checkout.purchase
    received = PaymentReceived(
        "card",
        f"evt_{purchase.id}",
        purchase.id,
        f"pi_{purchase.id}",
        Money("usd", purchase.price_cents),
    )
    outcome = await services.purchases.payment_received(received)
    await services.saga.advance(purchase.id, outcome.purchase)


async def creator_alice(chat: Chat, persona: str | None = None) -> None:
    await chat("alice", "/register Alice Smith | alice@example.com | fitness")
    await chat("alice", "/token ALICE 0.50")
    if persona:
        await chat("alice", f"/clone persona {persona}")
