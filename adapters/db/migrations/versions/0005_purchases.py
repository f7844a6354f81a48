"""The token-purchase saga (``purchases``), processed provider events, early reversals.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "purchases",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("fan_id", ID, sa.ForeignKey("entities.id"), nullable=False),
        sa.Column("token_id", ID, sa.ForeignKey("entities.id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rail", sa.String(16)),
        sa.Column("payment_ref", sa.String(255)),
        sa.Column("payer", sa.String(64)),
        sa.Column("paid_currency", sa.String(8)),
        sa.Column("paid_amount", sa.BigInteger()),
        sa.Column("reversal", sa.String(32)),
        sa.Column("clawback_amount", sa.BigInteger()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column("notified", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount > 0 AND price_cents > 0", name="ck_purchases_positive"),
    )
    op.create_index("uq_purchases_payment", "purchases", ["rail", "payment_ref"], unique=True)
    due = sa.text("notified <> state OR (state = 'completed' AND reversal IS NOT NULL)")
    op.create_index("ix_purchases_due", "purchases", ["id"], sqlite_where=due, postgresql_where=due)
    op.create_index("ix_purchases_fan", "purchases", ["fan_id", "created_at"])
    op.create_table(
        "processed_webhooks",
        sa.Column("provider", sa.String(16), primary_key=True),
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )

    op.create_table(
        "held_reversals",
        sa.Column("rail", sa.String(16), primary_key=True),
        sa.Column("payment_ref", sa.String(255), primary_key=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("held_reversals")
    op.drop_table("processed_webhooks")
    op.drop_table("purchases")
