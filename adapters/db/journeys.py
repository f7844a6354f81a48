"""The ``journey_runs`` table (core/journeys.py), and the lease that claims due rows of it and
of the ``outbox``."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    RowMapping,
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
    ) -> list[RowMapping]:
        """The rows taken, oldest due first. Their ``column`` may still read as before: it is
        ``lease_until`` now (to whole milliseconds)."""
        if limit <= 0:
            return []
        lease = to_millis(lease_until)
        params = {"now": to_millis(now), "limit": limit, "lease": lease}
        if conn.dialect.name == "postgresql":
            taken = conn.execute(self._claim, params).mappings().all()
            return sorted(taken, key=lambda r: (r["due"], r["id"]))
        rows = conn.execute(self._pick, params).mappings().all()
        if rows:
            conn.execute(self._take, {"ids": [row["id"] for row in rows], "lease": lease})
        return list(rows)


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
_STATES = {state.value: state for state in RunState}
_CLAIM = Lease(journey_runs, _j.next_run_at, active_runs)
_STOPPED = select(_j.fan_id).where(
    _j.creator_id == bindparam("creator"),
    _j.fan_id.in_(bindparam("fans", expanding=True)),
    _j.state == RunState.STOPPED.value,
)
_HOLD = (
    select(journey_runs)
    .where(_j.id.in_(bindparam("ids", expanding=True)))
    .order_by(_j.id)  # locks taken in one order: two holders cannot deadlock
    .with_for_update()  # PostgreSQL; SQLite renders nothing (its writers take turns)
)
_SAVE = (
    update(journey_runs)
    .where(_j.id == bindparam("rid"))
    .values({n: bindparam(f"v_{n}") for n in (*sorted(_MUTABLE), "updated_at")})
)


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


def _run(row: Mapping[Any, Any], due: datetime | None = None) -> JourneyRun:
    """``due``: the run's next_run_at when the row read is older (a lease just taken)."""
    if due is None and row["next_run_at"] is not None:
        due = from_millis(row["next_run_at"])
    return JourneyRun(
        id=row["id"],
        fan_id=row["fan_id"],
        creator_id=row["creator_id"],
        step=row["step"],
        state=_STATES[row["state"]],
        next_run_at=due,
        attempts=row["attempts"],
        data=row["data"],  # a new dict per read: the JSON type parses it
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
        leased = from_millis(to_millis(lease_until))
        return [_run(row, leased) for row in rows]

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

    async def stopped(self, creator_id: int, fan_ids: Sequence[int]) -> set[int]:
        if not fan_ids:
            return set()
        params = {"creator": creator_id, "fans": list(fan_ids)}
        return set(await self._s.run(lambda c: c.execute(_STOPPED, params).scalars().all()))

    async def hold(self, run_ids: Sequence[int]) -> list[JourneyRun]:
        if not run_ids:
            return []
        params = {"ids": list(run_ids)}
        rows = await self._s.run(lambda c: c.execute(_HOLD, params).mappings().all())
        return [_run(row) for row in rows]

    async def save(self, runs: Sequence[JourneyRun], now: datetime) -> None:
        if not runs:
            return
        millis = to_millis(now)
        rows = [
            {
                "rid": run.id,
                "v_step": run.step,
                "v_state": RunState(run.state).value,
                "v_next_run_at": _stored("next_run_at", run.next_run_at),
                "v_attempts": run.attempts,
                "v_data": dict(run.data),
                "v_updated_at": millis,
            }
            for run in runs
        ]
        await self._s.run(lambda c: c.execute(_SAVE, rows))

    async def due_count(self, now: datetime) -> int:
        params = {"now": to_millis(now)}
        return int(await self._s.run(lambda c: c.execute(_DUE_COUNT, params).scalar_one()))
