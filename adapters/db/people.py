"""Identities (platform user → user entity) and the counters kept beside entities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db.schema import counters, identities
from adapters.db.sql import insert_for, to_millis


class SqlIdentityRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def find(self, platform: str, platform_user_id: str) -> tuple[int, str | None] | None:
        row = (
            await self._conn.execute(
                select(identities.c.user_id, identities.c.chat_id).where(
                    identities.c.platform == platform,
                    identities.c.platform_user_id == platform_user_id,
                )
            )
        ).first()
        return (row.user_id, row.chat_id) if row else None

    async def add(
        self, platform: str, platform_user_id: str, user_id: int, chat_id: str | None, now: datetime
    ) -> bool:
        stmt = (
            insert_for(self._conn, identities)
            .values(
                platform=platform,
                platform_user_id=platform_user_id,
                user_id=user_id,
                chat_id=chat_id,
                created_at=to_millis(now),
            )
            .on_conflict_do_nothing()
            .returning(identities.c.user_id)
        )
        return (await self._conn.execute(stmt)).scalar_one_or_none() is not None

    async def set_chat(self, platform: str, platform_user_id: str, chat_id: str) -> None:
        await self._conn.execute(
            update(identities)
            .where(
                identities.c.platform == platform,
                identities.c.platform_user_id == platform_user_id,
            )
            .values(chat_id=chat_id)
        )


class SqlCounterRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, entity_id: int, name: str, delta: int) -> None:
        # One atomic statement: concurrent increments never lose an update.
        stmt = insert_for(self._conn, counters).values(entity_id=entity_id, name=name, value=delta)
        stmt = stmt.on_conflict_do_update(
            index_elements=[counters.c.entity_id, counters.c.name],
            set_={"value": counters.c.value + stmt.excluded.value},
        )
        await self._conn.execute(stmt)

    async def get(self, entity_id: int) -> dict[str, int]:
        rows = await self._conn.execute(
            select(counters.c.name, counters.c.value).where(counters.c.entity_id == entity_id)
        )
        return {name: value for name, value in rows}

    async def get_many(self, entity_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        if not entity_ids:
            return {}
        rows = await self._conn.execute(
            select(counters.c.entity_id, counters.c.name, counters.c.value).where(
                counters.c.entity_id.in_(set(entity_ids))
            )
        )
        result: dict[int, dict[str, int]] = {}
        for entity_id, name, value in rows:
            result.setdefault(entity_id, {})[name] = value
        return result
