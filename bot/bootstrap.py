"""The composition root: the only place that builds adapters and wires them to the core.

Nothing is built at import time; ``build`` opens resources on the caller's ``AsyncExitStack``
so they close in reverse order however the bot stops.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial

from adapters.db import migrate
from adapters.db.engine import Database, open_database
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.system_clock import SystemClock
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
