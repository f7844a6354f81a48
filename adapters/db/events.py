"""The append-only ``events`` table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select

from adapters.db.engine import Session
from adapters.db.schema import events
from adapters.db.sql import from_millis, to_millis
from core.model import ActorType, Event, NewEvent

_c = events.c
_ADD = insert(events).returning(_c.id)
_ADD_MANY = insert(events)
_LATEST = (
    select(events)
    .where(_c.entity_id == bindparam("entity"))
    .order_by(_c.timestamp.desc(), _c.id.desc())
    .limit(bindparam("limit"))
)

_OF_ACTOR = (
    select(events)
    .where(
        _c.entity_id == bindparam("entity"),
        _c.actor_id == bindparam("actor"),
        _c.event_type == bindparam("type"),
        _c.timestamp >= bindparam("since"),
    )
    .order_by(_c.timestamp.desc(), _c.id.desc())
    .limit(bindparam("limit"))
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _event(row: Any) -> Event:
    return Event(
        id=row.id,
        entity_id=row.entity_id,
        type=row.event_type,
        at=from_millis(row.timestamp),
        actor_type=ActorType(row.actor_type),
        actor_id=row.actor_id,
        metadata=dict(row.metadata),
    )


class SqlEventRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(
        self,
        entity_id: int,
        type: str,
        actor_type: str,
        actor_id: int | None,
        metadata: Mapping[str, Any],
        at: datetime,
    ) -> int:
        row = {
            "entity_id": entity_id,
            "event_type": type,
            "timestamp": to_millis(at),
            "actor_type": actor_type,
            "actor_id": actor_id,
            "metadata": dict(metadata),
        }
        return int(await self._s.run(lambda c: c.execute(_ADD, row).scalar_one()))

    async def add_many(self, new: Sequence[NewEvent], at: datetime) -> None:
        if not new:
            return
        millis = to_millis(at)
        rows = [
            {
                "entity_id": event.entity_id,
                "event_type": str(event.type),
                "timestamp": millis,
                "actor_type": str(event.actor_type),
                "actor_id": event.actor_id,
                "metadata": dict(event.metadata),
            }
            for event in new
        ]
        await self._s.run(lambda c: c.execute(_ADD_MANY, rows))

    async def latest(self, entity_id: int, limit: int) -> list[Event]:
        params = {"entity": entity_id, "limit": limit}
        rows = await self._s.run(lambda c: c.execute(_LATEST, params).all())
        return [_event(row) for row in rows]

    async def of_actor(
        self,
        entity_id: int,
        type: str,
        actor_id: int,
        limit: int,
        since: datetime | None = None,
    ) -> list[Event]:
        params = {
            "entity": entity_id,
            "actor": actor_id,
            "type": type,
            "since": to_millis(since or _EPOCH),
            "limit": limit,
        }
        rows = await self._s.run(lambda c: c.execute(_OF_ACTOR, params).all())
        return [_event(row) for row in rows]
