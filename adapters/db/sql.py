"""Small shared pieces of the SQL repositories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def to_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def insert_for(conn: Connection, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT on this connection's dialect (SQLite or PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


_BUILT: dict[tuple[str, str], Any] = {}


def prepared(conn: Connection, key: str, build: Callable[[Connection], Any]) -> Any:
    """The statement ``build`` makes, built once per dialect and ``key``, then reused.

    A statement object built per call costs SQLAlchemy a cache-key traversal every time (the
    largest share of a write, by bench/purchases.py); a reused one has its key memoized.
    Parameters go to ``execute`` as bind values.
    """
    slot = (conn.dialect.name, key)
    statement = _BUILT.get(slot)
    if statement is None:
        statement = _BUILT[slot] = build(conn)
    return statement
