"""A snapshot of every table, to prove that a refused command wrote nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import Connection, select

from adapters.db.schema import metadata
from bot.bootstrap import App

SnapshotFn = Callable[[], Awaitable[dict[str, list[tuple[object, ...]]]]]


def make_snapshot(app: App) -> SnapshotFn:
    async def snapshot() -> dict[str, list[tuple[object, ...]]]:
        assert app.database is not None

        def read(conn: Connection) -> dict[str, list[tuple[object, ...]]]:
            return {
                table.name: sorted(
                    (tuple(map(repr, row)) for row in conn.execute(select(table))), key=str
                )
                for table in metadata.sorted_tables
            }

        return await app.database.execute(read)

    return snapshot


@pytest.fixture
def snapshot(sqlite_app: App) -> SnapshotFn:
    return make_snapshot(sqlite_app)
