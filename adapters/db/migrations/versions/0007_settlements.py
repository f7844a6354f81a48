"""Chain settlement: ledger movements the chain does not have yet, netted into settlements.

``ledger.settle_later`` marks a movement made without a chain transaction; a ``settlements``
row nets such movements of one holder in one token into one mint or burn, and
``ledger.settlement_id`` ties each movement to it. Partial indexes keep the movements still to
batch and the settlements still to apply a small index search, however long the ledger grows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# As adapters/db/schema.py words them: a partial index only serves queries that say the same.
UNSETTLED = sa.text("settle_later AND settlement_id IS NULL")
OPEN = sa.text("state = 'open'")


def upgrade() -> None:
    op.create_table(
        "settlements",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("holder_id", ID, sa.ForeignKey("entities.id"), nullable=False),
        sa.Column("token_id", ID, sa.ForeignKey("entities.id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column("tx_hash", sa.String(80)),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("settled_at", sa.BigInteger()),
    )
    op.create_index(
        "ix_settlements_open", "settlements", ["id"], sqlite_where=OPEN, postgresql_where=OPEN
    )
    # Plain ALTER TABLE … ADD COLUMN on both engines (no table rebuild on SQLite): existing
    # movements were all made on chain first.
    op.add_column(
        "ledger",
        sa.Column("settle_later", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "ledger",
        sa.Column("settlement_id", ID, sa.ForeignKey("settlements.id")),
        inline_references=True,
    )
    op.create_index(
        "ix_ledger_unsettled",
        "ledger",
        ["id"],
        sqlite_where=UNSETTLED,
        postgresql_where=UNSETTLED,
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_unsettled", table_name="ledger")
    # ALTER TABLE … DROP COLUMN (SQLite 3.35 or later); no table rebuild.
    op.drop_column("ledger", "settlement_id")
    op.drop_column("ledger", "settle_later")
    op.drop_index("ix_settlements_open", table_name="settlements")
    op.drop_table("settlements")
