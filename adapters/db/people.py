"""Identities (platform user → user entity) and the counters kept beside entities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from adapters.db.engine import Session
from adapters.db.schema import counters, identities
from adapters.db.sql import insert_for, to_millis
from core.model import Identity

_i = identities.c
_KEY = (_i.platform == bindparam("p"), _i.platform_user_id == bindparam("u"))
_FIND = select(_i.user_id, _i.chat_id, _i.unreachable_at).where(*_KEY)
_SET_CHAT = update(identities).where(*_KEY).values(chat_id=bindparam("chat"))
_OF_PEOPLE = (
    select(_i.user_id, _i.platform, _i.chat_id, _i.unreachable_at)
    .where(_i.user_id.in_(bindparam("ids", expanding=True)))
    .order_by(_i.user_id, _i.created_at.desc())
)


class SqlIdentityRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def find(self, platform: str, platform_user_id: str) -> Identity | None:
        params = {"p": platform, "u": platform_user_id}
        row = await self._s.run(lambda c: c.execute(_FIND, params).first())
        if row is None:
            return None
        return Identity(row.user_id, row.chat_id, reachable=row.unreachable_at is None)

    async def add(
        self, platform: str, platform_user_id: str, user_id: int, chat_id: str | None, now: datetime
    ) -> bool:
        row = {
            "platform": platform,
            "platform_user_id": platform_user_id,
            "user_id": user_id,
            "chat_id": chat_id,
            "created_at": to_millis(now),
        }

        def work(conn: Connection) -> bool:
            stmt = insert_for(conn, identities).values(row).on_conflict_do_nothing()
            return conn.execute(stmt.returning(_i.user_id)).scalar_one_or_none() is not None

        return await self._s.run(work)

    async def set_chat(self, platform: str, platform_user_id: str, chat_id: str) -> None:
        params = {"p": platform, "u": platform_user_id, "chat": chat_id}
        await self._s.run(lambda c: c.execute(_SET_CHAT, params))

    async def of_person(self, user_id: int) -> list[tuple[str, Identity]]:
        stmt = (
            select(_i.platform, _i.chat_id, _i.unreachable_at)
            .where(_i.user_id == user_id)
            .order_by(_i.created_at.desc())
        )
        rows = await self._s.run(lambda c: c.execute(stmt).all())
        return [
            (row.platform, Identity(user_id, row.chat_id, reachable=row.unreachable_at is None))
            for row in rows
        ]

    async def of_people(self, user_ids: Sequence[int]) -> dict[int, list[tuple[str, Identity]]]:
        found: dict[int, list[tuple[str, Identity]]] = {}
        if not user_ids:
            return found
        params = {"ids": list(user_ids)}
        for row in await self._s.run(lambda c: c.execute(_OF_PEOPLE, params).all()):
            identity = Identity(row.user_id, row.chat_id, reachable=row.unreachable_at is None)
            found.setdefault(row.user_id, []).append((row.platform, identity))
        return found

    async def move(self, from_user_id: int, to_user_id: int) -> int:
        stmt = update(identities).where(_i.user_id == from_user_id).values(user_id=to_user_id)
        return int(await self._s.run(lambda c: c.execute(stmt).rowcount))

    async def set_reachable(
        self, platform: str, chat_id: str, reachable: bool, now: datetime
    ) -> list[int]:
        stmt = (
            update(identities)
            .where(_i.platform == platform, _i.chat_id == chat_id)
            .values(unreachable_at=None if reachable else to_millis(now))
            .returning(_i.user_id)
        )
        return list(await self._s.run(lambda c: c.execute(stmt).scalars().all()))


class SqlCounterRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, entity_id: int, name: str, delta: int) -> int:
        def work(conn: Connection) -> int:
            # One atomic statement: concurrent increments never lose an update.
            stmt = insert_for(conn, counters).values(entity_id=entity_id, name=name, value=delta)
            stmt = stmt.on_conflict_do_update(
                index_elements=[counters.c.entity_id, counters.c.name],
                set_={"value": counters.c.value + stmt.excluded.value},
            ).returning(counters.c.value)
            return int(conn.execute(stmt).scalar_one())

        return await self._s.run(work)
