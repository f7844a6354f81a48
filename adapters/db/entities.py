"""The ``entities`` table, and the niche index beside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, select, update

from adapters.db.engine import Session
from adapters.db.schema import counters, creator_email, creator_niches, creator_rows, entities
from adapters.db.sql import from_millis, insert_for, to_millis
from core.model import Counter, Entity, EntityType, Status

_e = entities.c
# Each counter rides along as a scalar subquery on its primary key: no extra round trip.
_COUNTS = tuple(
    select(alias.c.value)
    .where(alias.c.entity_id == _e.id, alias.c.name == str(counter))
    .correlate(entities)
    .scalar_subquery()
    .label(f"count_{counter}")
    for counter in Counter
    for alias in [counters.alias(f"count_{counter}_row")]
)
_COLUMNS = (
    *(_e.id, _e.type, _e.handle, _e.name, _e.properties, _e.status),
    *(_e.created_at, _e.updated_at, *_COUNTS),
)

# Built once: SQLAlchemy then only looks the compiled form up in its cache.
_BY_ID = select(*_COLUMNS).where(_e.id == bindparam("id"))
_BY_HANDLE = select(*_COLUMNS).where(_e.type == bindparam("type"), _e.handle == bindparam("h"))
_BY_EMAIL = select(_e.id).where(creator_email == bindparam("email"), creator_rows)
_DISCOVER = (
    select(*_COLUMNS)
    .select_from(counters.join(entities, _e.id == counters.c.entity_id))
    .where(
        counters.c.name == str(Counter.FOLLOWERS),
        _e.type == str(EntityType.CREATOR),
        _e.status == bindparam("status"),
    )
    # Walk the followers counter index from the top and stop after `limit` matches.
    .order_by(counters.c.value.desc(), counters.c.entity_id)
    .limit(bindparam("limit"))
)
_IN_NICHE = exists().where(
    and_(creator_niches.c.creator_id == _e.id, creator_niches.c.niche == bindparam("niche"))
)
_DISCOVER_NICHE = _DISCOVER.where(_IN_NICHE)


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
        counts={
            str(counter): value
            for counter in Counter
            if (value := getattr(row, f"count_{counter}")) is not None
        },
    )


class SqlEntityRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(
        self,
        type: EntityType,
        name: str,
        handle: str | None,
        properties: Mapping[str, Any],
        now: datetime,
    ) -> int | None:
        millis = to_millis(now)
        row = {
            "type": str(type),
            "handle": handle,
            "name": name,
            "properties": dict(properties),
            "status": str(Status.ACTIVE),
            "created_at": millis,
            "updated_at": millis,
        }

        def work(conn: Connection) -> int | None:
            stmt = insert_for(conn, entities).values(row).on_conflict_do_nothing()
            return conn.execute(stmt.returning(_e.id)).scalar_one_or_none()

        return await self._s.run(work)

    async def delete(self, entity_id: int) -> None:
        await self._s.run(lambda c: c.execute(delete(entities).where(_e.id == entity_id)))

    async def get(self, entity_id: int) -> Entity | None:
        row = await self._s.run(lambda c: c.execute(_BY_ID, {"id": entity_id}).first())
        return _entity(row) if row else None

    async def get_many(self, entity_ids: Sequence[int]) -> dict[int, Entity]:
        if not entity_ids:
            return {}
        stmt = select(*_COLUMNS).where(_e.id.in_(set(entity_ids)))
        rows = await self._s.run(lambda c: c.execute(stmt).all())
        return {row.id: _entity(row) for row in rows}

    async def by_handle(self, type: EntityType, handle: str) -> Entity | None:
        params = {"type": str(type), "h": handle}
        row = await self._s.run(lambda c: c.execute(_BY_HANDLE, params).first())
        return _entity(row) if row else None

    async def all_of_type(self, type: EntityType) -> list[Entity]:
        stmt = select(*_COLUMNS).where(_e.type == str(type)).order_by(_e.id)
        return [_entity(row) for row in await self._s.run(lambda c: c.execute(stmt).all())]

    async def handles_starting_with(
        self, type: EntityType, prefix: str, limit: int | None = None
    ) -> set[str]:
        # A range on the (type, handle) index rather than LIKE, whose wildcards and collation
        # differ between engines. Handles are [a-z0-9_], so bumping the last char bounds it.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        stmt = select(_e.handle).where(_e.type == str(type), _e.handle >= prefix, _e.handle < upper)
        if limit is not None:
            stmt = stmt.order_by(_e.handle).limit(limit)
        return set(await self._s.run(lambda c: c.execute(stmt).scalars().all()))

    async def creator_by_email(self, email: str) -> int | None:
        params = {"email": email}
        return await self._s.run(lambda c: c.execute(_BY_EMAIL, params).scalar_one_or_none())

    async def update(self, entity_id: int, properties: Mapping[str, Any], now: datetime) -> None:
        stmt = (
            update(entities)
            .where(_e.id == entity_id)
            .values(properties=dict(properties), updated_at=to_millis(now))
        )
        await self._s.run(lambda c: c.execute(stmt))

    async def set_niches(self, creator_id: int, niches: Sequence[str]) -> None:
        rows = [{"niche": niche, "creator_id": creator_id} for niche in niches]

        def work(conn: Connection) -> None:
            conn.execute(delete(creator_niches).where(creator_niches.c.creator_id == creator_id))
            if rows:
                conn.execute(insert(creator_niches), rows)

        await self._s.run(work)

    async def discover_creators(
        self, niche: str | None, status: Status, limit: int
    ) -> list[Entity]:
        stmt = _DISCOVER if niche is None else _DISCOVER_NICHE
        params: dict[str, object] = {"status": str(status), "limit": limit}
        if niche is not None:
            params["niche"] = niche
        rows = await self._s.run(lambda c: c.execute(stmt, params).all())
        return [_entity(row) for row in rows]
