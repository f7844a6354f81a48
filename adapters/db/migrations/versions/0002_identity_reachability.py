"""Identities remember when their chat refused delivery (blocked the bot, left the group).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column: a plain ALTER TABLE on both engines, no table copy.
    op.add_column("identities", sa.Column("unreachable_at", sa.BigInteger(), nullable=True))
    op.create_index("ix_identities_chat", "identities", ["platform", "chat_id"])


def downgrade() -> None:
    op.drop_index("ix_identities_chat", "identities")
    op.drop_column("identities", "unreachable_at")
