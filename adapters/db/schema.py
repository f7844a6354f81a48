"""The tables of the ONE data model. Alembic migrations create them; this mirrors the head."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
Id = BigInteger().with_variant(Integer(), "sqlite")
# JSONB on PostgreSQL (indexable, compact); JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")
# Milliseconds since the epoch: portable, compact and index-friendly on both engines.
Millis = BigInteger

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

entities = Table(
    "entities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("type", String(32), nullable=False),
    Column("handle", String(64)),
    Column("name", Text, nullable=False),
    Column("properties", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Millis, nullable=False),
    Column("updated_at", Millis, nullable=False),
)


class JsonText(ColumnElement[str]):
    """``column->>'key'`` with the key as a literal, so an expression index can match it.

    SQLAlchemy's ``col["key"]`` sends the key as a bound parameter, which neither SQLite nor
    PostgreSQL can match against an index expression.
    """

    inherit_cache = True
    type = String()
    _traverse_internals = [  # noqa: RUF012 — SQLAlchemy declares it as a plain list
        ("column", InternalTraversal.dp_clauseelement),
        ("key", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[object], key: str) -> None:
        if not key.isidentifier():
            raise ValueError(f"not a plain JSON key: {key!r}")
        self.column = column
        self.key = key


@compiles(JsonText, "sqlite")
def _json_text_sqlite(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_extract({compiler.process(element.column, **kw)}, '$.{element.key}')"


@compiles(JsonText, "postgresql")
def _json_text_postgresql(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.column, **kw)} ->> '{element.key}')"


creator_email = JsonText(entities.c.properties, "email")
# A literal, not a bound parameter, so queries match the partial index's WHERE on both engines.
creator_rows = entities.c.type == literal_column("'creator'")

connections = Table(
    "connections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("from_entity_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("to_entity_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("relationship_type", String(32), nullable=False),
    Column("metadata", Json, nullable=False),
    Column("created_at", Millis, nullable=False),
    Column("updated_at", Millis, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("entity_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("timestamp", Millis, nullable=False),
    Column("actor_type", String(16), nullable=False),
    Column("actor_id", Id, ForeignKey("entities.id", ondelete="SET NULL")),
    Column("metadata", Json, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("platform_user_id", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("chat_id", String(64)),
    Column("created_at", Millis, nullable=False),
    # When the platform last refused delivery to chat_id; NULL while reachable.
    Column("unreachable_at", Millis),
)

# /link: a one-time code joining a person's identity on another platform (core/linking.py).
link_codes = Table(
    "link_codes",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("user_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("expires_at", Millis, nullable=False),
    Column("used_at", Millis),
    Column("created_at", Millis, nullable=False),
)

# Token-gated roles (core/roles.py): a server's role for holders of a creator's token, and the
# roles the bot gave because of them (so that it takes back only what it gave).
role_gates = Table(
    "role_gates",
    metadata,
    Column("space_id", String(32), primary_key=True),
    Column("role_id", String(32), primary_key=True),
    Column("creator_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("token_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("min_tokens", BigInteger, nullable=False),
    Column("created_at", Millis, nullable=False),
)
Index("ix_role_gates_token", role_gates.c.token_id)
role_grants = Table(
    "role_grants",
    metadata,
    Column("space_id", String(32), primary_key=True),
    Column("role_id", String(32), primary_key=True),
    Column("member_id", String(64), primary_key=True),
    Column("granted_at", Millis, nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("entity_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

creator_niches = Table(
    "creator_niches",
    metadata,
    Column("niche", String(64), primary_key=True),
    Column("creator_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True),
)

# Append-only: every token movement once (unique reference), never updated or deleted.
ledger = Table(
    "ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_id", Id, ForeignKey("entities.id"), nullable=False),
    Column("holder_id", Id, ForeignKey("entities.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("reference", String(128), nullable=False),
    Column("metadata", Json, nullable=False),
    Column("created_at", Millis, nullable=False),
    CheckConstraint("amount <> 0", name="ck_ledger_moves"),
)

# The sum of a holder's ledger entries per token, kept in the same transaction.
holdings = Table(
    "holdings",
    metadata,
    Column("holder_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True),
    Column("token_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True),
    Column("balance", BigInteger, nullable=False),
    CheckConstraint("balance >= 0", name="ck_holdings_never_negative"),
)

# The seed's indexes, plus the constraints it forgot (DESIGN.md: Data).
Index("by_type", entities.c.type, entities.c.status)
Index("uq_entities_type_handle", entities.c.type, entities.c.handle, unique=True)
Index(
    "uq_creators_email",
    creator_email,
    unique=True,
    sqlite_where=creator_rows,
    postgresql_where=creator_rows,
)
# Unique (from, type, to): a double follow is impossible even under concurrency; its prefix
# serves the seed's from_type look-ups.
Index(
    "from_type",
    connections.c.from_entity_id,
    connections.c.relationship_type,
    connections.c.to_entity_id,
    unique=True,
)
Index("to_type", connections.c.to_entity_id, connections.c.relationship_type)
for _name, _relation in (
    ("uq_connections_one_owned", "owns"),
    ("uq_connections_one_issued", "issued"),
):
    _only = connections.c.relationship_type == literal_column(f"'{_relation}'")
    Index(
        _name,
        connections.c.from_entity_id,
        unique=True,
        sqlite_where=_only,
        postgresql_where=_only,
    )
Index("entity_type_time", events.c.entity_id, events.c.event_type, events.c.timestamp)
Index("entity_time", events.c.entity_id, events.c.timestamp)
Index(
    "entity_actor_type_time",
    events.c.entity_id,
    events.c.actor_id,
    events.c.event_type,
    events.c.timestamp,
)
Index("ix_identities_user", identities.c.user_id)
Index("ix_identities_chat", identities.c.platform, identities.c.chat_id)
Index("ix_counters_name_value", counters.c.name, counters.c.value)
Index("ix_creator_niches_creator", creator_niches.c.creator_id)
Index("uq_ledger_reference", ledger.c.reference, unique=True)
Index("ix_ledger_holder_token", ledger.c.holder_id, ledger.c.token_id)

# The token-purchase saga (core/purchases.py): one row per /buy, its state and payment.
purchases = Table(
    "purchases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("fan_id", Id, ForeignKey("entities.id"), nullable=False),
    Column("token_id", Id, ForeignKey("entities.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("rail", String(16)),
    Column("payment_ref", String(255)),
    Column("payer", String(64)),
    Column("paid_currency", String(8)),
    Column("paid_amount", BigInteger),
    Column("reversal", String(32)),
    Column("clawback_amount", BigInteger),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(500)),
    Column("notified", String(16), nullable=False),
    Column("created_at", Millis, nullable=False),
    Column("updated_at", Millis, nullable=False),
    CheckConstraint("amount > 0 AND price_cents > 0", name="ck_purchases_positive"),
)

# Provider event ids already processed: a webhook delivered twice changes nothing twice.
processed_webhooks = Table(
    "processed_webhooks",
    metadata,
    Column("provider", String(16), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("created_at", Millis, nullable=False),
)

# A refund or dispute that arrived before its payment was recorded (webhooks come in any
# order): applied when the payment arrives.
held_reversals = Table(
    "held_reversals",
    metadata,
    Column("rail", String(16), primary_key=True),
    Column("payment_ref", String(255), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("created_at", Millis, nullable=False),
)

# One payment pays one purchase; the saga's resume scan reads only unfinished rows.
Index(
    "uq_purchases_payment",
    purchases.c.rail,
    purchases.c.payment_ref,
    unique=True,
)
# Rows a saga step (or a message to the fan) is still owed to: few, however many purchases exist.
purchase_due = (purchases.c.notified != purchases.c.state) | (
    (purchases.c.state == literal_column("'completed'")) & purchases.c.reversal.is_not(None)
)
Index("ix_purchases_due", purchases.c.id, sqlite_where=purchase_due, postgresql_where=purchase_due)
Index("ix_purchases_fan", purchases.c.fan_id, purchases.c.created_at)

# Chain settlement (core/settlements.py): ledger movements made without a chain transaction
# (``settle_later``), netted per holder and token into one mint or burn each.
settlements = Table(
    "settlements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("holder_id", Id, ForeignKey("entities.id"), nullable=False),
    Column("token_id", Id, ForeignKey("entities.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),  # the net: minted > 0, burned < 0, or 0
    Column("entries", Integer, nullable=False),
    Column("state", String(8), nullable=False),  # open | done
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(500)),
    Column("tx_hash", String(80)),
    Column("created_at", Millis, nullable=False),
    Column("settled_at", Millis),
)
# A ledger movement's chain side: settle_later marks one the chain does not have yet (its
# writer made no transaction); settlement_id is set once, when a settlement takes it — the
# only change a ledger row ever sees.
ledger.append_column(
    Column("settle_later", Boolean, nullable=False, server_default=false()),
)
ledger.append_column(Column("settlement_id", Id, ForeignKey("settlements.id")))
# Text, so that queries and the partial indexes render it alike on both engines.
unsettled_rows = text("settle_later AND settlement_id IS NULL")
open_settlement_rows = settlements.c.state == literal_column("'open'")
# The movements still to batch, and the settlements still to apply: few, however long the
# ledger grows.
Index(
    "ix_ledger_unsettled",
    ledger.c.id,
    sqlite_where=unsettled_rows,
    postgresql_where=unsettled_rows,
)
Index(
    "ix_settlements_open",
    settlements.c.id,
    sqlite_where=open_settlement_rows,
    postgresql_where=open_settlement_rows,
)

# The ELEVATE journey (core/journeys.py): one run per fan and creator, the step it is at and
# when that step is due; and the outbox its messages (and broadcasts) wait in for the sender.
journey_runs = Table(
    "journey_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("fan_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("creator_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("step", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("next_run_at", Millis),
    Column("attempts", Integer, nullable=False),
    Column("data", Json, nullable=False),
    Column("created_at", Millis, nullable=False),
    Column("updated_at", Millis, nullable=False),
)
outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", Id, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("dedupe_key", String(255), nullable=False),
    Column("message", Json, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("not_before", Millis, nullable=False),
    Column("last_error", String(500)),
    Column("batch", String(64)),
    Column("created_at", Millis, nullable=False),
    Column("sent_at", Millis),
)
# Literals, so that the claims match the partial indexes' WHERE on both engines.
active_runs = journey_runs.c.state == literal_column("'active'")
pending_messages = outbox.c.state == literal_column("'pending'")
# One run per fan and creator; its prefix serves a fan's runs.
Index("uq_journey_runs_fan_creator", journey_runs.c.fan_id, journey_runs.c.creator_id, unique=True)
Index("ix_journey_runs_creator", journey_runs.c.creator_id)
# Claiming due runs and messages walks these from the oldest due: a range of the few active or
# pending rows, however many finished ones the tables keep. (id orders ties on both engines.)
Index(
    "ix_journey_runs_due",
    journey_runs.c.next_run_at,
    journey_runs.c.id,
    sqlite_where=active_runs,
    postgresql_where=active_runs,
)
Index("uq_outbox_dedupe_key", outbox.c.dedupe_key, unique=True)
Index(
    "ix_outbox_pending",
    outbox.c.not_before,
    outbox.c.id,
    sqlite_where=pending_messages,
    postgresql_where=pending_messages,
)
# A broadcast's progress counts its rows per state from this index alone.
Index("ix_outbox_batch", outbox.c.batch, outbox.c.state)
# A person's messages (and the cascade when a person is deleted) without a scan.
Index("ix_outbox_person", outbox.c.person_id)
