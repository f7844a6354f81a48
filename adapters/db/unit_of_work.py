"""The SQL unit of work: one connection, one transaction, all repositories."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db.connections import SqlConnectionRepository
from adapters.db.engine import Database
from adapters.db.entities import SqlEntityRepository
from adapters.db.events import SqlEventRepository
from adapters.db.people import SqlCounterRepository, SqlIdentityRepository


class SqlUnitOfWork:
    """Implements ``core.ports.UnitOfWork`` on a SQLAlchemy async connection."""

    identities: SqlIdentityRepository
    entities: SqlEntityRepository
    connections: SqlConnectionRepository
    counters: SqlCounterRepository
    events: SqlEventRepository

    def __init__(self, database: Database) -> None:
        self._database = database
        self._conn: AsyncConnection | None = None
        self._committed = False

    async def __aenter__(self) -> Self:
        lock = self._database.lock
        if lock is not None:
            await lock.acquire()
        try:
            conn = await self._database.engine.connect()
            await conn.begin()
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        self._conn = conn
        self.identities = SqlIdentityRepository(conn)
        self.entities = SqlEntityRepository(conn)
        self.connections = SqlConnectionRepository(conn)
        self.counters = SqlCounterRepository(conn)
        self.events = SqlEventRepository(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            if not self._committed:
                await self._conn.rollback()
        finally:
            try:
                await self._conn.close()
            finally:
                if self._database.lock is not None:
                    self._database.lock.release()

    async def commit(self) -> None:
        assert self._conn is not None
        await self._conn.commit()
        self._committed = True
