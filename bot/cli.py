"""The ``one-bot`` command: ``run`` (default), ``chat`` and ``migrate``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("one-bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="one-bot", description="The chat frontend of the ONE creator platform."
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="settings file (default: the repo's config.yaml)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the bot (the console chat when no chat token is set)")
    sub.add_parser("chat", help="chat in this terminal; reads standard input line by line")
    sub.add_parser("migrate", help="bring the database schema up to date, then exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except SettingsError as error:
        print(f"one-bot: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.logging.level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic narrates every step at INFO; our own line says which revision the schema is at.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.root.level))
    command = args.command or "run"
    try:
        if command == "migrate":
            return asyncio.run(_migrate(settings))
        if command == "run" and (settings.telegram.token or settings.discord.token):
            platform = "telegram" if settings.telegram.token else "discord"
            print(
                f"one-bot: {platform}.token is set, but this version has no {platform} "
                "frontend yet. Unset it to use the console chat, or run `one-bot chat`.",
                file=sys.stderr,
            )
            return 2
        return asyncio.run(_chat(settings))
    except KeyboardInterrupt:
        return 130


async def _migrate(settings: Settings) -> int:
    from adapters.db import migrate
    from adapters.db.engine import open_database

    database = open_database(settings.database.url)
    try:
        revision = await migrate.upgrade(database)
    finally:
        await database.dispose()
    print(f"database at revision {revision}")
    return 0


async def _chat(settings: Settings) -> int:
    from adapters.console.frontend import ConsoleFrontend
    from bot import bootstrap

    async with AsyncExitStack() as stack:
        app = await bootstrap.build(settings, stack)
        console = ConsoleFrontend(
            app.router, sys.stdin, sys.stdout, person=settings.console.default_person
        )
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(console.run())
    return 0
