from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from telegram import Update

from adapters.telegram_frontend.frontend import TelegramFrontend
from bot import bootstrap
from bot.settings import load_settings
from tests.conftest import build_app
from tests.telegram.bot_api import RecordingBotApi, Updates


@pytest.fixture
def bot_api() -> RecordingBotApi:
    return RecordingBotApi()


@pytest.fixture
async def tg_app(sqlite_db: str) -> AsyncIterator[bootstrap.App]:
    environ = {"ONE_BOT__DATABASE__URL": sqlite_db, "ONE_BOT__TELEGRAM__TOKEN": "4242:TEST"}
    async with AsyncExitStack() as stack:
        yield await build_app(stack, load_settings(environ=environ))


class FakeClock:
    """The limiter's clock: ``sleep`` advances time instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def limiter_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def telegram(
    tg_app: bootstrap.App, bot_api: RecordingBotApi, limiter_clock: FakeClock
) -> AsyncIterator[TelegramFrontend]:
    frontend = bootstrap.telegram_frontend(tg_app, request=bot_api, limiter_clock=limiter_clock)
    async with frontend.application:
        yield frontend


@pytest.fixture
def updates() -> Updates:
    return Updates()


class Feed:
    """Hands Update JSON to the application the way the update fetcher does, one at a time."""

    def __init__(self, frontend: TelegramFrontend) -> None:
        self._app = frontend.application

    async def __call__(self, data: dict[str, object]) -> None:
        await self._app.process_update(Update.de_json(data, self._app.bot))


@pytest.fixture
def feed(telegram: TelegramFrontend) -> Feed:
    return Feed(telegram)
