"""A Discord frontend on the app's router, offline (tests/discord_frontend/gateway.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from adapters.discord_frontend.frontend import DiscordFrontend, DiscordOptions
from adapters.discord_frontend.responder import DEFER_AFTER
from bot import bootstrap
from bot.conversation import Router
from tests.discord_frontend.gateway import Call, Gateway, install


async def gateway_for(
    router: Router,
    app: bootstrap.App,
    monkeypatch: pytest.MonkeyPatch,
    defer_after: float = DEFER_AFTER,
) -> Gateway:
    frontend = DiscordFrontend(
        DiscordOptions("offline", sync_commands=False),
        router,
        app.services.creators.suggest_handles,
        defer_after=defer_after,
    )
    await frontend.client._async_setup_hook()  # the loop, as login would set it
    gateway = Gateway(frontend)
    install(monkeypatch, gateway)
    return gateway


@pytest.fixture
async def discord_gateway(
    sqlite_app: bootstrap.App, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Gateway]:
    gateway = await gateway_for(sqlite_app.router, sqlite_app, monkeypatch)
    yield gateway
    await gateway.frontend.client.close()


async def answers(gateway: Gateway, count: int = 1) -> list[Call]:
    """The next ``count`` interaction calls the bot makes (waiting for them)."""
    await gateway.until(lambda: len(gateway.calls) >= gateway.seen + count)
    new = gateway.calls[gateway.seen : gateway.seen + count]
    gateway.seen += count
    return new


@pytest.fixture(autouse=True)
def nothing_failed(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """discord.py logs what a command or an event handler raised: none may have."""
    yield
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failed, [r.getMessage() for r in failed]
