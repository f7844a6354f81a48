"""The token ledger (append-only, one row per movement, unique reference) and balances.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ledger",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("token_id", ID, sa.ForeignKey("entities.id"), nullable=False),
        sa.Column("holder_id", ID, sa.ForeignKey("entities.id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount <> 0", name="ck_ledger_moves"),
    )
    op.create_index("uq_ledger_reference", "ledger", ["reference"], unique=True)
    op.create_index("ix_ledger_holder_token", "ledger", ["holder_id", "token_id"])
    op.create_table(
        "holdings",
        sa.Column(
            "holder_id", ID, sa.ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "token_id", ID, sa.ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("balance >= 0", name="ck_holdings_never_negative"),
    )


def downgrade() -> None:
    op.drop_table("holdings")
    op.drop_table("ledger")
