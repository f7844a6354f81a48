"""ELEVATE journeys (``journey_runs``) and the ``outbox`` their messages wait in.

One run per fan and creator; an outbox row per message, unique by its dedupe key. Partial
indexes on the due time of active runs and pending messages keep claiming the due ones an index
range, however many finished rows the tables keep.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# As adapters/db/schema.py words them: a partial index only serves queries that say the same.
ACTIVE = sa.text("state = 'active'")
PENDING = sa.text("state = 'pending'")


def _person(column: str) -> sa.Column[int]:
    return sa.Column(column, ID, sa.ForeignKey("entities.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "journey_runs",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        _person("fan_id"),
        _person("creator_id"),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("next_run_at", sa.BigInteger()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "uq_journey_runs_fan_creator", "journey_runs", ["fan_id", "creator_id"], unique=True
    )
    op.create_index("ix_journey_runs_creator", "journey_runs", ["creator_id"])
    op.create_index(
        "ix_journey_runs_due",
        "journey_runs",
        ["next_run_at", "id"],
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )

    op.create_table(
        "outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        _person("person_id"),
        sa.Column("dedupe_key", sa.String(255), nullable=False),
        sa.Column("message", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column("batch", sa.String(64)),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.BigInteger()),
    )
    op.create_index("uq_outbox_dedupe_key", "outbox", ["dedupe_key"], unique=True)
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["not_before", "id"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index("ix_outbox_batch", "outbox", ["batch", "state"])
    op.create_index("ix_outbox_person", "outbox", ["person_id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("journey_runs")
