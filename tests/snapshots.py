"""A snapshot of every table, to prove that a refused command wrote nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from adapters.db.schema import metadata
from bot.bootstrap import App

SnapshotFn = Callable[[], Awaitable[dict[str, list[tuple[object, ...]]]]]


def make_snapshot(app: App) -> SnapshotFn:
    async def snapshot() -> dict[str, list[tuple[object, ...]]]:
        assert app.database is not None
        tables: dict[str, list[tuple[object, ...]]] = {}
        async with app.database.engine.connect() as conn:
            for table in metadata.sorted_tables:
                rows = await conn.execute(select(table))
                tables[table.name] = sorted((tuple(map(repr, row)) for row in rows), key=str)
        return tables

    return snapshot


@pytest.fixture
def snapshot(sqlite_app: App) -> SnapshotFn:
    return make_snapshot(sqlite_app)
