"""The ``ledger`` (append-only movements) and ``holdings`` (their sums) tables, and the
``settlements`` that carry movements made without a chain transaction onto the chain."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, update

from adapters.db.engine import Session
from adapters.db.schema import (
    holdings,
    ledger,
    open_settlement_rows,
    settlements,
    unsettled_rows,
)
from adapters.db.sql import from_millis, insert_for, prepared, to_millis
from core.settlements import Settlement

_h = holdings.c
_KEY = (_h.holder_id == bindparam("holder"), _h.token_id == bindparam("token"))
# A debit only applies while it leaves the balance at zero or above (the CHECK is a backstop).
_DEBIT = (
    update(holdings)
    .where(*_KEY, _h.balance + bindparam("delta") >= 0)
    .values(balance=_h.balance + bindparam("delta"))
    .returning(_h.balance)
)
_OF_HOLDER = select(_h.token_id, _h.balance).where(
    _h.holder_id == bindparam("holder"), _h.balance > 0
)
_RECORDED = select(ledger.c.id).where(ledger.c.reference == bindparam("reference"))
_ALL = (
    select(_h.holder_id, _h.token_id, _h.balance)
    .where(_h.balance > 0)
    .order_by(_h.holder_id, _h.token_id)
)


_l = ledger.c
_s = settlements.c
# The movements still to batch, oldest first. PostgreSQL: rows another batch has locked are
# skipped, and those taken stay locked until this batch commits. SQLite runs one writer at a
# time (transactions begin IMMEDIATE), and renders no FOR UPDATE.
_UNSETTLED = (
    select(_l.id, _l.holder_id, _l.token_id, _l.amount)
    .where(unsettled_rows)
    .order_by(_l.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_NEW_SETTLEMENT = settlements.insert().returning(_s.id)
# Only movements no batch has taken yet: the row count proves the netted set is the tied one.
_TIE = (
    update(ledger)
    .where(_l.id.in_(bindparam("ids", expanding=True)), _l.settlement_id.is_(None))
    .values(settlement_id=bindparam("settlement"))
)
# Those the chain keeps refusing go last, so they never hold up the ones that can land.
_OPEN = (
    select(settlements)
    .where(open_settlement_rows)
    .order_by(_s.attempts, _s.id)
    .limit(bindparam("limit"))
)
_DONE = (
    update(settlements)
    .where(_s.id == bindparam("sid"), open_settlement_rows)
    .values(state="done", tx_hash=bindparam("tx"), settled_at=bindparam("now"))
    .returning(_s.id)
)
_FAILED = (
    update(settlements)
    .where(_s.id == bindparam("sid"), open_settlement_rows)
    .values(attempts=_s.attempts + 1, last_error=bindparam("error"))
)
# Added up here rather than with GROUP BY, which tempts SQLite to walk all of
# ix_ledger_holder_token for its order instead of the few rows of ix_ledger_unsettled.
_UNSETTLED_AMOUNTS = select(_l.holder_id, _l.token_id, _l.amount).where(unsettled_rows)
_OPEN_SUMS = (
    select(_s.holder_id, _s.token_id, func.sum(_s.amount))
    .where(open_settlement_rows)
    .group_by(_s.holder_id, _s.token_id)
)


def _settlement(row: Row[Any]) -> Settlement:
    return Settlement(
        id=row.id,
        holder_id=row.holder_id,
        token_id=row.token_id,
        amount=row.amount,
        entries=row.entries,
        created_at=from_millis(row.created_at),
        attempts=row.attempts,
    )


def _append(conn: Connection) -> Any:
    return (
        insert_for(conn, ledger)
        .on_conflict_do_nothing(index_elements=[ledger.c.reference])
        .returning(ledger.c.id)
    )


def _credit(conn: Connection) -> Any:
    stmt = insert_for(conn, holdings)
    return stmt.on_conflict_do_update(
        index_elements=[_h.holder_id, _h.token_id],
        set_={"balance": _h.balance + stmt.excluded.balance},
    ).returning(_h.balance)


class SqlLedgerRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def append(
        self,
        token_id: int,
        holder_id: int,
        amount: int,
        kind: str,
        reference: str,
        metadata: Mapping[str, Any],
        now: datetime,
        *,
        settle_later: bool = False,
    ) -> bool:
        row = {
            "token_id": token_id,
            "holder_id": holder_id,
            "amount": amount,
            "kind": kind,
            "reference": reference,
            "metadata": dict(metadata),
            "created_at": to_millis(now),
            "settle_later": settle_later,
        }

        def work(conn: Connection) -> bool:
            stmt = prepared(conn, "ledger.append", _append)
            return conn.execute(stmt, row).scalar_one_or_none() is not None

        return await self._s.run(work)

    async def lock_balance(self, holder_id: int, token_id: int) -> None:
        # An upsert of +0 takes the row lock even when the holder has no row yet (a SELECT …
        # FOR UPDATE would lock nothing then); SQLite's writers are one at a time anyway.
        row = {"holder_id": holder_id, "token_id": token_id, "balance": 0}
        await self._s.run(lambda c: c.execute(prepared(c, "holdings.credit", _credit), row))

    async def adjust(self, holder_id: int, token_id: int, delta: int) -> int | None:
        params = {"holder": holder_id, "token": token_id, "delta": delta}

        def work(conn: Connection) -> int | None:
            if delta < 0:
                return conn.execute(_DEBIT, params).scalar_one_or_none()
            row = {"holder_id": holder_id, "token_id": token_id, "balance": delta}
            return int(conn.execute(prepared(conn, "holdings.credit", _credit), row).scalar_one())

        return await self._s.run(work)

    async def recorded(self, reference: str) -> bool:
        params = {"reference": reference}
        return await self._s.run(lambda c: c.execute(_RECORDED, params).first()) is not None

    async def holdings(self, holder_id: int) -> dict[int, int]:
        rows = await self._s.run(lambda c: c.execute(_OF_HOLDER, {"holder": holder_id}).all())
        return {token_id: balance for token_id, balance in rows}

    async def all_holdings(self) -> list[tuple[int, int, int]]:
        rows = await self._s.run(lambda c: c.execute(_ALL).all())
        return [(holder, token, balance) for holder, token, balance in rows]

    async def batch_unsettled(self, limit: int, now: datetime) -> list[Settlement]:
        millis = to_millis(now)

        def work(conn: Connection) -> list[Settlement]:
            groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
            for entry_id, holder_id, token_id, amount in conn.execute(_UNSETTLED, {"limit": limit}):
                groups.setdefault((holder_id, token_id), []).append((entry_id, amount))
            made = []
            for (holder_id, token_id), entries in groups.items():
                net = sum(amount for _, amount in entries)
                row = {
                    "holder_id": holder_id,
                    "token_id": token_id,
                    "amount": net,
                    "entries": len(entries),
                    "state": "open",
                    "attempts": 0,
                    "created_at": millis,
                }
                settlement_id = conn.execute(_NEW_SETTLEMENT, row).scalar_one()
                ids = [entry_id for entry_id, _ in entries]
                tied = conn.execute(_TIE, {"ids": ids, "settlement": settlement_id}).rowcount
                if tied != len(ids):  # the locks or the single writer make this impossible
                    raise RuntimeError(
                        f"settlement {settlement_id}: {len(ids) - tied} of its {len(ids)} "
                        "movements were taken by another batch"
                    )
                made.append(
                    Settlement(
                        id=settlement_id,
                        holder_id=holder_id,
                        token_id=token_id,
                        amount=net,
                        entries=len(entries),
                        created_at=from_millis(millis),
                    )
                )
            return made

        return await self._s.run(work)

    async def open_settlements(self, limit: int) -> list[Settlement]:
        rows = await self._s.run(lambda c: c.execute(_OPEN, {"limit": limit}).all())
        return [_settlement(row) for row in rows]

    async def settlement_done(self, settlement_id: int, tx: str | None, now: datetime) -> bool:
        params = {"sid": settlement_id, "tx": tx, "now": to_millis(now)}
        return await self._s.run(lambda c: c.execute(_DONE, params).first()) is not None

    async def settlement_failed(self, settlement_id: int, error: str) -> None:
        params = {"sid": settlement_id, "error": error[:500]}
        await self._s.run(lambda c: c.execute(_FAILED, params))

    async def unsettled(self) -> dict[tuple[int, int], int]:
        def work(conn: Connection) -> dict[tuple[int, int], int]:
            totals: dict[tuple[int, int], int] = {}
            for query in (_UNSETTLED_AMOUNTS, _OPEN_SUMS):
                for holder_id, token_id, amount in conn.execute(query):
                    key = (holder_id, token_id)
                    totals[key] = totals.get(key, 0) + int(amount)
            return {key: amount for key, amount in sorted(totals.items()) if amount}

        return await self._s.run(work)
