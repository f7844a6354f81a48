"""The ``entities`` table, and the niche index beside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db.schema import counters, creator_email, creator_niches, creator_rows, entities
from adapters.db.sql import from_millis, insert_for, to_millis
from core.model import Counter, Entity, EntityType, Status

_ENTITY_COLUMNS = (
    entities.c.id,
    entities.c.type,
    entities.c.handle,
    entities.c.name,
    entities.c.properties,
    entities.c.status,
    entities.c.created_at,
    entities.c.updated_at,
)


def _entity(row: Any) -> Entity:
    return Entity(
        id=row.id,
        type=EntityType(row.type),
        handle=row.handle,
        name=row.name,
        properties=dict(row.properties),
        status=Status(row.status),
        created_at=from_millis(row.created_at),
        updated_at=from_millis(row.updated_at),
    )


class SqlEntityRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self,
        type: EntityType,
        name: str,
        handle: str | None,
        properties: Mapping[str, Any],
        now: Any,
    ) -> int | None:
        millis = to_millis(now)
        stmt = (
            insert_for(self._conn, entities)
            .values(
                type=str(type),
                handle=handle,
                name=name,
                properties=dict(properties),
                status=str(Status.ACTIVE),
                created_at=millis,
                updated_at=millis,
            )
            .on_conflict_do_nothing()
            .returning(entities.c.id)
        )
        return (await self._conn.execute(stmt)).scalar_one_or_none()

    async def delete(self, entity_id: int) -> None:
        await self._conn.execute(delete(entities).where(entities.c.id == entity_id))

    async def get(self, entity_id: int) -> Entity | None:
        row = (
            await self._conn.execute(select(*_ENTITY_COLUMNS).where(entities.c.id == entity_id))
        ).first()
        return _entity(row) if row else None

    async def get_many(self, entity_ids: Sequence[int]) -> dict[int, Entity]:
        if not entity_ids:
            return {}
        rows = await self._conn.execute(
            select(*_ENTITY_COLUMNS).where(entities.c.id.in_(set(entity_ids)))
        )
        return {row.id: _entity(row) for row in rows}

    async def by_handle(self, type: EntityType, handle: str) -> Entity | None:
        row = (
            await self._conn.execute(
                select(*_ENTITY_COLUMNS).where(
                    entities.c.type == str(type), entities.c.handle == handle
                )
            )
        ).first()
        return _entity(row) if row else None

    async def handles_starting_with(self, type: EntityType, prefix: str) -> set[str]:
        # A range on the (type, handle) index rather than LIKE, whose wildcards and collation
        # differ between engines. Handles are [a-z0-9_], so bumping the last char bounds it.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = await self._conn.execute(
            select(entities.c.handle).where(
                entities.c.type == str(type),
                entities.c.handle >= prefix,
                entities.c.handle < upper,
            )
        )
        return {handle for (handle,) in rows}

    async def creator_by_email(self, email: str) -> int | None:
        stmt = select(entities.c.id).where(creator_email == email, creator_rows)
        return (await self._conn.execute(stmt)).scalar_one_or_none()

    async def update(self, entity_id: int, properties: Mapping[str, Any], now: Any) -> None:
        await self._conn.execute(
            update(entities)
            .where(entities.c.id == entity_id)
            .values(properties=dict(properties), updated_at=to_millis(now))
        )

    async def set_niches(self, creator_id: int, niches: Sequence[str]) -> None:
        await self._conn.execute(
            delete(creator_niches).where(creator_niches.c.creator_id == creator_id)
        )
        if niches:
            await self._conn.execute(
                insert(creator_niches),
                [{"niche": niche, "creator_id": creator_id} for niche in niches],
            )

    async def discover_creators(
        self, niche: str | None, status: Status, limit: int
    ) -> list[Entity]:
        # Walk the followers counter index from the top and stop after `limit` matches.
        stmt = (
            select(*_ENTITY_COLUMNS)
            .select_from(counters.join(entities, entities.c.id == counters.c.entity_id))
            .where(
                counters.c.name == str(Counter.FOLLOWERS),
                entities.c.type == str(EntityType.CREATOR),
                entities.c.status == str(status),
            )
            .order_by(counters.c.value.desc(), counters.c.entity_id)
            .limit(limit)
        )
        if niche is not None:
            stmt = stmt.where(
                exists().where(
                    and_(
                        creator_niches.c.creator_id == entities.c.id,
                        creator_niches.c.niche == niche,
                    )
                )
            )
        return [_entity(row) for row in await self._conn.execute(stmt)]
