"""The SQL unit of work: one session (transaction) shared by all repositories."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Self

from adapters.db.connections import SqlConnectionRepository
from adapters.db.engine import Database, Session
from adapters.db.entities import SqlEntityRepository
from adapters.db.events import SqlEventRepository
from adapters.db.journeys import SqlJourneyRepository
from adapters.db.ledger import SqlLedgerRepository
from adapters.db.links import SqlLinkCodeRepository
from adapters.db.outbox import SqlOutboxRepository
from adapters.db.people import SqlCounterRepository, SqlIdentityRepository
from adapters.db.purchases import SqlPurchaseRepository, SqlWebhookRepository
from adapters.db.roles import SqlRoleGateRepository


class SqlUnitOfWork:
    """Implements ``core.ports.UnitOfWork``; leaving without ``commit`` rolls back."""

    identities: SqlIdentityRepository
    entities: SqlEntityRepository
    connections: SqlConnectionRepository
    counters: SqlCounterRepository
    events: SqlEventRepository
    ledger: SqlLedgerRepository
    purchases: SqlPurchaseRepository
    webhooks: SqlWebhookRepository
    journeys: SqlJourneyRepository
    outbox: SqlOutboxRepository

    def __init__(self, database: Database) -> None:
        self._database = database
        self._opened: AbstractAsyncContextManager[Session] | None = None
        self._session: Session | None = None

    async def __aenter__(self) -> Self:
        self._opened = self._database.session()
        session = self._session = await self._opened.__aenter__()
        self.identities = SqlIdentityRepository(session)
        self.entities = SqlEntityRepository(session)
        self.connections = SqlConnectionRepository(session)
        self.counters = SqlCounterRepository(session)
        self.events = SqlEventRepository(session)
        self.ledger = SqlLedgerRepository(session)
        self.purchases = SqlPurchaseRepository(session)
        self.webhooks = SqlWebhookRepository(session)
        self.journeys = SqlJourneyRepository(session)
        self.outbox = SqlOutboxRepository(session)
        self.link_codes = SqlLinkCodeRepository(session)
        self.role_gates = SqlRoleGateRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._opened is not None
        await self._opened.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()
