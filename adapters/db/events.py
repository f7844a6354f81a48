"""The append-only ``events`` table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db.schema import events
from adapters.db.sql import from_millis, to_millis
from core.model import ActorType, Event

_c = events.c


class SqlEventRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self,
        entity_id: int,
        type: str,
        actor_type: str,
        actor_id: int | None,
        metadata: Mapping[str, Any],
        at: datetime,
    ) -> int:
        stmt = (
            insert(events)
            .values(
                entity_id=entity_id,
                event_type=type,
                timestamp=to_millis(at),
                actor_type=actor_type,
                actor_id=actor_id,
                metadata=dict(metadata),
            )
            .returning(_c.id)
        )
        return int((await self._conn.execute(stmt)).scalar_one())

    async def latest(self, entity_id: int, limit: int) -> list[Event]:
        stmt = (
            select(events)
            .where(_c.entity_id == entity_id)
            .order_by(_c.timestamp.desc(), _c.id.desc())
            .limit(limit)
        )
        return [
            Event(
                id=row.id,
                entity_id=row.entity_id,
                type=row.event_type,
                at=from_millis(row.timestamp),
                actor_type=ActorType(row.actor_type),
                actor_id=row.actor_id,
                metadata=dict(row.metadata),
            )
            for row in await self._conn.execute(stmt)
        ]
