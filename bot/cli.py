"""The ``one-bot`` command: ``run`` (default), ``chat``, ``migrate``, ``reconcile``, ``resume``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from bot import redaction
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
    sub.add_parser(
        "reconcile", help="compare every ledger balance with the chain; exit 1 on any drift"
    )
    sub.add_parser(
        "resume",
        help="finish every purchase a crash or outage left mid-way (the job does it too), exit",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    # python-telegram-bot's coming default (durations as timedelta); without it every 429
    # and every timeout logs a deprecation warning.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
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
    redaction.install(settings, logging.root.handlers)
    # Alembic narrates every step at INFO; our own line says which revision the schema is at.
    # httpx logs every request URL at INFO, and python-telegram-bot's hold the bot's token.
    for noisy in ("alembic", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))
    command = args.command or "run"
    try:
        if command == "migrate":
            return asyncio.run(_migrate(settings))
        if command == "reconcile":
            return asyncio.run(_reconcile(settings))
        if command == "resume":
            return asyncio.run(_resume(settings))
        if command == "run" and (settings.telegram.token or settings.discord.token):
            return asyncio.run(_serve(settings))
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


async def _reconcile(settings: Settings) -> int:
    from bot import bootstrap

    async with AsyncExitStack() as stack:
        app = await bootstrap.build(settings, stack)
        report = await app.services.tokens.reconcile()
    for drift in report.drifts:
        print(
            f"DRIFT user {drift.holder_id} ${drift.symbol}: "
            f"ledger {drift.ledger}, chain {drift.chain}"
        )
    print(f"{report.checked} balances checked, {len(report.drifts)} drifting")
    return 1 if report.drifts else 0


async def _resume(settings: Settings) -> int:
    from bot import bootstrap

    async with AsyncExitStack() as stack:
        app = await bootstrap.build(settings, stack)
        recovered = await bootstrap.recover_and_advance(app.services)
        resumed = await app.services.saga.resume()
        settled = await app.services.settlement.settle()
    print(
        f"{recovered} payments recovered, {resumed} purchases resumed, "
        f"{settled.settled} settlements carried onto the chain ({settled.failed} left open)"
    )
    return 0


async def _serve(settings: Settings) -> int:
    from bot import bootstrap

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with AsyncExitStack() as stack:
        app = await bootstrap.build(settings, stack)
        async with asyncio.TaskGroup() as tasks:
            for server in bootstrap.servers(app):
                tasks.create_task(server(stop))
    log.info("stopped")
    return 0


async def _chat(settings: Settings) -> int:
    from adapters.console.frontend import PLATFORM, ConsoleFrontend
    from bot import bootstrap

    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        app = await bootstrap.build(settings, stack)
        console = ConsoleFrontend(
            app.router, sys.stdin, sys.stdout, person=settings.console.default_person
        )
        app.notifier.register(PLATFORM, console.push)

        async def chat_then_stop() -> None:
            try:
                await console.run()
            finally:
                stop.set()

        # The web server (checkout page, payment webhooks) and the purchase jobs run beside
        # the console; no other chat frontend does.
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(chat_then_stop())
            for server in bootstrap.servers(app, chat_frontends=False):
                tasks.create_task(server(stop))
    return 0
