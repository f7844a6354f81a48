"""The ``outbox`` table: messages waiting for the sender (core/journeys.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal_column, or_, select, update

from adapters.db.engine import Session
from adapters.db.journeys import Lease
from adapters.db.schema import outbox, pending_messages
from adapters.db.sql import from_millis, insert_for, prepared, to_millis
from core.journeys import OutboxItem, OutboxState, QueuedMessage

_o = outbox.c
_CLAIM = Lease(outbox, _o.not_before, pending_messages)
# A delivery is a fact: it is recorded whatever another sender decided meanwhile (one whose
# lease ran out while it was still sending), but only once.
_SENT_MANY = (
    update(outbox)
    .where(_o.id.in_(bindparam("ids", expanding=True)), _o.state != literal_column("'sent'"))
    .values(state=OutboxState.SENT.value, sent_at=bindparam("now"))
)
# The other outcomes only settle a message still pending.
_UNREACHABLE = (
    update(outbox)
    .where(_o.id == bindparam("oid"), pending_messages)
    .values(state=OutboxState.UNREACHABLE.value)
)
_RETRY = (
    update(outbox)
    .where(_o.id == bindparam("oid"), pending_messages)
    .values(
        state=bindparam("state"),
        attempts=_o.attempts + 1,
        last_error=bindparam("error"),
        not_before=bindparam("at"),
    )
)
_BATCH = select(_o.state, func.count()).where(_o.batch == bindparam("batch")).group_by(_o.state)


def _add_many(conn: Connection) -> Any:
    stmt = insert_for(conn, outbox).on_conflict_do_nothing(index_elements=[_o.dedupe_key])
    # asyncpg reports no row count for a batch: the rows queued come back instead (as
    # multi-row VALUES). SQLite's executemany counts them, and is faster.
    return stmt.returning(_o.id) if conn.dialect.name == "postgresql" else stmt


_STATES = {state.value: state for state in OutboxState}


def _item(row: Mapping[Any, Any], not_before: datetime | None = None) -> OutboxItem:
    """``not_before``: the item's, when the row read is older (a lease just taken)."""
    return OutboxItem(
        id=row["id"],
        person_id=row["person_id"],
        dedupe_key=row["dedupe_key"],
        message=row["message"],  # a new dict per read: the JSON type parses it
        state=_STATES[row["state"]],
        attempts=row["attempts"],
        not_before=not_before or from_millis(row["not_before"]),
        batch=row["batch"],
    )


class SqlOutboxRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add_many(self, messages: Sequence[QueuedMessage], now: datetime) -> int:
        if not messages:
            return 0
        millis = to_millis(now)
        rows = []
        for queued in messages:
            at = millis if queued.not_before is None else to_millis(queued.not_before)
            rows.append(
                {
                    "person_id": queued.person_id,
                    "dedupe_key": queued.dedupe_key,
                    "message": dict(queued.message),
                    "state": OutboxState.PENDING.value,
                    "attempts": 0,
                    "not_before": at,
                    "batch": queued.batch,
                    "created_at": millis,
                }
            )

        def work(conn: Connection) -> int:
            done = conn.execute(prepared(conn, "outbox.add_many", _add_many), rows)
            return len(done.all()) if done.returns_rows else done.rowcount

        return await self._s.run(work)

    async def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[OutboxItem]:
        rows = await self._s.run(lambda c: _CLAIM(c, now, limit, lease_until))
        leased = from_millis(to_millis(lease_until))
        return [_item(row, leased) for row in rows]

    async def mark_sent_many(self, item_ids: Sequence[int], now: datetime) -> None:
        if item_ids:
            params = {"ids": list(item_ids), "now": to_millis(now)}
            await self._s.run(lambda c: c.execute(_SENT_MANY, params))

    async def mark_unreachable(self, item_id: int, now: datetime) -> None:
        await self._s.run(lambda c: c.execute(_UNREACHABLE, {"oid": item_id}))

    async def retry_later(self, item_id: int, error: str, at: datetime, *, give_up: bool) -> None:
        state = OutboxState.FAILED if give_up else OutboxState.PENDING
        params = {"oid": item_id, "state": state.value, "error": error[:500], "at": to_millis(at)}
        await self._s.run(lambda c: c.execute(_RETRY, params))

    async def cancel(self, person_id: int, key_prefixes: Sequence[str]) -> int:
        if not key_prefixes:
            return 0
        stmt = (
            update(outbox)
            .where(
                _o.person_id == person_id,
                pending_messages,
                or_(*(_o.dedupe_key.startswith(p, autoescape=True) for p in key_prefixes)),
            )
            .values(state=OutboxState.CANCELLED.value)
        )
        return int(await self._s.run(lambda c: c.execute(stmt).rowcount))

    async def batch_counts(self, batch: str) -> dict[str, int]:
        rows = await self._s.run(lambda c: c.execute(_BATCH, {"batch": batch}).all())
        counts = {state.value: 0 for state in OutboxState}
        counts.update({state: int(count) for state, count in rows})
        return counts
