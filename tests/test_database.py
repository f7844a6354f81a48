"""Migrations, constraints and repositories on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import IntegrityError

from adapters.db import migrate
from adapters.db.engine import Database, open_database
from adapters.db.schema import connections, entities, metadata
from adapters.db.unit_of_work import SqlUnitOfWork
from core.model import EntityType, Identity, Relation, Status

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TABLES = {
    *("entities", "connections", "events", "identities", "counters", "creator_niches"),
    *("ledger", "holdings"),
    *("purchases", "processed_webhooks", "held_reversals"),
    "settlements",
    *("journey_runs", "outbox"),
    *("link_codes", "role_gates", "role_grants"),
}
INDEXES = {
    "entities": {"by_type", "uq_entities_type_handle", "uq_creators_email"},
    "connections": {"from_type", "to_type"},
    "events": {"entity_type_time", "entity_time", "entity_actor_type_time"},
    "purchases": {"uq_purchases_payment", "ix_purchases_due", "ix_purchases_fan"},
    "ledger": {"uq_ledger_reference", "ix_ledger_holder_token", "ix_ledger_unsettled"},
    "settlements": {"ix_settlements_open"},
    "journey_runs": {
        "uq_journey_runs_fan_creator",
        "ix_journey_runs_creator",
        "ix_journey_runs_due",
    },
    "outbox": {"uq_outbox_dedupe_key", "ix_outbox_pending", "ix_outbox_batch", "ix_outbox_person"},
}


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = open_database(database_url)
    await migrate.upgrade(db)
    yield db
    await db.dispose()


async def _schema(db: Database) -> tuple[set[str], dict[str, set[str]]]:
    # Catalog queries rather than the inspector, which cannot reflect SQLite expression indexes.
    if db.dialect == "sqlite":
        tables_sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        indexes_sql = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'"
    else:
        tables_sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        indexes_sql = "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'"

    def read(conn: Connection) -> tuple[set[str], dict[str, set[str]]]:
        tables = set(conn.execute(text(tables_sql)).scalars()) - {"alembic_version"}
        indexes: dict[str, set[str]] = {}
        for table, index in conn.execute(text(indexes_sql)):
            indexes.setdefault(table, set()).add(index)
        return tables, indexes

    return await db.execute(read)


async def test_migrations_create_the_schema_and_step_back(database: Database) -> None:
    assert await migrate.current_revision(database) == migrate.head_revision()
    tables, indexes = await _schema(database)
    assert tables == TABLES
    for table, expected in INDEXES.items():
        assert expected <= indexes[table], table

    await migrate.downgrade(database, "base")
    assert await migrate.current_revision(database) is None
    assert (await _schema(database))[0] == set()

    await migrate.upgrade(database)
    assert (await _schema(database))[0] == TABLES


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")
@pytest.mark.filterwarnings("ignore:.*expression-based index:sqlalchemy.exc.SAWarning")
async def test_the_schema_module_matches_the_migrations(database: Database) -> None:
    """adapters/db/schema.py mirrors the head: tables, columns, types, indexes (the partial
    indexes' WHERE and expression indexes are not compared by Alembic)."""
    assert await database.execute(_differences) == []


async def test_upgrade_is_idempotent(database: Database) -> None:
    assert await migrate.upgrade(database) == migrate.head_revision()


def _entity_row(type_: str, handle: str | None, **props: object) -> dict[str, object]:
    return {
        "type": type_,
        "handle": handle,
        "name": handle or "x",
        "properties": props,
        "status": "active",
        "created_at": 0,
        "updated_at": 0,
    }


async def test_constraints_hold_in_the_database_itself(database: Database) -> None:
    def seed(conn: Connection) -> tuple[int, int]:
        ids = [
            conn.execute(insert(entities).values(row).returning(entities.c.id)).scalar_one()
            for row in (_entity_row("user", None), _entity_row("creator", "alice", email="a@x.io"))
        ]
        # The same handle under another type is fine; users may have none at all.
        conn.execute(insert(entities).values(_entity_row("token", "alice")))
        conn.execute(insert(entities).values(_entity_row("user", None)))
        return ids[0], ids[1]

    user_id, creator_id = await database.execute(seed)

    duplicates = [
        (entities, _entity_row("creator", "alice", email="b@x.io")),
        (entities, _entity_row("creator", "alice2", email="a@x.io")),
    ]
    follow = {
        "from_entity_id": user_id,
        "to_entity_id": creator_id,
        "relationship_type": "following",
        "metadata": {},
        "created_at": 0,
        "updated_at": 0,
    }
    await database.execute(lambda conn: conn.execute(insert(connections).values(follow)))
    duplicates.append((connections, follow))
    duplicates.append((connections, {**follow, "to_entity_id": 999_999}))  # foreign key
    for table, row in duplicates:
        with pytest.raises(IntegrityError):
            await database.execute(lambda conn: conn.execute(insert(table).values(row)))  # noqa: B023


async def test_unit_of_work_rolls_back_without_commit(database: Database) -> None:
    async with SqlUnitOfWork(database) as uow:
        await uow.entities.add(EntityType.CREATOR, "Alice", "alice", {"email": "a@x.io"}, NOW)
    async with SqlUnitOfWork(database) as uow:
        assert await uow.entities.by_handle(EntityType.CREATOR, "alice") is None

    async def commit_then_fail() -> None:
        async with SqlUnitOfWork(database) as uow:
            await uow.entities.add(EntityType.CREATOR, "Alice", "alice", {}, NOW)
            await uow.commit()
            raise RuntimeError("after the commit: the work stays")

    with pytest.raises(RuntimeError):
        await commit_then_fail()
    async with SqlUnitOfWork(database) as uow:
        assert await uow.entities.by_handle(EntityType.CREATOR, "alice") is not None


async def test_repositories_round_trip(database: Database) -> None:
    async with SqlUnitOfWork(database) as uow:
        user = await uow.entities.add(EntityType.USER, "Bob", None, {}, NOW)
        creator = await uow.entities.add(
            EntityType.CREATOR, "Zoë 🎨", "zoe", {"email": "z@x.io", "niches": ["art"]}, NOW
        )
        assert user is not None
        assert creator is not None
        assert await uow.entities.add(EntityType.CREATOR, "Other", "zoe", {}, NOW) is None
        assert await uow.entities.creator_by_email("z@x.io") == creator
        assert await uow.identities.add("test", "42", user, "chat-1", NOW)
        assert not await uow.identities.add("test", "42", user, "chat-1", NOW)
        await uow.identities.set_chat("test", "42", "chat-2")
        assert await uow.identities.find("test", "42") == Identity(user, "chat-2", reachable=True)
        assert await uow.identities.set_reachable("test", "chat-2", False, NOW) == [user]
        assert await uow.identities.find("test", "42") == Identity(user, "chat-2", reachable=False)
        assert await uow.connections.add(user, creator, Relation.FOLLOWING, {"via": "x"}, NOW)
        assert not await uow.connections.add(user, creator, Relation.FOLLOWING, {}, NOW)
        assert await uow.connections.targets(user, Relation.FOLLOWING, 10) == [creator]
        assert await uow.connections.sources(creator, Relation.FOLLOWING, 10) == [user]
        assert await uow.counters.add(creator, "followers", 0) == 0
        assert await uow.counters.add(creator, "followers", 1) == 1
        assert await uow.counters.add(creator, "followers", 1) == 2
        zoe = await uow.entities.by_handle(EntityType.CREATOR, "zoe")
        assert zoe is not None
        assert zoe.counts == {"followers": 2}
        await uow.entities.set_niches(creator, ["art", "music"])
        found = await uow.entities.discover_creators("music", Status.ACTIVE, 5)
        assert [e.handle for e in found] == ["zoe"]
        assert await uow.entities.discover_creators("cooking", Status.ACTIVE, 5) == []
        await uow.events.add(creator, "creator_created", "user", user, {"k": "v"}, NOW)
        [event] = await uow.events.latest(creator, 5)
        assert (event.type, event.actor_id, event.metadata, event.at) == (
            "creator_created",
            user,
            {"k": "v"},
            NOW,
        )
        assert await uow.connections.remove(user, creator, Relation.FOLLOWING)
        assert not await uow.connections.remove(user, creator, Relation.FOLLOWING)
        await uow.commit()
    name_of_zoe = select(entities.c.name).where(entities.c.handle == "zoe")
    assert await database.execute(lambda conn: conn.execute(name_of_zoe).scalar_one()) == "Zoë 🎨"


async def test_sqlite_connection_settings(sqlite_db: str) -> None:
    db = open_database(sqlite_db)
    try:
        pragmas = await db.execute(
            lambda conn: {
                name: conn.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
        )
    finally:
        await db.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}
