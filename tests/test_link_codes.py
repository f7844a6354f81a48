"""``link_codes`` on SQLite and PostgreSQL: a code is kept once and works once, also when two
people type it at the same moment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from adapters.db import migrate
from adapters.db.engine import open_database
from adapters.db.unit_of_work import SqlUnitOfWork
from core.linking import LinkCode
from core.model import EntityType

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


async def test_a_code_is_kept_once_and_works_once(database_url: str) -> None:
    db = open_database(database_url)
    await migrate.upgrade(db)
    try:
        async with SqlUnitOfWork(db) as uow:
            bob = await uow.entities.add(EntityType.USER, "Bob", None, {}, T0)
            assert bob is not None
            code = LinkCode("ABCD2345", bob, "telegram", T0 + timedelta(minutes=10))
            assert await uow.link_codes.add(code, T0)
            assert not await uow.link_codes.add(code, T0)  # taken
            await uow.commit()

        async def use() -> LinkCode | None:
            async with SqlUnitOfWork(db) as uow:
                found = await uow.link_codes.use("ABCD2345", T0 + timedelta(minutes=1))
                await uow.commit()
                return found

        first, second = await asyncio.gather(use(), use())
        assert first is not None
        assert second is not None
        # One of them found it unused (and used it); the other found it used.
        assert sorted(f.used_at is None for f in (first, second)) == [False, True]
        assert first.user_id == bob
        assert first.platform == "telegram"
        async with SqlUnitOfWork(db) as uow:
            assert await uow.link_codes.use("NOPE2345", T0) is None
            late = await uow.link_codes.use("ABCD2345", T0 + timedelta(hours=1))
            assert late is not None
            assert late.used_at == T0 + timedelta(minutes=1)
            await uow.commit()
    finally:
        await db.dispose()
