"""Opening the database, and running work on it without blocking the event loop.

Repositories express each operation as a plain function of a SQLAlchemy ``Connection``; a
:class:`Session` runs it:

* SQLite: on one dedicated worker thread that owns the ``sqlite3`` connections — the approach of
  aiosqlite, but with one thread hop per repository operation instead of about four per
  statement (bench/core_commands.py: the hops were 85% of a command's time). Transactions
  begin ``IMMEDIATE`` (a reader never fails to upgrade to a writer) and queue on an asyncio lock
  inside the process; ``busy_timeout`` covers other processes.
* PostgreSQL: asyncpg through SQLAlchemy's asyncio extension; ``run_sync`` drives the same
  function on the event loop, transactions run concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, RootTransaction, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Connection], T]

SQLITE_BUSY_TIMEOUT_MS = 5000


class Session(ABC):
    """One transaction: runs work on its connection, then commits or rolls back."""

    @abstractmethod
    async def run(self, work: Work[T]) -> T:
        """Run ``work(connection)`` inside the transaction (begun on first use)."""

    @abstractmethod
    async def commit(self) -> None:
        """Make the transaction durable; a later ``run`` begins a new one."""


class Database(ABC):
    """An open database: sessions for units of work, and how to close it."""

    dialect: str

    @property
    @abstractmethod
    def sync_engine(self) -> Engine:
        """The engine's synchronous face, for SQLAlchemy events (tests and benchmarks)."""

    @abstractmethod
    def session(self) -> AbstractAsyncContextManager[Session]:
        """``async with database.session() as s``: rolled back unless committed."""

    @abstractmethod
    async def dispose(self) -> None:
        """Close every connection."""

    async def execute(self, work: Work[T]) -> T:
        """Run ``work`` in a transaction of its own and commit it."""
        async with self.session() as session:
            result = await session.run(work)
            await session.commit()
        return result


def open_database(url: str, *, echo: bool = False) -> Database:
    """Open ``sqlite+aiosqlite:///FILE`` (or ``sqlite:///FILE``) or ``postgresql+asyncpg://…``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SqliteDatabase(parsed.database or "", echo=echo)
    return PostgresDatabase(create_async_engine(parsed, echo=echo, pool_pre_ping=True))


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: str, *, echo: bool = False) -> None:
        if not path or path == ":memory:":
            # Each pooled connection would see its own empty in-memory database.
            raise ValueError("database.url must name a SQLite file")
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._engine = create_engine(f"sqlite:///{path}", echo=echo)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        self._lock = asyncio.Lock()
        # Transactions are serialised anyway, so the thread keeps one connection open rather
        # than checking one out of a pool (and resetting it) for every unit of work.
        self._conn: Connection | None = None
        self._disposed = False
        event.listen(self._engine, "connect", _configure_sqlite)
        event.listen(self._engine, "begin", _begin_immediate)

    @property
    def sync_engine(self) -> Engine:
        return self._engine

    def connection(self) -> Connection:
        """The thread's connection; call only on the database thread."""
        if self._conn is None or self._conn.closed:
            self._conn = self._engine.connect()
        return self._conn

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with self._lock:
            session = _ThreadSession(self, self._thread)
            try:
                yield session
            finally:
                await session.close()

    async def dispose(self) -> None:
        if self._disposed:
            return
        self._disposed = True

        def close() -> None:
            if self._conn is not None:
                self._conn.close()
            self._engine.dispose()

        await asyncio.get_running_loop().run_in_executor(self._thread, close)
        self._thread.shutdown(wait=True)


class _ThreadSession(Session):
    def __init__(self, database: SqliteDatabase, thread: ThreadPoolExecutor) -> None:
        self._database = database
        self._thread = thread
        self._txn: RootTransaction | None = None
        self._changes_at_begin = 0
        self._changed = False

    async def _hop(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    async def run(self, work: Work[T]) -> T:
        def step() -> T:
            conn = self._database.connection()
            if self._txn is None:
                self._txn = conn.begin()
                self._changes_at_begin = _total_changes(conn)
            result = work(conn)
            self._changed = _total_changes(conn) != self._changes_at_begin
            return result

        return await self._hop(step)

    async def commit(self) -> None:
        if self._txn is None:
            return
        if self._changed:
            await self._hop(self._end(commit=True))
        else:
            # Nothing to make durable: end it without waiting (the next unit queues behind it).
            self._end_soon(self._end(commit=False))

    async def close(self) -> None:
        # A rollback nobody waits for; ordered before any later work on the single thread.
        if self._txn is not None:
            self._end_soon(self._end(commit=False))

    def _end_soon(self, end: Callable[[], None]) -> None:
        self._thread.submit(end).add_done_callback(_log_failure)

    def _end(self, *, commit: bool) -> Callable[[], None]:
        txn, self._txn = self._txn, None
        self._changed = False
        assert txn is not None
        return txn.commit if commit else txn.rollback


def _total_changes(conn: Connection) -> int:
    """Rows changed on this sqlite3 connection since it opened (its ``total_changes``)."""
    return int(conn.connection.dbapi_connection.total_changes)  # type: ignore[union-attr]


def _log_failure(future: Future[None]) -> None:
    if (error := future.exception()) is not None:
        log.error("ending a SQLite transaction failed", exc_info=error)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN over from the driver so that it can be IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def sync_engine(self) -> Engine:
        return self._engine.sync_engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with self._engine.connect() as conn:
            yield _AsyncSession(conn)  # closing the connection rolls back what is left

    async def dispose(self) -> None:
        await self._engine.dispose()


class _AsyncSession(Session):
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def run(self, work: Work[T]) -> T:
        if not self._conn.in_transaction():
            await self._conn.begin()
        return await self._conn.run_sync(work)

    async def commit(self) -> None:
        if self._conn.in_transaction():
            await self._conn.commit()
