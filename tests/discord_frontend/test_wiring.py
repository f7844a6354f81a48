"""`one-bot run` with a Discord token: the Discord frontend and the role jobs are among what it
runs, beside Telegram when both tokens are set, and DMs are a way to reach people."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import discord
import pytest

from adapters.discord_frontend.frontend import DiscordFrontend, DiscordOptions
from bot import bootstrap
from bot.settings import load_settings
from tests.conftest import build_app, sqlite_url


async def test_a_discord_token_adds_the_frontend_and_the_role_jobs(tmp_path: Path) -> None:
    base = {"ONE_BOT__DATABASE__URL": sqlite_url(tmp_path / "one-bot.db")}
    async with AsyncExitStack() as stack:
        plain = await build_app(stack, load_settings(environ=base))
        without = bootstrap.servers(plain)
        both = {
            **base,
            "ONE_BOT__DISCORD__TOKEN": "discord-token",
            "ONE_BOT__TELEGRAM__TOKEN": "123456:telegram-token",
        }
        app = await build_app(stack, load_settings(environ=both))
        servers = bootstrap.servers(app)
        names = {getattr(s, "__qualname__", "") for s in servers}
        assert len(servers) == len(without) + 3  # Telegram; Discord and its role jobs
        assert {"DiscordFrontend.run", "RoleJobs.run", "TelegramFrontend.run"} <= names
        assert {"discord", "telegram"} <= app.notifier.platforms
        assert "discord" not in plain.notifier.platforms


async def test_a_refused_token_leaves_the_rest_running(
    sqlite_app: bootstrap.App, caplog: pytest.LogCaptureFixture
) -> None:
    frontend = DiscordFrontend(
        DiscordOptions("refused-token"),
        sqlite_app.router,
        sqlite_app.services.creators.suggest_handles,
    )

    async def refuse(token: str) -> None:
        raise discord.LoginFailure("Improper token has been passed.")

    frontend.client.login = refuse  # type: ignore[method-assign]
    stop = asyncio.Event()
    running = asyncio.create_task(frontend.run(stop))
    await asyncio.sleep(0.05)
    assert not running.done()  # it waits for the stop, it does not end the others
    stop.set()
    await asyncio.wait_for(running, 5)
    assert "Discord refused the token" in caplog.text
    caplog.clear()  # logged on purpose
