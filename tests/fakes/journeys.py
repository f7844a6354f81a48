"""Fakes of ``journey_runs`` and the ``outbox`` (adapters/db/journeys.py, adapters/db/outbox.py).

The units of work run one at a time, so a claim simply takes the due rows; leases, orderings
and conditional updates behave as in the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.journeys import JourneyRun, OutboxItem, OutboxState, QueuedMessage, RunState
from tests.fakes.store import FakeStore, OutboxRow, json_round_trip, to_millis

_MUTABLE = frozenset({"step", "state", "next_run_at", "attempts", "data"})


class FakeJourneyRepository:
    def __init__(self, db: FakeStore) -> None:
        self._db = db

    async def start(
        self, fan_id: int, creator_id: int, next_run_at: datetime, now: datetime
    ) -> JourneyRun | None:
        self._db.require(fan_id, creator_id)
        if await self.find(fan_id, creator_id) is not None:
            return None
        at = to_millis(now)
        run = JourneyRun(
            id=self._db.next_id("journey_runs"),
            fan_id=fan_id,
            creator_id=creator_id,
            step=0,
            state=RunState.ACTIVE,
            next_run_at=to_millis(next_run_at),
            attempts=0,
            data={},
            created_at=at,
            updated_at=at,
        )
        self._db.journey_runs[run.id] = run
        return run

    async def get(self, run_id: int) -> JourneyRun | None:
        return self._db.journey_runs.get(run_id)

    async def find(self, fan_id: int, creator_id: int) -> JourneyRun | None:
        for run in self._db.journey_runs.values():
            if (run.fan_id, run.creator_id) == (fan_id, creator_id):
                return run
        return None

    async def of_fan(self, fan_id: int) -> list[JourneyRun]:
        runs = [run for run in self._db.journey_runs.values() if run.fan_id == fan_id]
        return sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)

    def _due(self, now: datetime) -> list[JourneyRun]:
        at = to_millis(now)
        due = [
            run
            for run in self._db.journey_runs.values()
            if run.state is RunState.ACTIVE
            and run.next_run_at is not None
            and run.next_run_at <= at
        ]
        return sorted(due, key=lambda r: (r.next_run_at, r.id))

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[JourneyRun]:
        taken = [
            replace(run, next_run_at=to_millis(lease_until))
            for run in self._due(now)[: max(limit, 0)]
        ]
        self._db.journey_runs.update((run.id, run) for run in taken)
        return taken

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
        expected = None if expected_state is None else RunState(expected_state)
        run = self._db.journey_runs.get(run_id)
        if run is None:
            return False
        if expected_step is not None and run.step != expected_step:
            return False
        if expected is not None and run.state is not expected:
            return False
        values = dict(changes)
        if "state" in values:
            values["state"] = RunState(values["state"])
        if values.get("next_run_at") is not None:
            values["next_run_at"] = to_millis(values["next_run_at"])
        if "data" in values:
            values["data"] = json_round_trip(values["data"])
        self._db.journey_runs[run_id] = replace(run, **values, updated_at=to_millis(now))
        return True

    async def stopped(self, creator_id: int, fan_ids: Sequence[int]) -> set[int]:
        wanted = set(fan_ids)
        return {
            run.fan_id
            for run in self._db.journey_runs.values()
            if run.creator_id == creator_id
            and run.fan_id in wanted
            and run.state is RunState.STOPPED
        }

    async def hold(self, run_ids: Sequence[int]) -> list[JourneyRun]:
        wanted = set(run_ids)
        return [run for run_id, run in sorted(self._db.journey_runs.items()) if run_id in wanted]

    async def save(self, runs: Sequence[JourneyRun], now: datetime) -> None:
        for run in runs:
            if run.id not in self._db.journey_runs:
                continue  # an UPDATE of a missing row changes nothing
            await self.update(
                run.id,
                {
                    "step": run.step,
                    "state": run.state,
                    "next_run_at": run.next_run_at,
                    "attempts": run.attempts,
                    "data": run.data,
                },
                now,
            )

    async def due_count(self, now: datetime) -> int:
        return len(self._due(now))


def _item(item_id: int, row: OutboxRow) -> OutboxItem:
    return OutboxItem(
        id=item_id,
        person_id=row.person_id,
        dedupe_key=row.dedupe_key,
        message=row.message,
        state=row.state,
        attempts=row.attempts,
        not_before=row.not_before,
        batch=row.batch,
    )


class FakeOutboxRepository:
    def __init__(self, db: FakeStore) -> None:
        self._db = db

    async def add_many(self, messages: Sequence[QueuedMessage], now: datetime) -> int:
        queued = 0
        for m in messages:
            self._db.require(m.person_id)
            if any(row.dedupe_key == m.dedupe_key for row in self._db.outbox.values()):
                continue
            self._db.outbox[self._db.next_id("outbox")] = OutboxRow(
                person_id=m.person_id,
                dedupe_key=m.dedupe_key,
                message=json_round_trip(m.message),
                not_before=to_millis(m.not_before or now),
                created_at=to_millis(now),
                batch=m.batch,
            )
            queued += 1
        return queued

    async def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[OutboxItem]:
        at = to_millis(now)
        due = sorted(
            (row.not_before, item_id)
            for item_id, row in self._db.outbox.items()
            if row.state is OutboxState.PENDING and row.not_before <= at
        )
        taken = []
        for _, item_id in due[: max(limit, 0)]:
            row = self._db.outbox[item_id] = replace(
                self._db.outbox[item_id], not_before=to_millis(lease_until)
            )
            taken.append(_item(item_id, row))
        return taken

    def _settle(self, item_id: int, *, pending_only: bool = True, **changes: Any) -> None:
        row = self._db.outbox.get(item_id)
        if row is None or (pending_only and row.state is not OutboxState.PENDING):
            return
        self._db.outbox[item_id] = replace(row, **changes)

    async def mark_sent_many(self, item_ids: Sequence[int], now: datetime) -> None:
        # A delivery is recorded whatever another sender decided meanwhile, but only once.
        for item_id in item_ids:
            row = self._db.outbox.get(item_id)
            if row is not None and row.state is not OutboxState.SENT:
                self._settle(
                    item_id, pending_only=False, state=OutboxState.SENT, sent_at=to_millis(now)
                )

    async def mark_unreachable(self, item_id: int, now: datetime) -> None:
        self._settle(item_id, state=OutboxState.UNREACHABLE)

    async def retry_later(self, item_id: int, error: str, at: datetime, *, give_up: bool) -> None:
        row = self._db.outbox.get(item_id)
        if row is None:
            return
        self._settle(
            item_id,
            state=OutboxState.FAILED if give_up else OutboxState.PENDING,
            attempts=row.attempts + 1,
            last_error=error[:500],
            not_before=to_millis(at),
        )

    async def cancel(self, person_id: int, key_prefixes: Sequence[str]) -> int:
        cancelled = 0
        for item_id, row in list(self._db.outbox.items()):
            if (
                row.person_id == person_id
                and row.state is OutboxState.PENDING
                and row.dedupe_key.startswith(tuple(key_prefixes))
            ):
                self._db.outbox[item_id] = replace(row, state=OutboxState.CANCELLED)
                cancelled += 1
        return cancelled

    async def batch_counts(self, batch: str) -> dict[str, int]:
        counts = {state.value: 0 for state in OutboxState}
        for row in self._db.outbox.values():
            if row.batch == batch:
                counts[row.state.value] += 1
        return counts
