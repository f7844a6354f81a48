"""The purchase timers: APScheduler ticks, our tables hold the work."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.services.reconciliation import Drift, Reconciliation
from jobs.purchases import DriftReporter, PurchaseJobs


async def test_the_jobs_run_at_start_then_on_their_ticks() -> None:
    calls: list[str] = []
    enough = asyncio.Event()

    def called(name: str) -> None:
        calls.append(name)
        if min(calls.count(n) for n in ("resume", "recover", "reconcile")) >= 3:
            enough.set()

    async def resume() -> int:
        called("resume")
        return 0

    async def recover() -> int:
        called("recover")
        return 0

    async def recover_at_start() -> int:
        called("recover_at_start")
        return 0

    async def reconcile() -> Reconciliation:
        called("reconcile")
        return Reconciliation(0, [])

    stop = asyncio.Event()
    jobs = PurchaseJobs(resume, recover, recover_at_start, reconcile, 0.05, 0.05, 0.05)
    task = asyncio.create_task(jobs.run(stop))
    async with asyncio.timeout(10):
        await enough.wait()
    stop.set()
    await task
    assert calls[:2] == ["resume", "recover_at_start"]
    assert calls.count("recover_at_start") == 1
    for name in ("resume", "recover", "reconcile"):
        assert calls.count(name) >= 3, calls


async def test_a_failing_job_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    count = 0
    thrice = asyncio.Event()

    async def resume() -> int:
        nonlocal count
        count += 1
        if count >= 3:
            thrice.set()
        raise RuntimeError("database down")

    async def nothing() -> int:
        return 0

    async def reconcile() -> Reconciliation:
        return Reconciliation(0, [])

    stop = asyncio.Event()
    task = asyncio.create_task(
        PurchaseJobs(resume, nothing, nothing, reconcile, 0.05, 60, 60).run(stop)
    )
    async with asyncio.timeout(10):
        await thrice.wait()
    stop.set()
    await task
    assert "resuming purchases failed" in caplog.text


async def test_only_lasting_drift_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    passing = Drift(1, "ALICE", 10, 0)  # a mint between the two reads: gone next time
    lasting = Drift(2, "ALICE", 5, 7)
    # The same gap (chain 2 above expected) while clone chat moves the ledger and what waits.
    moved = Drift(2, "ALICE", 15, 7, unsettled=10)
    reports = iter([[passing, lasting], [moved], []])

    async def reconcile() -> Reconciliation:
        return Reconciliation(3, next(reports))

    reporter = DriftReporter(reconcile)
    caplog.set_level(logging.ERROR)
    assert await reporter.check() == []
    assert await reporter.check() == [moved]
    assert await reporter.check() == []
    assert caplog.text.count("DRIFT user 2 $ALICE: ledger 15 (10 not settled yet), chain 7") == 1
