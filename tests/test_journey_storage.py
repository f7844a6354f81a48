"""``journey_runs`` and the ``outbox``: the SQL repositories on SQLite and PostgreSQL, and the
fakes (tests/fakes/journeys.py) held to the same behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, insert, text

from adapters.db import migrate
from adapters.db.engine import Database, open_database
from adapters.db.schema import entities, journey_runs, outbox
from adapters.db.sql import to_millis
from adapters.db.unit_of_work import SqlUnitOfWork
from core.journeys import JourneyRun, OutboxState, QueuedMessage, RunState
from core.model import EntityType
from core.ports import UnitOfWorkFactory
from tests.conftest import fresh_postgres_database, sqlite_url
from tests.fakes import FakeStore, FakeUnitOfWork

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
LEASE = timedelta(minutes=5)


async def queue(
    uow: Any, person: int, key: str, message: dict[str, Any], at: datetime, **more: Any
) -> bool:
    """One message into the outbox; False when its key was queued before."""
    return bool(await uow.outbox.add_many([QueuedMessage(person, key, message, **more)], at) == 1)


async def _migrated(url: str) -> Database:
    db = open_database(url)
    await migrate.upgrade(db)
    return db


@pytest.fixture(params=["fake", "sqlite", "postgres"])
async def units(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work over the fakes, a SQLite file, and PostgreSQL (when configured)."""
    if request.param == "fake":
        store = FakeStore()
        yield lambda: FakeUnitOfWork(store)
        return
    if request.param == "postgres":
        url_of: AbstractAsyncContextManager[str] = fresh_postgres_database()
    else:
        url_of = nullcontext(sqlite_url(tmp_path / "one-bot.db"))
    async with url_of as url:
        db = await _migrated(url)
        try:
            yield lambda: SqlUnitOfWork(db)
        finally:
            await db.dispose()


async def _people(units: UnitOfWorkFactory, fans: int, creators: int = 1) -> list[int]:
    """``creators`` creators, then ``fans`` fans."""
    async with units() as uow:
        ids = []
        for n in range(creators):
            made = await uow.entities.add(EntityType.CREATOR, f"C{n}", f"c{n}", {}, T0)
            assert made is not None
            ids.append(made)
        for n in range(fans):
            made = await uow.entities.add(EntityType.USER, f"Fan {n}", None, {}, T0)
            assert made is not None
            ids.append(made)
        await uow.commit()
    return ids


async def test_a_fan_has_one_run_per_creator(units: UnitOfWorkFactory) -> None:
    alice, bea, fan = await _people(units, 1, creators=2)
    async with units() as uow:
        run = await uow.journeys.start(fan, alice, T0 + MINUTE, T0)
        assert run is not None
        assert run == JourneyRun(
            id=run.id,
            fan_id=fan,
            creator_id=alice,
            step=0,
            state=RunState.ACTIVE,
            next_run_at=T0 + MINUTE,
            attempts=0,
            data={},
            created_at=T0,
            updated_at=T0,
        )
        assert await uow.journeys.start(fan, alice, T0, T0) is None
        assert await uow.journeys.update(run.id, {"state": RunState.STOPPED}, T0)
        # Whatever its state: a fan who stopped is not started again.
        assert await uow.journeys.start(fan, alice, T0, T0 + MINUTE) is None
        other = await uow.journeys.start(fan, bea, T0, T0 + MINUTE)
        assert other is not None
        await uow.commit()
    async with units() as uow:
        assert await uow.journeys.get(other.id) == other
        assert await uow.journeys.find(fan, alice) == await uow.journeys.get(run.id)
        assert await uow.journeys.find(alice, fan) is None
        assert await uow.journeys.get(other.id + 100) is None
        assert [r.creator_id for r in await uow.journeys.of_fan(fan)] == [bea, alice]
        assert await uow.journeys.of_fan(alice) == []


async def test_claim_due_takes_the_oldest_due_first_for_a_lease(units: UnitOfWorkFactory) -> None:
    creator, *fans = await _people(units, 6)
    # Due at T0-2m, T0-4m, T0-1m, T0-3m, T0 and T0+1m (not yet).
    offsets = [-2, -4, -1, -3, 0, 1]
    async with units() as uow:
        runs = []
        for fan, offset in zip(fans, offsets, strict=True):
            run = await uow.journeys.start(fan, creator, T0 + offset * MINUTE, T0 - 9 * MINUTE)
            assert run is not None
            runs.append(run)
        assert await uow.journeys.update(runs[1].id, {"state": RunState.DONE}, T0)  # not active
        assert await uow.journeys.due_count(T0) == 4
        await uow.commit()

    async with units() as uow:
        first = await uow.journeys.claim_due(T0, 2, T0 + LEASE)
        assert [r.id for r in first] == [runs[3].id, runs[0].id]
        assert {r.next_run_at for r in first} == {T0 + LEASE}
        assert [await uow.journeys.get(r.id) for r in first] == first
        assert await uow.journeys.due_count(T0) == 2
        await uow.commit()
    async with units() as uow:
        second = await uow.journeys.claim_due(T0, 10, T0 + LEASE)
        assert [r.id for r in second] == [runs[2].id, runs[4].id]
        assert await uow.journeys.claim_due(T0 + 2 * MINUTE, 10, T0 + LEASE) == [
            (await uow.journeys.get(runs[5].id)),
        ]
        assert await uow.journeys.claim_due(T0 + LEASE - MINUTE, 10, T0 + 2 * LEASE) == []
        assert await uow.journeys.claim_due(T0, 0, T0 + LEASE) == []
        await uow.commit()
    # A lease that ran out: the runs are due again (their worker never moved them on).
    async with units() as uow:
        again = await uow.journeys.claim_due(T0 + LEASE, 10, T0 + 2 * LEASE)
        # All due at the same moment now: in the order they were started.
        assert [r.id for r in again] == [runs[i].id for i in (0, 2, 3, 4, 5)]
    # A claim that was not committed took nothing.
    async with units() as uow:
        assert len(await uow.journeys.claim_due(T0 + LEASE, 10, T0 + 2 * LEASE)) == 5


async def test_update_applies_only_where_the_run_is_expected(units: UnitOfWorkFactory) -> None:
    creator, fan = await _people(units, 1)
    async with units() as uow:
        run = await uow.journeys.start(fan, creator, T0, T0)
        assert run is not None
        later = T0 + MINUTE
        data = {"purchase": 7, "deadline": "2026-12-04", "tags": ("a", "b")}
        assert not await uow.journeys.update(run.id, {"step": 1}, later, expected_step=1)
        assert not await uow.journeys.update(run.id, {"step": 1}, later, expected_state="done")
        assert not await uow.journeys.update(run.id + 100, {"step": 1}, later)
        assert await uow.journeys.get(run.id) == run
        changes = {"step": 1, "attempts": 2, "next_run_at": T0 + LEASE, "data": data}
        assert await uow.journeys.update(
            run.id, changes, later, expected_step=0, expected_state=RunState.ACTIVE
        )
        moved = await uow.journeys.get(run.id)
        assert moved is not None
        assert (moved.step, moved.step_name, moved.attempts) == (1, "gift", 2)
        assert (moved.next_run_at, moved.updated_at, moved.created_at) == (T0 + LEASE, later, T0)
        assert moved.data == {"purchase": 7, "deadline": "2026-12-04", "tags": ["a", "b"]}
        done = {"state": "done", "step": 9, "next_run_at": None}
        assert await uow.journeys.update(run.id, done, later, expected_state="active")
        finished = await uow.journeys.get(run.id)
        assert finished is not None
        assert (finished.state, finished.step_name, finished.next_run_at) == (
            RunState.DONE,
            "done",
            None,
        )
        with pytest.raises(ValueError, match="cannot change"):
            await uow.journeys.update(run.id, {"fan_id": creator}, later)
        with pytest.raises(ValueError, match="resting"):
            await uow.journeys.update(run.id, {"state": "resting"}, later)


async def test_the_outbox_queues_each_message_once(units: UnitOfWorkFactory) -> None:
    fan, other = await _people(units, 2, creators=0)
    message = {"key": "journey.hook", "params": {"creator": "Alice"}, "buttons": [["x", "/y"]]}
    async with units() as uow:
        assert await queue(uow, fan, "journey:1:hook", message, T0)
        assert not await queue(uow, fan, "journey:1:hook", {"key": "other"}, T0 + MINUTE)
        assert not await queue(uow, other, "journey:1:hook", message, T0)
        assert await queue(uow, other, "journey:2:hook", message, T0, not_before=T0 + MINUTE)
        with pytest.raises(ValueError, match="dedupe_key"):
            await queue(uow, fan, "k" * 256, message, T0)
        await uow.commit()
    async with units() as uow:
        [item] = await uow.outbox.claim(T0, 10, T0 + LEASE)
        assert (item.person_id, item.dedupe_key, item.message) == (fan, "journey:1:hook", message)
        assert (item.state, item.attempts, item.not_before, item.batch) == (
            OutboxState.PENDING,
            0,
            T0 + LEASE,
            None,
        )


async def test_the_outbox_claims_leases_and_settles_messages(units: UnitOfWorkFactory) -> None:
    people = await _people(units, 6, creators=0)
    async with units() as uow:
        for n, person in enumerate(people):
            # Due at T0-0m, T0-1m, … T0-5m: added newest first, claimed oldest first.
            at = T0 - n * MINUTE
            assert await queue(uow, person, f"b:{n}", {"n": n}, at, batch="b")
        assert await queue(uow, people[0], "solo", {}, T0)
        await uow.commit()
    async with units() as uow:
        taken = await uow.outbox.claim(T0, 4, T0 + LEASE)
        assert [i.message["n"] for i in taken] == [5, 4, 3, 2]
        assert [i.message["n"] for i in await uow.outbox.claim(T0, 2, T0 + LEASE)] == [1, 0]
        assert [i.dedupe_key for i in await uow.outbox.claim(T0, 4, T0 + LEASE)] == ["solo"]
        assert await uow.outbox.claim(T0 + LEASE - MINUTE, 10, T0 + 2 * LEASE) == []
        sent, unreachable, retried, failed = taken
        await uow.outbox.mark_sent_many([sent.id], T0)
        await uow.outbox.mark_unreachable(unreachable.id, T0)
        await uow.outbox.retry_later(retried.id, "429 " + "x" * 600, T0 + MINUTE, give_up=False)
        await uow.outbox.retry_later(failed.id, "blocked", T0 + MINUTE, give_up=True)
        # Settled messages stay settled; only a delivery is recorded whatever happened before.
        await uow.outbox.retry_later(sent.id, "late", T0, give_up=False)
        await uow.outbox.mark_unreachable(failed.id, T0)
        await uow.outbox.mark_sent_many([sent.id], T0 + MINUTE)
        assert await uow.outbox.batch_counts("b") == {
            "pending": 3,
            "sent": 1,
            "unreachable": 1,
            "failed": 1,
            "cancelled": 0,
        }
        assert await uow.outbox.batch_counts("none") == {s.value: 0 for s in OutboxState}
        await uow.commit()
    async with units() as uow:
        # The retried one is due at T0+1m, the other leased ones when their lease ends.
        [again] = await uow.outbox.claim(T0 + MINUTE, 10, T0 + LEASE)
        assert (again.id, again.attempts, again.state) == (retried.id, 1, OutboxState.PENDING)
        await uow.outbox.mark_sent_many([failed.id], T0 + MINUTE)
        later = await uow.outbox.claim(T0 + LEASE, 10, T0 + 2 * LEASE)
        assert [i.message.get("n") for i in later] == [0, 1, 3, None]
        assert await uow.outbox.batch_counts("b") == {
            "pending": 3,
            "sent": 2,
            "unreachable": 1,
            "failed": 0,
            "cancelled": 0,
        }


async def test_a_batch_of_runs_is_held_and_saved_in_one_go(units: UnitOfWorkFactory) -> None:
    alice, *fans = await _people(units, 3)
    async with units() as uow:
        runs = [await uow.journeys.start(fan, alice, T0, T0) for fan in fans]
        await uow.commit()
    ids = [run.id for run in runs if run is not None]
    async with units() as uow:
        held = await uow.journeys.hold([*reversed(ids), 999_999])  # one that is not there
        assert [run.id for run in held] == ids
        first, second, third = held
        await uow.journeys.save(
            [
                replace(first, step=1, next_run_at=T0 + MINUTE, data={"goals": "10k"}),
                replace(second, state=RunState.DONE, step=9, next_run_at=None),
                replace(third, attempts=2, id=999_999),  # gone: nothing happens
            ],
            T0 + MINUTE,
        )
        await uow.commit()
    async with units() as uow:
        first, second, third = await uow.journeys.hold(ids)
        assert (first.step, first.next_run_at, first.data) == (1, T0 + MINUTE, {"goals": "10k"})
        assert first.updated_at == T0 + MINUTE
        assert (second.state, second.step, second.next_run_at) == (RunState.DONE, 9, None)
        assert (third.attempts, third.step) == (0, 0)
        assert await uow.journeys.stopped(alice, fans) == set()
        await uow.journeys.save([replace(third, state=RunState.STOPPED)], T0)
        assert await uow.journeys.stopped(alice, [*fans, 999_999]) == {third.fan_id}
        assert await uow.journeys.stopped(alice + 999, fans) == set()
        assert await uow.journeys.stopped(alice, []) == set()
        await uow.commit()


async def test_messages_are_queued_sent_and_cancelled_in_sets(units: UnitOfWorkFactory) -> None:
    _, bob, carol = await _people(units, 2)
    messages = [
        QueuedMessage(bob, "journey:1:hook", {"text": "hook"}),
        QueuedMessage(bob, "journey:1:gift", {"text": "gift"}, not_before=T0 + LEASE),
        QueuedMessage(bob, "broadcast:b1-x:2", {"text": "news"}, batch="b1-x"),
        QueuedMessage(carol, "journey:2:hook", {"text": "hook"}),
    ]
    async with units() as uow:
        assert await uow.outbox.add_many(messages, T0) == 4
        assert await uow.outbox.add_many(messages[:1], T0) == 0  # queued before: skipped
        assert await uow.outbox.add_many([], T0) == 0
        await uow.commit()
    async with units() as uow:
        due = await uow.outbox.claim(T0, 10, T0 + MINUTE)
        assert [i.dedupe_key for i in due] == [
            "journey:1:hook",
            "broadcast:b1-x:2",
            "journey:2:hook",
        ]
        await uow.outbox.mark_sent_many([due[0].id, due[2].id], T0)
        await uow.outbox.mark_sent_many([due[0].id], T0 + MINUTE)  # once sent, stays as sent
        # Bob opts out: what is pending of his journey 1 and of broadcasts b1 is cancelled.
        assert await uow.outbox.cancel(bob, ["journey:1:", "broadcast:b1-"]) == 2
        assert await uow.outbox.cancel(carol, ["journey:1:"]) == 0
        assert await uow.outbox.cancel(bob, []) == 0
        assert await uow.outbox.batch_counts("b1-x") == {
            **{state.value: 0 for state in OutboxState},
            "cancelled": 1,
        }
        assert await uow.outbox.claim(T0 + 2 * LEASE, 10, T0 + 3 * LEASE) == []
        chats = await uow.identities.of_people([bob, carol])
        assert chats == {}  # no identities here: nobody to reach
        await uow.commit()


async def test_a_failed_attempt_keeps_its_error(database_url: str) -> None:
    db = await _migrated(database_url)
    try:
        [person] = await _people(lambda: SqlUnitOfWork(db), 1, creators=0)
        async with SqlUnitOfWork(db) as uow:
            await queue(uow, person, "k", {}, T0)
            [item] = await uow.outbox.claim(T0, 1, T0 + LEASE)
            await uow.outbox.retry_later(item.id, "e" * 600, T0, give_up=True)
            await uow.commit()
        row = await db.execute(
            lambda c: c.execute(
                text("SELECT state, attempts, last_error, sent_at FROM outbox")
            ).one()
        )
        assert tuple(row) == ("failed", 1, "e" * 500, None)
    finally:
        await db.dispose()


async def _claim_twice_at_once(
    first: Database, second: Database, runs: bool
) -> tuple[list[int], list[int]]:
    """Two transactions open at once, each claiming before either commits (a claim that waited
    for the other's row locks would wait forever: the timeout fails it instead)."""
    async with asyncio.timeout(10), SqlUnitOfWork(first) as one, SqlUnitOfWork(second) as two:
        if runs:
            a = [r.id for r in await one.journeys.claim_due(T0, 3, T0 + LEASE)]
            b = [r.id for r in await two.journeys.claim_due(T0, 10, T0 + LEASE)]
        else:
            a = [i.id for i in await one.outbox.claim(T0, 3, T0 + LEASE)]
            b = [i.id for i in await two.outbox.claim(T0, 10, T0 + LEASE)]
        await one.commit()
        await two.commit()
    return a, b


async def test_concurrent_claims_never_take_the_same_row(postgres_db: str) -> None:
    first, second = await _migrated(postgres_db), open_database(postgres_db)
    try:
        creator, *fans = await _people(lambda: SqlUnitOfWork(first), 40)
        async with SqlUnitOfWork(first) as uow:
            for n, fan in enumerate(fans):
                assert await uow.journeys.start(fan, creator, T0 - n * MINUTE, T0)
                assert await queue(uow, fan, f"m{n}", {}, T0 - n * MINUTE)
            await uow.commit()

        for runs in (True, False):
            a, b = await _claim_twice_at_once(first, second, runs)
            assert (len(a), len(b)) == (3, 10)
            assert not set(a) & set(b)

        # Eight claimers at once, on two engines: every due row is taken exactly once.
        async def claim(db: Database, runs: bool) -> list[int]:
            async with SqlUnitOfWork(db) as uow:
                if runs:
                    got = [r.id for r in await uow.journeys.claim_due(T0, 4, T0 + LEASE)]
                else:
                    got = [i.id for i in await uow.outbox.claim(T0, 4, T0 + LEASE)]
                await asyncio.sleep(0.01)  # hold the row locks while the others claim
                await uow.commit()
                return got

        for runs in (True, False):
            async with asyncio.timeout(10):
                taken = await asyncio.gather(
                    *(claim((first, second)[n % 2], runs) for n in range(8))
                )
            ids = [i for got in taken for i in got]
            assert len(ids) == len(set(ids)) == 40 - 13
    finally:
        await first.dispose()
        await second.dispose()


async def test_claims_from_two_sqlite_connections_take_turns(sqlite_db: str) -> None:
    first, second = await _migrated(sqlite_db), open_database(sqlite_db)
    try:
        creator, *fans = await _people(lambda: SqlUnitOfWork(first), 20)
        async with SqlUnitOfWork(first) as uow:
            for n, fan in enumerate(fans):
                assert await uow.journeys.start(fan, creator, T0 - n * MINUTE, T0)
            await uow.commit()

        async def claim(db: Database) -> list[int]:
            async with SqlUnitOfWork(db) as uow:
                got = [r.id for r in await uow.journeys.claim_due(T0, 3, T0 + LEASE)]
                await uow.commit()
                return got

        taken = await asyncio.gather(*(claim((first, second)[n % 2]) for n in range(8)))
        ids = [i for got in taken for i in got]
        assert len(ids) == len(set(ids)) == 20
    finally:
        await first.dispose()
        await second.dispose()


ROWS = 10_000


def _load(conn: Connection) -> None:
    """100 creators x 100 fans: a run each (1 in 50 active) and a message each (1 in 50
    pending), the rest finished long ago."""
    person = {"name": "x", "properties": {}, "status": "active", "created_at": 0, "updated_at": 0}
    people = [{**person, "type": "user", "handle": None} for _ in range(200)]
    conn.execute(insert(entities), people)
    creators, fans = range(1, 101), range(101, 201)
    runs, messages = [], []
    for n, (creator, fan) in enumerate((c, f) for c in creators for f in fans):
        live = n % 50 == 0
        due = to_millis(T0) - n * 1000
        runs.append(
            {
                **{"fan_id": fan, "creator_id": creator, "step": 3, "attempts": 0, "data": {}},
                **{"state": "active" if live else "done", "next_run_at": due if live else None},
                **{"created_at": 0, "updated_at": 0},
            }
        )
        messages.append(
            {
                **{"person_id": fan, "dedupe_key": f"k{n}", "message": {}, "attempts": 0},
                **{"state": "pending" if live else "sent", "not_before": due},
                **{"batch": f"b{n % 7}", "created_at": 0},
            }
        )
    conn.execute(insert(journey_runs), runs)
    conn.execute(insert(outbox), messages)


async def test_claims_search_the_partial_indexes(database_url: str) -> None:
    """Claiming, counting and looking up are index searches with 10k rows in each table: the
    claims walk the partial indexes in their order (no sort), and nothing scans a table."""
    db = await _migrated(database_url)
    try:
        await db.execute(_load)
        # SQLite as created (no statistics) and analyzed; PostgreSQL analyzed.
        for analyzed in (False, True) if db.dialect == "sqlite" else (True,):
            if analyzed:
                await db.execute(lambda c: c.exec_driver_sql("ANALYZE"))
            plans = await _plans(db)
            report = "\n".join(f"{s}\n→ {d}" for s, d in plans)
            claims = {"journey_runs.state = 'active'": 0, "outbox.state = 'pending'": 0}
            for statement, details in plans:
                assert not [d for d in details if d.startswith("SCAN") or "Seq Scan" in d], report
                for due, index in zip(
                    claims, ("ix_journey_runs_due", "ix_outbox_pending"), strict=True
                ):
                    if due in statement and "ORDER BY" in statement:
                        claims[due] += 1
                        assert any(index in d for d in details), report
                        assert not [d for d in details if _sorts_by_due(d)], report
            assert claims == dict.fromkeys(claims, 1), report
    finally:
        await db.dispose()


def _sorts_by_due(detail: str) -> bool:
    return "TEMP B-TREE" in detail or (
        "Sort Key" in detail and ("next_run_at" in detail or "not_before" in detail)
    )


async def _plans(db: Database) -> list[tuple[str, list[str]]]:
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "WITH")):
            seen.append((statement, params))

    event.listen(db.sync_engine, "before_cursor_execute", record)
    try:
        async with SqlUnitOfWork(db) as uow:
            assert await uow.journeys.due_count(T0) == ROWS // 50
            assert len(await uow.journeys.claim_due(T0, 50, T0 + LEASE)) == 50
            assert len(await uow.outbox.claim(T0, 50, T0 + LEASE)) == 50
            assert sum((await uow.outbox.batch_counts("b3")).values()) == 1429
            assert await uow.journeys.find(150, 42) is not None
            assert len(await uow.journeys.of_fan(150)) == 100
            # No commit: each round sees the same rows.
    finally:
        event.remove(db.sync_engine, "before_cursor_execute", record)
    explain = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "

    def read(conn: Connection) -> list[tuple[str, list[str]]]:
        return [(s, [str(r[-1]) for r in conn.exec_driver_sql(explain + s, p)]) for s, p in seen]

    return await db.execute(read)
