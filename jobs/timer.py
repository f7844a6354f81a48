"""APScheduler as a clock, the one way every job here uses it.

The work itself reads what is owed from the database each time, so a tick may be late or
dropped without losing anything: at most one run of a job at a time (a tick due while one runs
is dropped, since the running one works through the backlog and the next finds what is left),
never skipped for being late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

Tick = Callable[..., Awaitable[Any]]


def every(
    scheduler: AsyncIOScheduler, seconds: float, tick: Tick, *args: Any, at_once: bool = False
) -> None:
    """Run ``tick(*args)`` on ``scheduler`` every ``seconds`` (the first run now with
    ``at_once``), one run at a time."""
    # APScheduler reads an explicit next_run_time=None as "paused": only passed to start now.
    first: dict[str, Any] = {"next_run_time": datetime.now(UTC)} if at_once else {}
    scheduler.add_job(
        tick,
        "interval",
        args,
        seconds=seconds,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        **first,
    )


async def tick_until(stop: asyncio.Event, seconds: float, tick: Tick) -> None:
    """Run ``tick`` at once (what the last process left), then every ``seconds`` until
    ``stop`` is set; then wait for a run still going, cancelled."""
    running: set[asyncio.Task[Any]] = set()

    async def guarded() -> Any:
        task = asyncio.current_task()
        assert task is not None
        running.add(task)
        try:
            return await tick()
        except asyncio.CancelledError:
            if stop.is_set():
                return None  # cut short by the shutdown: what it left is found next time
            raise
        finally:
            running.discard(task)

    scheduler = AsyncIOScheduler(timezone="UTC")
    # The first run is the scheduler's too (not a call beside it): two runs of one job never
    # overlap, so a drain's in-flight window stays one batch.
    every(scheduler, seconds, guarded, at_once=True)
    scheduler.start()
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        for task in list(running):
            task.cancel()
        if running:
            await asyncio.wait(running)
