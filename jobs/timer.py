"""APScheduler as a clock, the one way every job here uses it.

The work itself reads what is owed from the database each time, so a tick may be late or
dropped without losing anything: at most one run of a job at a time (a tick due while one runs
is dropped, since the running one works through the backlog and the next finds what is left),
never skipped for being late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

Tick = Callable[..., Awaitable[Any]]


def every(scheduler: AsyncIOScheduler, seconds: float, tick: Tick, *args: Any) -> None:
    """Run ``tick(*args)`` on ``scheduler`` every ``seconds``, one run at a time."""
    scheduler.add_job(
        tick,
        "interval",
        args,
        seconds=seconds,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )


async def tick_until(stop: asyncio.Event, seconds: float, tick: Tick) -> None:
    """Run ``tick`` at once (what the last process left), then every ``seconds`` until
    ``stop`` is set."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    every(scheduler, seconds, tick)
    scheduler.start()
    try:
        await tick()
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
