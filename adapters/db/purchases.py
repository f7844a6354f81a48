"""The ``purchases`` table (the purchase saga's state) and ``processed_webhooks``."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, update

from adapters.db.engine import Session
from adapters.db.schema import held_reversals, processed_webhooks, purchase_due, purchases
from adapters.db.sql import from_millis, insert_for, prepared, to_millis
from core.purchases import Purchase, PurchaseState

_p = purchases.c
# The fields a saga step may change (the rest are fixed when the purchase is made).
_MUTABLE = frozenset(
    {
        "state",
        "rail",
        "payment_ref",
        "payer",
        "paid_currency",
        "paid_amount",
        "reversal",
        "clawback_amount",
        "attempts",
        "last_error",
        "notified",
    }
)
_BY_ID = select(purchases).where(_p.id == bindparam("id"))
_BY_PAYMENT = select(purchases).where(
    _p.rail == bindparam("rail"), _p.payment_ref == bindparam("ref")
)
_ADD = purchases.insert().returning(*purchases.c)
_DUE = select(_p.id).where(purchase_due).order_by(_p.id).limit(bindparam("limit"))


@functools.cache
def _update(fields: tuple[str, ...], conditional: bool) -> Any:
    """One statement per set of changed fields, reused (its SQL cache key is memoized)."""
    stmt = update(purchases).where(_p.id == bindparam("pid"))
    if conditional:
        stmt = stmt.where(_p.state == bindparam("expected"))
    values: dict[str, Any] = {n: bindparam(f"v_{n}") for n in (*fields, "updated_at")}
    return stmt.values(values).returning(_p.id)


def _purchase(row: Row[Any]) -> Purchase:
    return Purchase(
        id=row.id,
        fan_id=row.fan_id,
        token_id=row.token_id,
        amount=row.amount,
        price_cents=row.price_cents,
        state=PurchaseState(row.state),
        created_at=from_millis(row.created_at),
        updated_at=from_millis(row.updated_at),
        rail=row.rail,
        payment_ref=row.payment_ref,
        payer=row.payer,
        paid_currency=row.paid_currency,
        paid_amount=row.paid_amount,
        reversal=row.reversal,
        clawback_amount=row.clawback_amount,
        attempts=row.attempts,
        last_error=row.last_error,
        notified=row.notified,
    )


_COMPLETED_SINCE = select(func.sum(purchases.c.amount)).where(
    purchases.c.fan_id == bindparam("fan"),
    purchases.c.created_at >= bindparam("since"),
    purchases.c.token_id == bindparam("token"),
    purchases.c.state == PurchaseState.COMPLETED.value,
)


class SqlPurchaseRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def any_of_fan(self, fan_id: int) -> bool:
        stmt = select(purchases.c.id).where(purchases.c.fan_id == fan_id).limit(1)
        return await self._s.run(lambda c: c.execute(stmt).first()) is not None

    async def add(
        self, fan_id: int, token_id: int, amount: int, price_cents: int, now: datetime
    ) -> Purchase:
        millis = to_millis(now)
        row = {
            "fan_id": fan_id,
            "token_id": token_id,
            "amount": amount,
            "price_cents": price_cents,
            "state": PurchaseState.PENDING.value,
            # Nothing is owed to a pending purchase until a payment arrives.
            "notified": PurchaseState.PENDING.value,
            "attempts": 0,
            "created_at": millis,
            "updated_at": millis,
        }
        return _purchase(await self._s.run(lambda c: c.execute(_ADD, row).one()))

    async def get(self, purchase_id: int, *, for_update: bool = False) -> Purchase | None:
        stmt = _BY_ID.with_for_update() if for_update else _BY_ID
        row = await self._s.run(lambda c: c.execute(stmt, {"id": purchase_id}).first())
        return _purchase(row) if row is not None else None

    async def by_payment(self, rail: str, payment_ref: str) -> Purchase | None:
        params = {"rail": rail, "ref": payment_ref}
        row = await self._s.run(lambda c: c.execute(_BY_PAYMENT, params).first())
        return _purchase(row) if row is not None else None

    async def update(
        self,
        purchase_id: int,
        changes: Mapping[str, Any],
        now: datetime,
        *,
        expected: PurchaseState | None = None,
    ) -> bool:
        unknown = set(changes) - _MUTABLE
        if unknown:
            raise ValueError(f"purchases: cannot change {sorted(unknown)}")
        params = {
            f"v_{k}": v.value if isinstance(v, PurchaseState) else v for k, v in changes.items()
        }
        params["v_updated_at"] = to_millis(now)
        params["pid"] = purchase_id
        if expected is not None:
            params["expected"] = expected.value
        stmt = _update(tuple(sorted(changes)), expected is not None)
        return await self._s.run(lambda c: c.execute(stmt, params).first()) is not None

    async def unfinished(self, limit: int) -> list[int]:
        return list(await self._s.run(lambda c: c.execute(_DUE, {"limit": limit}).scalars().all()))

    async def completed_since(self, fan_id: int, token_id: int, since: datetime) -> int:
        params = {"fan": fan_id, "token": token_id, "since": to_millis(since)}
        total = await self._s.run(lambda c: c.execute(_COMPLETED_SINCE, params).scalar_one())
        return int(total or 0)


def _first_time(conn: Connection) -> Any:
    stmt = insert_for(conn, processed_webhooks).on_conflict_do_nothing()
    return stmt.returning(processed_webhooks.c.event_id)


def _hold(conn: Connection) -> Any:
    return insert_for(conn, held_reversals).on_conflict_do_nothing()


_HELD = select(held_reversals.c.reason).where(
    held_reversals.c.rail == bindparam("rail"), held_reversals.c.payment_ref == bindparam("ref")
)


class SqlWebhookRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def hold_reversal(self, rail: str, payment_ref: str, reason: str, now: datetime) -> None:
        row: dict[str, object] = {"rail": rail, "payment_ref": payment_ref, "reason": reason}
        row["created_at"] = to_millis(now)

        def work(conn: Connection) -> None:
            conn.execute(prepared(conn, "held_reversals.add", _hold), row)

        await self._s.run(work)

    async def held_reversal(self, rail: str, payment_ref: str) -> str | None:
        params = {"rail": rail, "ref": payment_ref}
        found = await self._s.run(lambda c: c.execute(_HELD, params).scalar_one_or_none())
        return None if found is None else str(found)

    async def first_time(self, provider: str, event_id: str, now: datetime) -> bool:
        row = {"provider": provider, "event_id": event_id, "created_at": to_millis(now)}

        def work(conn: Connection) -> bool:
            stmt = prepared(conn, "processed_webhooks.add", _first_time)
            return conn.execute(stmt, row).scalar_one_or_none() is not None

        return await self._s.run(work)
