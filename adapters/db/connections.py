"""The ``connections`` table: one row per (from, relationship, to)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db.schema import connections
from adapters.db.sql import insert_for, to_millis
from core.model import Relation

_c = connections.c


class SqlConnectionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self,
        from_id: int,
        to_id: int,
        relation: Relation,
        metadata: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        millis = to_millis(now)
        stmt = (
            insert_for(self._conn, connections)
            .values(
                from_entity_id=from_id,
                to_entity_id=to_id,
                relationship_type=str(relation),
                metadata=dict(metadata),
                created_at=millis,
                updated_at=millis,
            )
            .on_conflict_do_nothing(
                index_elements=[_c.from_entity_id, _c.relationship_type, _c.to_entity_id]
            )
            .returning(_c.id)
        )
        return (await self._conn.execute(stmt)).scalar_one_or_none() is not None

    async def remove(self, from_id: int, to_id: int, relation: Relation) -> bool:
        stmt = (
            delete(connections)
            .where(
                _c.from_entity_id == from_id,
                _c.relationship_type == str(relation),
                _c.to_entity_id == to_id,
            )
            .returning(_c.id)
        )
        return (await self._conn.execute(stmt)).scalar_one_or_none() is not None

    async def exists(self, from_id: int, to_id: int, relation: Relation) -> bool:
        stmt = select(_c.id).where(
            _c.from_entity_id == from_id,
            _c.relationship_type == str(relation),
            _c.to_entity_id == to_id,
        )
        return (await self._conn.execute(stmt)).first() is not None

    async def targets(self, from_id: int, relation: Relation, limit: int) -> list[int]:
        stmt = (
            select(_c.to_entity_id)
            .where(_c.from_entity_id == from_id, _c.relationship_type == str(relation))
            .order_by(_c.id.desc())
            .limit(limit)
        )
        return list((await self._conn.execute(stmt)).scalars())

    async def sources(self, to_id: int, relation: Relation, limit: int) -> list[int]:
        stmt = (
            select(_c.from_entity_id)
            .where(_c.to_entity_id == to_id, _c.relationship_type == str(relation))
            .order_by(_c.id.desc())
            .limit(limit)
        )
        return list((await self._conn.execute(stmt)).scalars())
