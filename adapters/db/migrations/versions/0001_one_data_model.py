"""The ONE data model: entities, connections, events, identities, counters, creator niches.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from adapters.db.schema import creator_email, creator_rows

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _fk(column: str, ondelete: str = "CASCADE", nullable: bool = False) -> sa.Column[int]:
    return sa.Column(column, ID, sa.ForeignKey("entities.id", ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("handle", sa.String(64)),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("properties", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("by_type", "entities", ["type", "status"])
    op.create_index("uq_entities_type_handle", "entities", ["type", "handle"], unique=True)
    op.create_index(
        "uq_creators_email",
        "entities",
        [creator_email],
        unique=True,
        sqlite_where=creator_rows,
        postgresql_where=creator_rows,
    )

    op.create_table(
        "connections",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        _fk("from_entity_id"),
        _fk("to_entity_id"),
        sa.Column("relationship_type", sa.String(32), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "from_type",
        "connections",
        ["from_entity_id", "relationship_type", "to_entity_id"],
        unique=True,
    )
    op.create_index("to_type", "connections", ["to_entity_id", "relationship_type"])

    op.create_table(
        "events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        _fk("entity_id"),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        _fk("actor_id", ondelete="SET NULL", nullable=True),
        sa.Column("metadata", JSON, nullable=False),
    )
    op.create_index("entity_type_time", "events", ["entity_id", "event_type", "timestamp"])
    op.create_index("entity_time", "events", ["entity_id", "timestamp"])

    op.create_table(
        "identities",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("platform_user_id", sa.String(64), primary_key=True),
        _fk("user_id"),
        sa.Column("chat_id", sa.String(64)),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_identities_user", "identities", ["user_id"])

    op.create_table(
        "counters",
        sa.Column(
            "entity_id", ID, sa.ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_counters_name_value", "counters", ["name", "value"])

    op.create_table(
        "creator_niches",
        sa.Column("niche", sa.String(64), primary_key=True),
        sa.Column(
            "creator_id", ID, sa.ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_index("ix_creator_niches_creator", "creator_niches", ["creator_id"])


def downgrade() -> None:
    for table in ("creator_niches", "counters", "identities", "events", "connections", "entities"):
        op.drop_table(table)
