"""In-memory fakes of ``core.ports`` that mirror the SQL adapters in ``adapters/db``.

Same constraints (unique handle per type, unique creator email, one connection per
(from, relation, to), foreign keys), same orderings, timestamps kept to the millisecond and
properties/metadata round-tripped through JSON as the database would. A :class:`FakeUnitOfWork`
works on a deep copy of the :class:`FakeStore` and publishes it only on ``commit()``; units run
one at a time, like SQLite's single writer.
"""

from tests.fakes.ledger import FakeLedgerRepository, FakeTokenChain, FakeWallets
from tests.fakes.repositories import (
    FakeConnectionRepository,
    FakeCounterRepository,
    FakeEntityRepository,
    FakeEventRepository,
    FakeIdentityRepository,
)
from tests.fakes.store import (
    ONE_SECOND,
    ConnectionRow,
    FakeClock,
    FakeStore,
    ForeignKeyViolation,
    IdentityRow,
)
from tests.fakes.unit_of_work import FakeUnitOfWork, fake_uow_factory

__all__ = [
    "ONE_SECOND",
    "ConnectionRow",
    "FakeClock",
    "FakeConnectionRepository",
    "FakeCounterRepository",
    "FakeEntityRepository",
    "FakeEventRepository",
    "FakeIdentityRepository",
    "FakeLedgerRepository",
    "FakeStore",
    "FakeTokenChain",
    "FakeUnitOfWork",
    "FakeWallets",
    "ForeignKeyViolation",
    "IdentityRow",
    "fake_uow_factory",
]
