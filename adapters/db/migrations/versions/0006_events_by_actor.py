"""Events by actor: one person's latest events of a kind on one entity (clone chat history,
daily reward caps) without reading everyone else's.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "entity_actor_type_time",
        "events",
        ["entity_id", "actor_id", "event_type", "timestamp"],
    )


def downgrade() -> None:
    op.drop_index("entity_actor_type_time", table_name="events")
