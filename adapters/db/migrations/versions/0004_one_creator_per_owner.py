"""A person owns at most one creator: a partial unique index, so concurrent /register calls by
the same person cannot both succeed (the service's check alone is read-then-write).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from adapters.db.schema import owns_rows

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "uq_connections_one_owned",
        "connections",
        ["from_entity_id"],
        unique=True,
        sqlite_where=owns_rows,
        postgresql_where=owns_rows,
    )


def downgrade() -> None:
    op.drop_index("uq_connections_one_owned", "connections")
