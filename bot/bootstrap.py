"""The composition root: the only place that builds adapters and wires them to the core.

Nothing is built at import time; ``build`` opens resources on the caller's ``AsyncExitStack``
so they close in reverse order however the bot stops.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

from telegram.request import BaseRequest

from adapters.db import migrate
from adapters.db.engine import Database, open_database
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.system_clock import SystemClock
from adapters.telegram_frontend.frontend import TelegramFrontend, TelegramOptions
from adapters.telegram_frontend.limiter import LimiterClock, Limits
from adapters.telegram_frontend.translate import PLATFORM
from adapters.telegram_frontend.webhook import webhook_route
from adapters.web.server import serve, web_app
from bot.conversation import Router
from bot.conversation.commands import all_commands
from bot.conversation.context import Services
from bot.settings import Settings
from core.ports import Clock, UnitOfWorkFactory
from core.services.creators import CreatorService
from core.services.events import EventService
from core.services.follows import FollowService
from core.services.identities import IdentityService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class App:
    """Everything the frontends need, built once per process."""

    settings: Settings
    services: Services
    router: Router
    database: Database | None


def build_services(uow: UnitOfWorkFactory, clock: Clock) -> Services:
    return Services(
        identities=IdentityService(uow, clock),
        creators=CreatorService(uow, clock),
        follows=FollowService(uow, clock),
        events=EventService(uow, clock),
    )


async def build(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    uow: UnitOfWorkFactory | None = None,
    clock: Clock | None = None,
) -> App:
    """Wire the app. Without a ``uow`` override, open the database and migrate it to head."""
    database: Database | None = None
    if uow is None:
        database = open_database(settings.database.url, echo=settings.database.echo)
        stack.push_async_callback(database.dispose)
        await migrate.upgrade(database)
        uow = partial(SqlUnitOfWork, database)
    services = build_services(uow, clock or SystemClock())
    return App(settings, services, Router(services, all_commands()), database)


Server = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def telegram_frontend(
    app: App,
    *,
    request: BaseRequest | None = None,
    limits: Limits | None = None,
    limiter_clock: LimiterClock | None = None,
) -> TelegramFrontend:
    """The Telegram frontend for ``app``; tests replace the HTTP layer and the limiter's clock."""
    settings = app.settings.telegram
    assert settings.token is not None
    secret = settings.webhook_secret
    options = TelegramOptions(
        token=settings.token.get_secret_value(),
        mode=settings.mode,
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        webhook_url=settings.webhook_url,
        webhook_secret=secret.get_secret_value() if secret else secrets.token_urlsafe(32),
        poll_interval=settings.poll_interval,
    )
    unreachable = partial(app.services.identities.mark_unreachable, PLATFORM)
    return TelegramFrontend(
        options,
        app.router,
        request=request,
        limits=limits,
        limiter_clock=limiter_clock,
        on_unreachable=unreachable,
    )


def servers(app: App, *, telegram_request: BaseRequest | None = None) -> list[Server]:
    """What ``one-bot run`` runs for these settings: chat frontends and the web server."""
    found: list[Server] = []
    routes = []
    if app.settings.telegram.token is not None:
        telegram = telegram_frontend(app, request=telegram_request)
        found.append(telegram.run)
        if telegram.options.mode == "webhook":
            assert telegram.options.webhook_secret is not None
            routes.append(webhook_route(telegram, telegram.options.webhook_secret))
    if routes:
        web = app.settings.web
        found.append(partial(serve, web_app(routes), web.host, web.port))
    return found
