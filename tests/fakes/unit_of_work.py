"""The fake unit of work: repositories over a staged copy, published on ``commit()``."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from tests.fakes.journeys import FakeJourneyRepository, FakeOutboxRepository
from tests.fakes.ledger import FakeLedgerRepository
from tests.fakes.links import FakeLinkCodeRepository
from tests.fakes.purchases import FakePurchaseRepository, FakeWebhookRepository
from tests.fakes.repositories import (
    FakeConnectionRepository,
    FakeCounterRepository,
    FakeEntityRepository,
    FakeEventRepository,
    FakeIdentityRepository,
)
from tests.fakes.roles import FakeRoleGateRepository
from tests.fakes.store import FakeStore


class FakeUnitOfWork:
    """Implements ``core.ports.UnitOfWork`` over a staged copy of a :class:`FakeStore`."""

    identities: FakeIdentityRepository
    entities: FakeEntityRepository
    connections: FakeConnectionRepository
    counters: FakeCounterRepository
    events: FakeEventRepository
    ledger: FakeLedgerRepository
    purchases: FakePurchaseRepository
    webhooks: FakeWebhookRepository
    journeys: FakeJourneyRepository
    outbox: FakeOutboxRepository

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self._staged: FakeStore | None = None

    def _begin(self) -> None:
        staged = self._store.snapshot()
        self._staged = staged
        self.identities = FakeIdentityRepository(staged)
        self.entities = FakeEntityRepository(staged)
        self.connections = FakeConnectionRepository(staged)
        self.counters = FakeCounterRepository(staged)
        self.events = FakeEventRepository(staged)
        self.ledger = FakeLedgerRepository(staged)
        self.purchases = FakePurchaseRepository(staged)
        self.webhooks = FakeWebhookRepository(staged)
        self.journeys = FakeJourneyRepository(staged)
        self.outbox = FakeOutboxRepository(staged)
        self.link_codes = FakeLinkCodeRepository(staged)
        self.role_gates = FakeRoleGateRepository(staged)

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._staged = None  # whatever was not committed is gone
        self._store.lock.release()

    async def commit(self) -> None:
        assert self._staged is not None, "commit() outside `async with`"
        self._store.load(self._staged)
        self._begin()  # later writes start a new transaction, discarded unless committed


def fake_uow_factory(store: FakeStore) -> Callable[[], FakeUnitOfWork]:
    """A ``UnitOfWorkFactory`` whose units all work on ``store``."""
    return lambda: FakeUnitOfWork(store)
