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

from jobs.timer import tick_until

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

    async def run(self, stop: asyncio.Event) -> None:
        await tick_until(stop, self.every, self.tick)

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
