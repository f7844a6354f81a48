"""The ``journey_runs`` table (core/journeys.py), and the lease that claims due rows of it and
of the ``outbox``."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Table,
    any_,
    bindparam,
    cast,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from adapters.db.engine import Session
from adapters.db.schema import active_runs, journey_runs
from adapters.db.sql import from_millis, insert_for, prepared, to_millis
from core.journeys import JourneyRun, RunState


class Lease:
    """Takes a table's due rows (``ready`` and ``column <= now``), oldest due first, for a while:
    their ``column`` becomes the lease's end, so nobody takes them again before then.

    PostgreSQL: one statement. A CTE picks the rows ``FOR UPDATE SKIP LOCKED`` (a row another
    transaction is taking is skipped; one it took and committed is no longer due when
    re-checked), the UPDATE moves them and returns them with their due time, to order them by.
    SQLite: writers take turns (transactions begin IMMEDIATE, across processes too), so a select
    and an update in the same transaction, in one hop; SQLite cannot return the columns of an
    UPDATE's FROM, so one statement would lose the order.
    """

    def __init__(self, table: Table, column: Column[Any], ready: ColumnElement[bool]) -> None:
        self.column = column.name
        due = (ready, column <= bindparam("now"))
        order = (column, table.c.id)
        picked = (
            select(table.c.id, column.label("due"))
            .where(*due)
            .order_by(*order)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
            .cte("picked")
        )
        # The ids once more as an array: the rows are then found by primary key; a join alone
        # lets the planner hash a scan of the whole table once the limit is in the hundreds.
        # (A CTE used twice, and locking, is evaluated once: both uses see the same rows.)
        ids = cast(select(func.array_agg(picked.c.id)).scalar_subquery(), ARRAY(BigInteger))
        self._claim = (
            update(table)
            .where(table.c.id == picked.c.id, table.c.id == any_(ids))
            .values({column.name: bindparam("lease")})
            .returning(*table.c, picked.c.due)
        )
        self._pick = select(table).where(*due).order_by(*order).limit(bindparam("limit"))
        self._take = (
            update(table)
            .where(table.c.id.in_(bindparam("ids", expanding=True)))
            .values({column.name: bindparam("lease")})
        )

    def __call__(
        self, conn: Connection, now: datetime, limit: int, lease_until: datetime
    ) -> list[dict[str, Any]]:
        """The rows taken, as they are now (their ``column`` at the lease's end)."""
        if limit <= 0:
            return []
        lease = to_millis(lease_until)
        params = {"now": to_millis(now), "limit": limit, "lease": lease}
        if conn.dialect.name == "postgresql":
            taken = conn.execute(self._claim, params).mappings().all()
            return [dict(row) for row in sorted(taken, key=lambda r: (r["due"], r["id"]))]
        rows = [dict(row) for row in conn.execute(self._pick, params).mappings()]
        if rows:
            conn.execute(self._take, {"ids": [row["id"] for row in rows], "lease": lease})
        for row in rows:
            row[self.column] = lease
        return rows


_j = journey_runs.c
# What a journey step may change (the fan, the creator and created_at are fixed at start).
_MUTABLE = frozenset({"step", "state", "next_run_at", "attempts", "data"})
_BY_ID = select(journey_runs).where(_j.id == bindparam("id"))
_BY_PAIR = select(journey_runs).where(
    _j.fan_id == bindparam("fan"), _j.creator_id == bindparam("creator")
)
_OF_FAN = (
    select(journey_runs)
    .where(_j.fan_id == bindparam("fan"))
    .order_by(_j.created_at.desc(), _j.id.desc())
)
_DUE_COUNT = (
    select(func.count())
    .select_from(journey_runs)
    .where(active_runs, _j.next_run_at <= bindparam("now"))
)
_CLAIM = Lease(journey_runs, _j.next_run_at, active_runs)


def _start(conn: Connection) -> Any:
    return (
        insert_for(conn, journey_runs)
        .on_conflict_do_nothing(index_elements=[_j.fan_id, _j.creator_id])
        .returning(*journey_runs.c)
    )


@functools.cache
def _update(fields: tuple[str, ...], by_step: bool, by_state: bool) -> Any:
    """One statement per set of changed fields and expectations, reused."""
    stmt = update(journey_runs).where(_j.id == bindparam("rid"))
    if by_step:
        stmt = stmt.where(_j.step == bindparam("expected_step"))
    if by_state:
        stmt = stmt.where(_j.state == bindparam("expected_state"))
    values: dict[str, Any] = {n: bindparam(f"v_{n}") for n in (*fields, "updated_at")}
    return stmt.values(values).returning(_j.id)


def _stored(name: str, value: Any) -> Any:
    if name == "state":
        return RunState(value).value
    if name == "next_run_at":
        return None if value is None else to_millis(value)
    if name == "data":
        return dict(value)
    return value


def _run(row: Mapping[Any, Any]) -> JourneyRun:
    due = row["next_run_at"]
    return JourneyRun(
        id=row["id"],
        fan_id=row["fan_id"],
        creator_id=row["creator_id"],
        step=row["step"],
        state=RunState(row["state"]),
        next_run_at=None if due is None else from_millis(due),
        attempts=row["attempts"],
        data=dict(row["data"]),
        created_at=from_millis(row["created_at"]),
        updated_at=from_millis(row["updated_at"]),
    )


class SqlJourneyRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def start(
        self, fan_id: int, creator_id: int, next_run_at: datetime, now: datetime
    ) -> JourneyRun | None:
        millis = to_millis(now)
        row = {
            "fan_id": fan_id,
            "creator_id": creator_id,
            "step": 0,
            "state": RunState.ACTIVE.value,
            "next_run_at": to_millis(next_run_at),
            "attempts": 0,
            "data": {},
            "created_at": millis,
            "updated_at": millis,
        }

        def work(conn: Connection) -> JourneyRun | None:
            made = conn.execute(prepared(conn, "journey_runs.start", _start), row)
            found = made.mappings().first()
            return None if found is None else _run(found)

        return await self._s.run(work)

    async def get(self, run_id: int) -> JourneyRun | None:
        row = await self._s.run(lambda c: c.execute(_BY_ID, {"id": run_id}).mappings().first())
        return None if row is None else _run(row)

    async def find(self, fan_id: int, creator_id: int) -> JourneyRun | None:
        params = {"fan": fan_id, "creator": creator_id}
        row = await self._s.run(lambda c: c.execute(_BY_PAIR, params).mappings().first())
        return None if row is None else _run(row)

    async def of_fan(self, fan_id: int) -> list[JourneyRun]:
        rows = await self._s.run(lambda c: c.execute(_OF_FAN, {"fan": fan_id}).mappings().all())
        return [_run(row) for row in rows]

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[JourneyRun]:
        rows = await self._s.run(lambda c: _CLAIM(c, now, limit, lease_until))
        return [_run(row) for row in rows]

    async def update(
        self,
        run_id: int,
        changes: Mapping[str, Any],
        now: datetime,
        *,
        expected_step: int | None = None,
        expected_state: str | None = None,
    ) -> bool:
        unknown = set(changes) - _MUTABLE
        if unknown:
            raise ValueError(f"journey_runs: cannot change {sorted(unknown)}")
        params = {f"v_{k}": _stored(k, v) for k, v in changes.items()}
        params["v_updated_at"] = to_millis(now)
        params["rid"] = run_id
        if expected_step is not None:
            params["expected_step"] = expected_step
        if expected_state is not None:
            params["expected_state"] = RunState(expected_state).value
        stmt = _update(
            tuple(sorted(changes)), expected_step is not None, expected_state is not None
        )
        return await self._s.run(lambda c: c.execute(stmt, params).first()) is not None

    async def due_count(self, now: datetime) -> int:
        params = {"now": to_millis(now)}
        return int(await self._s.run(lambda c: c.execute(_DUE_COUNT, params).scalar_one()))
