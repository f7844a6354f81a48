"""Shared fixtures: a temp SQLite file, fresh PostgreSQL databases when configured, the app."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot import bootstrap
from bot.settings import Settings, load_settings
from tests.fakes import FakeTokenChain, FakeWallets
from tests.fakes.ai import FakeKnowledgeStore
from tests.fakes.payments import FakeNotifier, FakePaymentGateway
from tests.snapshots import snapshot  # noqa: F401 — a fixture for every test module
from tests.support import Chat

POSTGRES_ENV = "ONE_BOT_TEST_POSTGRES_URL"
os.environ.setdefault("PTB_TIMEDELTA", "true")  # as bot/cli.py sets it for the real program


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "one-bot.db")


async def _admin_execute(admin_url: str, sql: str) -> None:
    import asyncpg

    url = make_url(admin_url).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.skip(f"{POSTGRES_ENV} is not set (CI sets it; see .ci/run)")
    name = f"one_bot_test_{uuid.uuid4().hex[:12]}"
    await _admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def postgres_db() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test using this runs on a SQLite file and on PostgreSQL (skipped when not set)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "one-bot.db")
    else:
        async with fresh_postgres_database() as url:
            yield url


def settings_for(url: str) -> Settings:
    return load_settings(environ={"ONE_BOT__DATABASE__URL": url})


async def build_app(stack: AsyncExitStack, settings: Settings) -> bootstrap.App:
    """The real app on a real database; the chain, the payment rails and the notifier are
    faked (tests/chain, tests/payments and tests/test_buying_end_to_end.py use real ones)."""
    return await bootstrap.build(
        settings,
        stack,
        chain=FakeTokenChain(),
        wallets=FakeWallets(),
        gateways=[
            FakePaymentGateway("card"),
            FakePaymentGateway("stars", platforms=frozenset({"telegram"}), stars_per_usd=50),
        ],
        notifier=FakeNotifier(),
        knowledge_store=FakeKnowledgeStore(),
    )


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[bootstrap.App]:
    async with AsyncExitStack() as stack:
        yield await build_app(stack, settings_for(database_url))


@pytest.fixture
async def sqlite_app(sqlite_db: str) -> AsyncIterator[bootstrap.App]:
    async with AsyncExitStack() as stack:
        yield await build_app(stack, settings_for(sqlite_db))


@pytest.fixture
def chat(sqlite_app: bootstrap.App) -> Chat:
    return Chat(sqlite_app.router)
