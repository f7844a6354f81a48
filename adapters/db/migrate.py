"""Applying Alembic migrations to the bot's database (at start-up and by ``one-bot migrate``)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from adapters.db.engine import Database

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Alembic runs a migration through module-level proxies (``alembic.context``, ``alembic.op``):
# two databases migrated at once in one process, each on its own worker thread, would swap
# them under each other (KeyError: 'script' / 'config'). One migration at a time per process.
_ONE_AT_A_TIME = threading.Lock()


def _upgrade(connection: Connection, revision: str) -> None:
    with _ONE_AT_A_TIME:
        command.upgrade(_config(connection), revision)


def _downgrade(connection: Connection, revision: str) -> None:
    with _ONE_AT_A_TIME:
        command.downgrade(_config(connection), revision)


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this code."""
    return ScriptDirectory.from_config(_config()).get_current_head()


async def current_revision(database: Database) -> str | None:
    """The migration the database is at, or None for an empty database."""
    return await database.execute(
        lambda conn: MigrationContext.configure(conn).get_current_revision()
    )


async def upgrade(database: Database, revision: str = "head") -> str | None:
    """Bring the schema to ``revision`` and return the revision it is at afterwards."""
    await database.execute(lambda conn: _upgrade(conn, revision))
    at = await current_revision(database)
    log.info("database schema at revision %s (%s)", at, database.dialect)
    return at


async def downgrade(database: Database, revision: str) -> None:
    """Step the schema back to ``revision`` ("base" empties it)."""
    await database.execute(lambda conn: _downgrade(conn, revision))
