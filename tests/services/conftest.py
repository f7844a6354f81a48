"""Fixtures of the service tests: the fakes' store and clock, and the app built on them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from bot import bootstrap
from bot.conversation.context import Services
from bot.settings import load_settings
from tests.fakes import FakeClock, FakeStore, FakeTokenChain, FakeWallets, fake_uow_factory
from tests.fakes.ai import FakeKnowledgeStore, FakeLanguageModel
from tests.fakes.payments import FakeNotifier, FakePaymentGateway
from tests.services_support import T0


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def chain() -> FakeTokenChain:
    return FakeTokenChain()


@pytest.fixture
def card() -> FakePaymentGateway:
    return FakePaymentGateway("card")


@pytest.fixture
def stars() -> FakePaymentGateway:
    return FakePaymentGateway("stars", platforms=frozenset({"telegram"}), stars_per_usd=50)


@pytest.fixture
def notifier() -> FakeNotifier:
    return FakeNotifier()


@pytest.fixture
def knowledge_store() -> FakeKnowledgeStore:
    return FakeKnowledgeStore()


@pytest.fixture
def model() -> FakeLanguageModel | None:
    """The clones' model; None (offline answers) unless a test overrides this fixture."""
    return None


@pytest.fixture
async def fake_app(
    store: FakeStore,
    clock: FakeClock,
    chain: FakeTokenChain,
    card: FakePaymentGateway,
    stars: FakePaymentGateway,
    notifier: FakeNotifier,
    knowledge_store: FakeKnowledgeStore,
    model: FakeLanguageModel | None,
) -> AsyncIterator[bootstrap.App]:
    async with AsyncExitStack() as stack:
        yield await bootstrap.build(
            load_settings(environ={}),
            stack,
            uow=fake_uow_factory(store),
            clock=clock,
            chain=chain,
            wallets=FakeWallets(),
            gateways=[card, stars],
            notifier=notifier,
            knowledge_store=knowledge_store,
            model=model,
        )


@pytest.fixture
def services(fake_app: bootstrap.App) -> Services:
    return fake_app.services
