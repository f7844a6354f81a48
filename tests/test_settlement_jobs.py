"""The settlement timer: it settles at start and on every tick, catches up on a backlog, and
survives a failing run."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.services.settlement import SettleReport
from jobs.settlement import MAX_ROUNDS, SettlementJobs


class ScriptedSettlement:
    """Answers ``settle`` from a script (a report, or an exception to raise), then idles."""

    def __init__(self, *script: SettleReport | Exception) -> None:
        self.script = list(script)
        self.calls = 0
        self.called = asyncio.Event()

    async def settle(self, limit: int = 500) -> SettleReport:
        self.calls += 1
        self.called.set()
        step = self.script.pop(0) if self.script else SettleReport()
        if isinstance(step, Exception):
            raise step
        return step


async def test_settles_at_start_then_on_every_tick() -> None:
    settlement = ScriptedSettlement()
    stop = asyncio.Event()
    task = asyncio.create_task(SettlementJobs(settlement, every=0.05).run(stop))
    async with asyncio.timeout(10):
        while settlement.calls < 3:
            settlement.called.clear()
            await settlement.called.wait()
    stop.set()
    await task


async def test_a_tick_catches_up_while_runs_stop_at_their_limit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    busy = SettleReport(made=500, minted=500, tokens=800, more=True)
    settlement = ScriptedSettlement(busy, busy, SettleReport(made=3, minted=3, tokens=4))
    caplog.set_level(logging.INFO)

    report = await SettlementJobs(settlement).tick()

    assert report == SettleReport(made=3, minted=3, tokens=4)
    assert settlement.calls == 3
    assert "settlement: 500 made, 500 minted" in caplog.text

    endless = ScriptedSettlement(*[busy] * (MAX_ROUNDS + 5))
    assert await SettlementJobs(endless).tick() == busy
    assert endless.calls == MAX_ROUNDS  # the rest waits for the next tick


async def test_a_chain_failure_ends_the_tick(caplog: pytest.LogCaptureFixture) -> None:
    failing = SettleReport(made=2, minted=1, failed=1, more=True)
    settlement = ScriptedSettlement(failing, SettleReport(made=9))
    caplog.set_level(logging.INFO)

    assert await SettlementJobs(settlement).tick() == failing
    assert settlement.calls == 1  # no hurry: the chain needs time
    assert "1 left open after a chain failure" in caplog.text


async def test_a_failing_run_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    settlement = ScriptedSettlement(RuntimeError("database down"), RuntimeError("still down"))
    stop = asyncio.Event()
    task = asyncio.create_task(SettlementJobs(settlement, every=0.05).run(stop))
    async with asyncio.timeout(10):
        while settlement.calls < 3:
            settlement.called.clear()
            await settlement.called.wait()
    stop.set()
    await task
    assert caplog.text.count("settling ledger movements on chain failed") == 2
