"""One creator per person and one token per creator, in the database itself.

The services check both, but a check is read-then-write: two concurrent /register (or /token)
calls of one person on PostgreSQL could both pass it. Partial unique indexes make the loser's
insert do nothing, and the service then refuses it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RULES = {"uq_connections_one_owned": "owns", "uq_connections_one_issued": "issued"}


def upgrade() -> None:
    connection = op.get_bind()
    for name, relation in RULES.items():
        doubled = (
            connection.execute(
                sa.text(
                    "SELECT from_entity_id FROM connections WHERE relationship_type = :r "
                    "GROUP BY from_entity_id HAVING COUNT(*) > 1"
                ),
                {"r": relation},
            )
            .scalars()
            .all()
        )
        if doubled:
            raise RuntimeError(
                f"cannot add {name}: entities {doubled} have several '{relation}' connections; "
                "keep one each, then migrate again"
            )
        only = sa.column("relationship_type") == sa.literal_column(f"'{relation}'")
        op.create_index(
            name,
            "connections",
            ["from_entity_id"],
            unique=True,
            sqlite_where=only,
            postgresql_where=only,
        )


def downgrade() -> None:
    for name in RULES:
        op.drop_index(name, "connections")
