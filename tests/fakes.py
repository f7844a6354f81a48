"""In-memory fakes of ``core.ports`` that mirror the SQL adapters in ``adapters/db``.

Same constraints (unique handle per type, unique creator email, one connection per
(from, relation, to), foreign keys), same orderings, timestamps kept to the millisecond and
properties/metadata round-tripped through JSON as the database would. A :class:`FakeUnitOfWork`
works on a deep copy of the :class:`FakeStore` and publishes it only on ``commit()``; units run
one at a time, like SQLite's single writer.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from core.model import ActorType, Counter, Entity, EntityType, Event, Relation, Status

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


def _millis(moment: datetime) -> datetime:
    """The moment as the database gives it back: UTC, whole milliseconds."""
    return datetime.fromtimestamp(int(moment.timestamp() * 1000) / 1000, tz=UTC)


def _json(value: Mapping[str, Any]) -> dict[str, Any]:
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


@dataclass(frozen=True)
class ConnectionRow:
    id: int
    from_id: int
    relation: str
    to_id: int
    metadata: dict[str, Any]
    created_at: datetime


@dataclass
class FakeStore:
    """The tables. Tests may read and change them directly (e.g. to deactivate a creator)."""

    entities: dict[int, Entity] = field(default_factory=dict)
    identities: dict[tuple[str, str], IdentityRow] = field(default_factory=dict)
    connections: dict[int, ConnectionRow] = field(default_factory=dict)
    counters: dict[tuple[int, str], int] = field(default_factory=dict)
    events: dict[int, Event] = field(default_factory=dict)
    niches: set[tuple[str, int]] = field(default_factory=set)  # (niche, creator_id)
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


class _Repository:
    def __init__(self, db: FakeStore) -> None:
        self._db = db


def _copy(entity: Entity) -> Entity:
    return replace(entity, properties=copy.deepcopy(entity.properties))


class FakeIdentityRepository(_Repository):
    async def find(self, platform: str, platform_user_id: str) -> tuple[int, str | None] | None:
        row = self._db.identities.get((platform, platform_user_id))
        return (row.user_id, row.chat_id) if row else None

    async def add(
        self, platform: str, platform_user_id: str, user_id: int, chat_id: str | None, now: datetime
    ) -> bool:
        self._db.require(user_id)
        if (platform, platform_user_id) in self._db.identities:
            return False
        self._db.identities[platform, platform_user_id] = IdentityRow(
            user_id, chat_id, _millis(now)
        )
        return True

    async def set_chat(self, platform: str, platform_user_id: str, chat_id: str) -> None:
        row = self._db.identities.get((platform, platform_user_id))
        if row is not None:
            self._db.identities[platform, platform_user_id] = replace(row, chat_id=chat_id)


class FakeEntityRepository(_Repository):
    async def add(
        self,
        type: EntityType,
        name: str,
        handle: str | None,
        properties: Mapping[str, Any],
        now: datetime,
    ) -> int | None:
        props = _json(properties)
        email = props.get("email")
        for other in self._db.entities.values():
            if handle is not None and (other.type, other.handle) == (type, handle):
                return None
            both_creators = type == other.type == EntityType.CREATOR
            if both_creators and email is not None and other.properties.get("email") == email:
                return None
        entity_id = self._db.next_id("entities")
        at = _millis(now)
        self._db.entities[entity_id] = Entity(
            entity_id, EntityType(type), handle, name, props, Status.ACTIVE, at, at
        )
        return entity_id

    async def delete(self, entity_id: int) -> None:
        """Delete with the schema's cascades (and SET NULL for event actors)."""
        db = self._db
        db.entities.pop(entity_id, None)
        db.identities = {k: r for k, r in db.identities.items() if r.user_id != entity_id}
        db.connections = {
            k: c for k, c in db.connections.items() if entity_id not in (c.from_id, c.to_id)
        }
        db.counters = {k: v for k, v in db.counters.items() if k[0] != entity_id}
        db.niches = {n for n in db.niches if n[1] != entity_id}
        db.events = {
            k: replace(e, actor_id=None) if e.actor_id == entity_id else e
            for k, e in db.events.items()
            if e.entity_id != entity_id
        }

    async def get(self, entity_id: int) -> Entity | None:
        entity = self._db.entities.get(entity_id)
        return _copy(entity) if entity else None

    async def get_many(self, entity_ids: Sequence[int]) -> dict[int, Entity]:
        return {i: _copy(self._db.entities[i]) for i in set(entity_ids) if i in self._db.entities}

    async def by_handle(self, type: EntityType, handle: str) -> Entity | None:
        for entity in self._db.entities.values():
            if (entity.type, entity.handle) == (type, handle):
                return _copy(entity)
        return None

    async def handles_starting_with(self, type: EntityType, prefix: str) -> set[str]:
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the same range as the SQL
        return {
            e.handle
            for e in self._db.entities.values()
            if e.type == type and e.handle is not None and prefix <= e.handle < upper
        }

    async def creator_by_email(self, email: str) -> int | None:
        for entity in self._db.entities.values():
            if entity.type == EntityType.CREATOR and entity.properties.get("email") == email:
                return entity.id
        return None

    async def update(self, entity_id: int, properties: Mapping[str, Any], now: datetime) -> None:
        entity = self._db.entities.get(entity_id)
        if entity is not None:
            self._db.entities[entity_id] = replace(
                entity, properties=_json(properties), updated_at=_millis(now)
            )

    async def set_niches(self, creator_id: int, niches: Sequence[str]) -> None:
        self._db.niches = {n for n in self._db.niches if n[1] != creator_id}
        if niches:
            self._db.require(creator_id)
        if len(set(niches)) != len(niches):
            raise ValueError(f"duplicate niches violate the primary key: {list(niches)}")
        self._db.niches |= {(niche, creator_id) for niche in niches}

    async def discover_creators(
        self, niche: str | None, status: Status, limit: int
    ) -> list[Entity]:
        followers = str(Counter.FOLLOWERS)
        found = [
            e
            for e in self._db.entities.values()
            if e.type == EntityType.CREATOR
            and e.status == status
            and (e.id, followers) in self._db.counters  # the SQL joins the followers counter
            and (niche is None or (niche, e.id) in self._db.niches)
        ]
        found.sort(key=lambda e: (-self._db.counters[e.id, followers], e.id))
        return [_copy(e) for e in found[:limit]]


class FakeConnectionRepository(_Repository):
    def _newest(self, match: Callable[[ConnectionRow], bool]) -> list[ConnectionRow]:
        return sorted(filter(match, self._db.connections.values()), key=lambda r: -r.id)

    def _find(self, from_id: int, to_id: int, relation: Relation) -> ConnectionRow | None:
        for row in self._db.connections.values():
            if (row.from_id, row.relation, row.to_id) == (from_id, str(relation), to_id):
                return row
        return None

    async def add(
        self,
        from_id: int,
        to_id: int,
        relation: Relation,
        metadata: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        self._db.require(from_id, to_id)
        if self._find(from_id, to_id, relation) is not None:
            return False
        row_id = self._db.next_id("connections")
        self._db.connections[row_id] = ConnectionRow(
            row_id, from_id, str(relation), to_id, _json(metadata), _millis(now)
        )
        return True

    async def remove(self, from_id: int, to_id: int, relation: Relation) -> bool:
        row = self._find(from_id, to_id, relation)
        if row is None:
            return False
        del self._db.connections[row.id]
        return True

    async def exists(self, from_id: int, to_id: int, relation: Relation) -> bool:
        return self._find(from_id, to_id, relation) is not None

    async def targets(self, from_id: int, relation: Relation, limit: int) -> list[int]:
        rows = self._newest(lambda r: (r.from_id, r.relation) == (from_id, relation))
        return [r.to_id for r in rows[:limit]]

    async def sources(self, to_id: int, relation: Relation, limit: int) -> list[int]:
        rows = self._newest(lambda r: (r.to_id, r.relation) == (to_id, relation))
        return [r.from_id for r in rows[:limit]]


class FakeCounterRepository(_Repository):
    async def add(self, entity_id: int, name: str, delta: int) -> None:
        self._db.require(entity_id)
        key = (entity_id, str(name))
        self._db.counters[key] = self._db.counters.get(key, 0) + delta

    async def get(self, entity_id: int) -> dict[str, int]:
        return {name: value for (i, name), value in self._db.counters.items() if i == entity_id}

    async def get_many(self, entity_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        wanted = set(entity_ids)
        result: dict[int, dict[str, int]] = {}
        for (entity_id, name), value in self._db.counters.items():
            if entity_id in wanted:
                result.setdefault(entity_id, {})[name] = value
        return result


class FakeEventRepository(_Repository):
    async def add(
        self,
        entity_id: int,
        type: str,
        actor_type: str,
        actor_id: int | None,
        metadata: Mapping[str, Any],
        at: datetime,
    ) -> int:
        self._db.require(entity_id, actor_id)
        event_id = self._db.next_id("events")
        actor = ActorType(actor_type)
        self._db.events[event_id] = Event(
            event_id, entity_id, str(type), _millis(at), actor, actor_id, _json(metadata)
        )
        return event_id

    async def latest(self, entity_id: int, limit: int) -> list[Event]:
        mine = [e for e in self._db.events.values() if e.entity_id == entity_id]
        mine.sort(key=lambda e: (e.at, e.id), reverse=True)
        return [replace(e, metadata=copy.deepcopy(e.metadata)) for e in mine[:limit]]


class FakeUnitOfWork:
    """Implements ``core.ports.UnitOfWork`` over a staged copy of a :class:`FakeStore`."""

    identities: FakeIdentityRepository
    entities: FakeEntityRepository
    connections: FakeConnectionRepository
    counters: FakeCounterRepository
    events: FakeEventRepository

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
