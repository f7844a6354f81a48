"""What journeys and the outbox need from storage, named by role. Re-exported by
:mod:`core.ports`. Both repositories work inside their unit of work's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from core.journeys import JourneyRun, OutboxItem, QueuedMessage


class JourneyRepository(Protocol):
    """The ``journey_runs`` table: one row per (fan, creator)."""

    async def start(
        self, fan_id: int, creator_id: int, next_run_at: datetime, now: datetime
    ) -> JourneyRun | None:
        """A new active run at step 0 due at ``next_run_at``; None if this fan has a run with
        this creator already (whatever its state)."""
        ...

    async def get(self, run_id: int) -> JourneyRun | None:
        """One run."""
        ...

    async def find(self, fan_id: int, creator_id: int) -> JourneyRun | None:
        """This fan's run with this creator, if any."""
        ...

    async def of_fan(self, fan_id: int) -> list[JourneyRun]:
        """Every run of this fan, newest first."""
        ...

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[JourneyRun]:
        """Up to ``limit`` active runs due at ``now`` (oldest due first), taken for this caller:
        their ``next_run_at`` becomes ``lease_until``, so no other caller (in this or another
        process) takes them before then. On PostgreSQL the rows are picked with
        ``FOR UPDATE SKIP LOCKED``, so two processes never take the same run."""
        ...

    async def update(
        self,
        run_id: int,
        changes: Mapping[str, Any],
        now: datetime,
        *,
        expected_step: int | None = None,
        expected_state: str | None = None,
    ) -> bool:
        """Change a run (``step``, ``state``, ``next_run_at``, ``attempts``, ``data``); False and
        nothing changed when it is not at ``expected_step`` / ``expected_state`` any more."""
        ...

    async def stopped(self, creator_id: int, fan_ids: Sequence[int]) -> set[int]:
        """The fans among ``fan_ids`` whose run with this creator is stopped (they opted out)."""
        ...

    async def hold(self, run_ids: Sequence[int]) -> list[JourneyRun]:
        """These runs as they are now, held until this transaction ends: on PostgreSQL their
        rows are locked (``FOR UPDATE``), so what is read is what :meth:`save` overwrites;
        SQLite's writers take turns anyway."""
        ...

    async def save(self, runs: Sequence[JourneyRun], now: datetime) -> None:
        """Write each run's ``step``, ``state``, ``next_run_at``, ``attempts`` and ``data``,
        in one statement; for runs :meth:`hold` holds in this transaction."""
        ...

    async def due_count(self, now: datetime) -> int:
        """How many active runs are due at ``now`` (for progress and benchmarks)."""
        ...


class OutboxRepository(Protocol):
    """The ``outbox`` table: messages waiting for the sender."""

    async def add_many(self, messages: Sequence[QueuedMessage], now: datetime) -> int:
        """Queue many messages in one statement; those whose ``dedupe_key`` was queued before
        are skipped. How many were queued."""
        ...

    async def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[OutboxItem]:
        """Up to ``limit`` pending messages due at ``now`` (oldest first), taken for this caller
        until ``lease_until`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)."""
        ...

    async def mark_sent_many(self, item_ids: Sequence[int], now: datetime) -> None:
        """These messages were delivered (one statement). A delivery is a fact: recorded
        whatever another sender decided meanwhile, but only once."""
        ...

    async def mark_unreachable(self, item_id: int, now: datetime) -> None:
        """No chat can reach the person: not retried."""
        ...

    async def retry_later(self, item_id: int, error: str, at: datetime, *, give_up: bool) -> None:
        """Count a failed attempt; due again at ``at``, or failed for good with ``give_up``."""
        ...

    async def cancel(self, person_id: int, key_prefixes: Sequence[str]) -> int:
        """Cancel the person's pending messages whose ``dedupe_key`` starts with one of
        ``key_prefixes`` (one being sent now still goes); how many were cancelled."""
        ...

    async def batch_counts(self, batch: str) -> dict[str, int]:
        """How many messages of a broadcast are in each state (``pending``, ``sent`` …)."""
        ...
