"""Token-gated roles: a creator's gates (a Discord server's role for holders of at least so
many of their tokens) and the roles the bot gave because of them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "role_gates",
        sa.Column("space_id", sa.String(32), primary_key=True),
        sa.Column("role_id", sa.String(32), primary_key=True),
        sa.Column(
            "creator_id", ID, sa.ForeignKey("entities.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("token_id", ID, sa.ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("min_tokens", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_role_gates_token", "role_gates", ["token_id"])
    op.create_table(
        "role_grants",
        sa.Column("space_id", sa.String(32), primary_key=True),
        sa.Column("role_id", sa.String(32), primary_key=True),
        sa.Column("member_id", sa.String(64), primary_key=True),
        sa.Column("granted_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("role_grants")
    op.drop_index("ix_role_gates_token", "role_gates")
    op.drop_table("role_gates")
