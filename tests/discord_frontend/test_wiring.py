"""`one-bot run` with a Discord token: the Discord frontend and the role jobs are among what it
runs, beside Telegram when both tokens are set, and DMs are a way to reach people."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

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
