"""The timer of journeys: APScheduler ticks, the engine performs what is due.

The schedule lives in ``journey_runs`` (core/services/journey_engine.py), never in a job store:
a tick that comes late, or after a restart, simply finds more steps due and catches up, batch
after batch, so nothing is skipped silently.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

# Batches one tick performs back to back while they come back full (a backlog after downtime);
# then the loop is given back, and the next tick goes on.
MAX_ROUNDS = 50


class Ticks(Protocol):
    async def tick(self) -> int: ...


@dataclass(frozen=True, slots=True)
class JourneyJobs:
    """``run(stop)`` performs due steps at start and then every ``every`` seconds."""

    engine: Ticks
    every: float = 1.0
    batch: int = 200

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        # One tick at a time: a tick due while one runs is dropped, which loses nothing, since
        # the running tick works through the backlog and the next one finds what is left.
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.every,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    async def run(self, stop: asyncio.Event) -> None:
        scheduler = AsyncIOScheduler(timezone="UTC")
        self.schedule(scheduler)
        scheduler.start()
        try:
            await self.tick()  # what came due while the bot was down
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)

    async def tick(self) -> int:
        """Perform due steps, batch after batch while batches come back full; how many."""
        done = 0
        for _ in range(MAX_ROUNDS):
            try:
                handled = await self.engine.tick()
            except Exception:
                log.exception("journey tick failed; the next tick retries")
                break
            done += handled
            if handled < self.batch:
                break
            await asyncio.sleep(0)  # let chats in between batches
        return done
