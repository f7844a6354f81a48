"""The ``connections`` table: one row per (from, relationship, to)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select

from adapters.db.engine import Session
from adapters.db.schema import connections
from adapters.db.sql import insert_for, prepared, to_millis
from core.model import Relation

_c = connections.c
_PAIR = (_c.from_entity_id == bindparam("f"), _c.to_entity_id == bindparam("t"))
_RELATIONS = select(_c.relationship_type).where(*_PAIR)
_REMOVE = delete(connections).where(*_PAIR, _c.relationship_type == bindparam("r")).returning(_c.id)
_TARGETS = (
    select(_c.to_entity_id)
    .where(_c.from_entity_id == bindparam("f"), _c.relationship_type == bindparam("r"))
    .order_by(_c.id.desc())
    .limit(bindparam("limit"))
)
_SOURCES = (
    select(_c.from_entity_id)
    .where(_c.to_entity_id == bindparam("t"), _c.relationship_type == bindparam("r"))
    .order_by(_c.id.desc())
    .limit(bindparam("limit"))
)


def _add(conn: Connection) -> Any:
    # Any unique rule: one per (from, type, to), and one creator per owner.
    return insert_for(conn, connections).on_conflict_do_nothing().returning(_c.id)


class SqlConnectionRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(
        self,
        from_id: int,
        to_id: int,
        relation: Relation,
        metadata: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        millis = to_millis(now)
        row = {
            "from_entity_id": from_id,
            "to_entity_id": to_id,
            "relationship_type": str(relation),
            "metadata": dict(metadata),
            "created_at": millis,
            "updated_at": millis,
        }

        def work(conn: Connection) -> bool:
            stmt = prepared(conn, "connections.add", _add)
            return conn.execute(stmt, row).scalar_one_or_none() is not None

        return await self._s.run(work)

    async def remove(self, from_id: int, to_id: int, relation: Relation) -> bool:
        params = {"f": from_id, "t": to_id, "r": str(relation)}
        removed = await self._s.run(lambda c: c.execute(_REMOVE, params).scalar_one_or_none())
        return removed is not None

    async def relations(self, from_id: int, to_id: int) -> set[Relation]:
        params = {"f": from_id, "t": to_id}
        found = await self._s.run(lambda c: c.execute(_RELATIONS, params).scalars().all())
        return {Relation(r) for r in found if r in Relation._value2member_map_}

    async def exists(self, from_id: int, to_id: int, relation: Relation) -> bool:
        return relation in await self.relations(from_id, to_id)

    async def targets(self, from_id: int, relation: Relation, limit: int) -> list[int]:
        params = {"f": from_id, "r": str(relation), "limit": limit}
        return list(await self._s.run(lambda c: c.execute(_TARGETS, params).scalars().all()))

    async def sources(self, to_id: int, relation: Relation, limit: int) -> list[int]:
        params = {"t": to_id, "r": str(relation), "limit": limit}
        return list(await self._s.run(lambda c: c.execute(_SOURCES, params).scalars().all()))
