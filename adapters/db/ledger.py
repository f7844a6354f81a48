"""The ``ledger`` (append-only movements) and ``holdings`` (their sums) tables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from adapters.db.engine import Session
from adapters.db.schema import holdings, ledger
from adapters.db.sql import insert_for, prepared, to_millis

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
_ALL = (
    select(_h.holder_id, _h.token_id, _h.balance)
    .where(_h.balance > 0)
    .order_by(_h.holder_id, _h.token_id)
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
    ) -> bool:
        row = {
            "token_id": token_id,
            "holder_id": holder_id,
            "amount": amount,
            "kind": kind,
            "reference": reference,
            "metadata": dict(metadata),
            "created_at": to_millis(now),
        }

        def work(conn: Connection) -> bool:
            stmt = prepared(conn, "ledger.append", _append)
            return conn.execute(stmt, row).scalar_one_or_none() is not None

        return await self._s.run(work)

    async def adjust(self, holder_id: int, token_id: int, delta: int) -> int | None:
        params = {"holder": holder_id, "token": token_id, "delta": delta}

        def work(conn: Connection) -> int | None:
            if delta < 0:
                return conn.execute(_DEBIT, params).scalar_one_or_none()
            row = {"holder_id": holder_id, "token_id": token_id, "balance": delta}
            return int(conn.execute(prepared(conn, "holdings.credit", _credit), row).scalar_one())

        return await self._s.run(work)

    async def holdings(self, holder_id: int) -> dict[int, int]:
        rows = await self._s.run(lambda c: c.execute(_OF_HOLDER, {"holder": holder_id}).all())
        return {token_id: balance for token_id, balance in rows}

    async def all_holdings(self) -> list[tuple[int, int, int]]:
        rows = await self._s.run(lambda c: c.execute(_ALL).all())
        return [(holder, token, balance) for holder, token, balance in rows]
