"""The fake repositories: ``core.ports``' repositories over the tables of a :class:`FakeStore`."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.model import (
    ActorType,
    Counter,
    Entity,
    EntityType,
    Event,
    Identity,
    NewEvent,
    Relation,
    Status,
)
from tests.fakes.store import ConnectionRow, FakeStore, IdentityRow, json_round_trip, to_millis


class _Repository:
    def __init__(self, db: FakeStore) -> None:
        self._db = db


def _copy(entity: Entity, db: FakeStore) -> Entity:
    """The entity as a repository returns it: a copy, with its counts read alongside."""
    counts = {name: value for (i, name), value in db.counters.items() if i == entity.id}
    return replace(entity, properties=copy.deepcopy(entity.properties), counts=counts)


class FakeIdentityRepository(_Repository):
    async def find(self, platform: str, platform_user_id: str) -> Identity | None:
        row = self._db.identities.get((platform, platform_user_id))
        if row is None:
            return None
        return Identity(row.user_id, row.chat_id, reachable=row.unreachable_at is None)

    async def add(
        self, platform: str, platform_user_id: str, user_id: int, chat_id: str | None, now: datetime
    ) -> bool:
        self._db.require(user_id)
        if (platform, platform_user_id) in self._db.identities:
            return False
        self._db.identities[platform, platform_user_id] = IdentityRow(
            user_id, chat_id, to_millis(now)
        )
        return True

    async def of_person(self, user_id: int) -> list[tuple[str, Identity]]:
        rows = [(k[0], r) for k, r in self._db.identities.items() if r.user_id == user_id]
        rows.sort(key=lambda item: item[1].created_at, reverse=True)
        return [
            (platform, Identity(r.user_id, r.chat_id, reachable=r.unreachable_at is None))
            for platform, r in rows
        ]

    async def of_people(self, user_ids: Sequence[int]) -> dict[int, list[tuple[str, Identity]]]:
        found = {user_id: await self.of_person(user_id) for user_id in set(user_ids)}
        return {user_id: chats for user_id, chats in found.items() if chats}

    async def move(self, from_user_id: int, to_user_id: int) -> int:
        self._db.require(to_user_id)
        moved = 0
        for key, row in list(self._db.identities.items()):
            if row.user_id == from_user_id:
                self._db.identities[key] = replace(row, user_id=to_user_id)
                moved += 1
        return moved

    async def set_reachable(
        self, platform: str, chat_id: str, reachable: bool, now: datetime
    ) -> list[int]:
        users = []
        for key, row in self._db.identities.items():
            if key[0] == platform and row.chat_id == chat_id:
                at = None if reachable else to_millis(now)
                self._db.identities[key] = replace(row, unreachable_at=at)
                users.append(row.user_id)
        return users

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
        props = json_round_trip(properties)
        email = props.get("email")
        for other in self._db.entities.values():
            if handle is not None and (other.type, other.handle) == (type, handle):
                return None
            both_creators = type == other.type == EntityType.CREATOR
            if both_creators and email is not None and other.properties.get("email") == email:
                return None
        entity_id = self._db.next_id("entities")
        at = to_millis(now)
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
        return _copy(entity, self._db) if entity else None

    async def get_many(self, entity_ids: Sequence[int]) -> dict[int, Entity]:
        return {
            i: _copy(self._db.entities[i], self._db)
            for i in set(entity_ids)
            if i in self._db.entities
        }

    async def by_handle(self, type: EntityType, handle: str) -> Entity | None:
        for entity in self._db.entities.values():
            if (entity.type, entity.handle) == (type, handle):
                return _copy(entity, self._db)
        return None

    async def all_of_type(self, type: EntityType) -> list[Entity]:
        found = [e for e in self._db.entities.values() if e.type == type]
        return [_copy(e, self._db) for e in sorted(found, key=lambda e: e.id)]

    async def handles_starting_with(
        self, type: EntityType, prefix: str, limit: int | None = None
    ) -> set[str]:
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the same range as the SQL
        found = sorted(
            e.handle
            for e in self._db.entities.values()
            if e.type == type and e.handle is not None and prefix <= e.handle < upper
        )
        return set(found if limit is None else found[:limit])

    async def creator_by_email(self, email: str) -> int | None:
        for entity in self._db.entities.values():
            if entity.type == EntityType.CREATOR and entity.properties.get("email") == email:
                return entity.id
        return None

    async def update(self, entity_id: int, properties: Mapping[str, Any], now: datetime) -> None:
        entity = self._db.entities.get(entity_id)
        if entity is not None:
            self._db.entities[entity_id] = replace(
                entity, properties=json_round_trip(properties), updated_at=to_millis(now)
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
        return [_copy(e, self._db) for e in found[:limit]]


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
        if relation in (Relation.OWNS, Relation.ISSUED) and any(
            c.from_id == from_id and c.relation == relation for c in self._db.connections.values()
        ):
            return False  # the partial unique indexes: one creator per owner, one token each
        row_id = self._db.next_id("connections")
        self._db.connections[row_id] = ConnectionRow(
            row_id, from_id, str(relation), to_id, json_round_trip(metadata), to_millis(now)
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

    async def relations(self, from_id: int, to_id: int) -> set[Relation]:
        return {r for r in Relation if self._find(from_id, to_id, r) is not None}

    async def targets(self, from_id: int, relation: Relation, limit: int) -> list[int]:
        rows = self._newest(lambda r: (r.from_id, r.relation) == (from_id, relation))
        return [r.to_id for r in rows[:limit]]

    async def sources(self, to_id: int, relation: Relation, limit: int) -> list[int]:
        rows = self._newest(lambda r: (r.to_id, r.relation) == (to_id, relation))
        return [r.from_id for r in rows[:limit]]


class FakeCounterRepository(_Repository):
    async def add(self, entity_id: int, name: str, delta: int) -> int:
        self._db.require(entity_id)
        key = (entity_id, str(name))
        self._db.counters[key] = self._db.counters.get(key, 0) + delta
        return self._db.counters[key]


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
            event_id,
            entity_id,
            str(type),
            to_millis(at),
            actor,
            actor_id,
            json_round_trip(metadata),
        )
        return event_id

    async def add_many(self, new: Sequence[NewEvent], at: datetime) -> None:
        for event in new:
            await self.add(
                event.entity_id,
                event.type,
                event.actor_type,
                event.actor_id,
                event.metadata,
                at,
            )

    async def latest(self, entity_id: int, limit: int) -> list[Event]:
        mine = [e for e in self._db.events.values() if e.entity_id == entity_id]
        mine.sort(key=lambda e: (e.at, e.id), reverse=True)
        return [replace(e, metadata=copy.deepcopy(e.metadata)) for e in mine[:limit]]

    async def of_actor(
        self,
        entity_id: int,
        type: str,
        actor_id: int,
        limit: int,
        since: datetime | None = None,
    ) -> list[Event]:
        mine = [
            e
            for e in self._db.events.values()
            if e.entity_id == entity_id
            and e.actor_id == actor_id
            and e.type == type
            and (since is None or e.at >= to_millis(since))
        ]
        mine.sort(key=lambda e: (e.at, e.id), reverse=True)
        return [replace(e, metadata=copy.deepcopy(e.metadata)) for e in mine[:limit]]
