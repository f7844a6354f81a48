"""The fakes' tables (:class:`FakeStore`), their rows, and the clock tests set by hand."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from core.journeys import JourneyRun, OutboxState
from core.linking import LinkCode
from core.model import Entity, Event
from core.purchases import Purchase
from core.roles import RoleGate

ONE_SECOND = timedelta(seconds=1)


class FakeClock:
    """Implements ``core.ports.Clock``: a fixed aware-UTC time that tests set or advance."""

    def __init__(self, now: datetime) -> None:
        self._now = _utc(now)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = _utc(now)

    def advance(self, delta: timedelta = ONE_SECOND) -> datetime:
        self._now += delta
        return self._now


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() != timedelta(0):
        raise ValueError(f"not an aware UTC datetime: {moment!r}")
    return moment.astimezone(UTC)


def to_millis(moment: datetime) -> datetime:
    """The moment as the database gives it back: UTC, whole milliseconds."""
    return datetime.fromtimestamp(int(moment.timestamp() * 1000) / 1000, tz=UTC)


def json_round_trip(value: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON column's round trip (tuples become lists; what JSON cannot hold fails)."""
    result: dict[str, Any] = json.loads(json.dumps(dict(value)))
    return result


class ForeignKeyViolation(Exception):
    """A row refers to an entity that does not exist (the database raises IntegrityError)."""


@dataclass(frozen=True)
class IdentityRow:
    user_id: int
    chat_id: str | None
    created_at: datetime
    unreachable_at: datetime | None = None


@dataclass(frozen=True)
class ConnectionRow:
    id: int
    from_id: int
    relation: str
    to_id: int
    metadata: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class LedgerRow:
    token_id: int
    holder_id: int
    amount: int
    kind: str
    metadata: dict[str, Any]
    created_at: datetime
    settle_later: bool = False  # made without a chain transaction: a settlement carries it
    settlement_id: int | None = None  # the settlement that took it


@dataclass(frozen=True)
class SettlementRow:
    holder_id: int
    token_id: int
    amount: int
    entries: int
    created_at: datetime
    state: str = "open"  # open | done
    attempts: int = 0
    last_error: str | None = None
    tx_hash: str | None = None
    settled_at: datetime | None = None


@dataclass(frozen=True)
class OutboxRow:
    person_id: int
    dedupe_key: str
    message: dict[str, Any]
    not_before: datetime
    created_at: datetime
    batch: str | None = None
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None


@dataclass
class FakeStore:
    """The tables. Tests may read and change them directly (e.g. to deactivate a creator)."""

    entities: dict[int, Entity] = field(default_factory=dict)
    identities: dict[tuple[str, str], IdentityRow] = field(default_factory=dict)
    connections: dict[int, ConnectionRow] = field(default_factory=dict)
    counters: dict[tuple[int, str], int] = field(default_factory=dict)
    events: dict[int, Event] = field(default_factory=dict)
    niches: set[tuple[str, int]] = field(default_factory=set)  # (niche, creator_id)
    ledger: dict[str, LedgerRow] = field(default_factory=dict)  # by reference
    holdings: dict[tuple[int, int], int] = field(default_factory=dict)  # (holder, token)
    settlements: dict[int, SettlementRow] = field(default_factory=dict)
    purchases: dict[int, Purchase] = field(default_factory=dict)
    webhooks: set[tuple[str, str]] = field(default_factory=set)  # (provider, event id)
    held_reversals: dict[tuple[str, str], str] = field(default_factory=dict)  # → reason
    journey_runs: dict[int, JourneyRun] = field(default_factory=dict)
    outbox: dict[int, OutboxRow] = field(default_factory=dict)
    link_codes: dict[str, LinkCode] = field(default_factory=dict)
    role_gates: dict[tuple[str, str], RoleGate] = field(default_factory=dict)
    role_grants: set[tuple[str, str, str]] = field(default_factory=set)
    last_ids: dict[str, int] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, compare=False, repr=False)

    def snapshot(self) -> FakeStore:
        """A deep copy of the tables (compare it with ``==`` to see that nothing changed)."""
        return FakeStore(**{name: copy.deepcopy(getattr(self, name)) for name in _TABLES})

    def load(self, other: FakeStore) -> None:
        """Replace every table with ``other``'s."""
        for name in _TABLES:
            setattr(self, name, getattr(other, name))

    def next_id(self, table: str) -> int:
        self.last_ids[table] = self.last_ids.get(table, 0) + 1
        return self.last_ids[table]

    def require(self, *entity_ids: int | None) -> None:
        missing = [i for i in entity_ids if i is not None and i not in self.entities]
        if missing:
            raise ForeignKeyViolation(f"no entity {missing}")


_TABLES = tuple(f.name for f in fields(FakeStore) if f.compare)
