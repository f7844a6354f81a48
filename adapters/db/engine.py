"""Opening the database: engine, connection settings, and how transactions start."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000


@dataclass
class Database:
    """An engine plus what its dialect needs to keep transactions correct.

    SQLite has one writer at a time. Every transaction starts with ``BEGIN IMMEDIATE`` (so a
    reader never fails to upgrade to a writer) and, inside one process, transactions queue on
    ``lock`` instead of spinning in SQLite's busy handler; ``busy_timeout`` covers other
    processes. PostgreSQL runs transactions concurrently and needs neither.
    """

    engine: AsyncEngine
    lock: asyncio.Lock | None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def dispose(self) -> None:
        await self.engine.dispose()


def open_database(url: str, *, echo: bool = False) -> Database:
    """Create the engine for ``url`` (``sqlite+aiosqlite:///…`` or ``postgresql+asyncpg://…``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _open_sqlite(parsed, echo)
    engine = create_async_engine(parsed, echo=echo, pool_pre_ping=True)
    return Database(engine=engine, lock=None)


def _open_sqlite(url: URL, echo: bool) -> Database:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo)

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from the driver so we can make it IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return Database(engine=engine, lock=asyncio.Lock())
