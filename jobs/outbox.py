"""The timer of the outbox: send the messages journeys and broadcasts queued, every second.

APScheduler is only the clock: what is owed is read from the ``outbox`` table each time
(``bot/outbox.py``), so a missed tick loses nothing and a restart sends what the last process
left (after the leases of what it had claimed expire).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from bot.outbox import DrainReport
from jobs.timer import tick_until

log = logging.getLogger(__name__)

# Batches one tick drains back to back while each comes back full (a broadcast, a backlog).
MAX_ROUNDS = 20


class Drains(Protocol):
    async def drain(self) -> DrainReport: ...


@dataclass(frozen=True, slots=True)
class OutboxJobs:
    """``run(stop)`` drains at start and then every ``every`` seconds until ``stop`` is set."""

    sender: Drains
    every: float = 1.0

    async def run(self, stop: asyncio.Event) -> None:
        await tick_until(stop, self.every, self.tick)

    async def tick(self) -> DrainReport | None:
        """Drain (again at once while a batch comes back full, up to MAX_ROUNDS); the last
        round's report, or None if it failed (logged; the next tick tries again)."""
        report: DrainReport | None = None
        for _ in range(MAX_ROUNDS):
            try:
                report = await self.sender.drain()
            except Exception:
                log.exception("sending outbox messages failed; the next tick retries")
                return None
            if report.claimed:
                log.info(
                    "outbox: %d claimed, %d sent, %d unreachable, %d to retry, %d failed, %d left",
                    report.claimed,
                    report.sent,
                    report.unreachable,
                    report.retried,
                    report.failed,
                    report.left,
                )
            if not report.more or report.left == report.claimed:
                break  # all sent, or what is due is not this process's to send
        return report
