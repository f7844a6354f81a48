"""Timers for token purchases: resume unfinished sagas, recover payment events no webhook
delivered, and compare the ledger with the chain.

APScheduler (``AsyncIOScheduler``, memory job store) is only the clock here: what is owed is
read from ``purchases`` each time, so a missed or late tick loses nothing, and a restart
simply starts ticking again (``resume`` also runs once at start-up).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.services.reconciliation import Drift, Reconciliation
from jobs.timer import every

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PurchaseJobs:
    """``run(stop)`` ticks each job at its interval (seconds) until ``stop`` is set."""

    resume: Callable[[], Awaitable[int]]
    recover: Callable[[], Awaitable[int]]
    recover_at_start: Callable[[], Awaitable[int]]
    reconcile: Callable[[], Awaitable[Reconciliation]]
    resume_every: float = 30.0
    recover_every: float = 120.0
    reconcile_every: float = 600.0

    async def run(self, stop: asyncio.Event) -> None:
        scheduler = AsyncIOScheduler(timezone="UTC")
        checker = DriftReporter(self.reconcile)
        every(scheduler, self.resume_every, self._resume)
        every(scheduler, self.recover_every, self._recover, self.recover)
        every(scheduler, self.reconcile_every, checker.check)
        scheduler.start()
        try:
            # Whatever a crash left mid-way, and what was paid while the bot was down.
            await self._resume()
            await self._recover(self.recover_at_start)
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)

    async def _resume(self) -> None:
        try:
            count = await self.resume()
        except Exception:
            log.exception("resuming purchases failed; the next tick tries again")
            return
        if count:
            log.info("resumed %d purchases", count)

    async def _recover(self, recover: Callable[[], Awaitable[int]]) -> None:
        try:
            count = await recover()
        except Exception:
            log.exception("recovering payment events failed; the next tick tries again")
            return
        if count:
            log.info("recovered %d purchases from the providers' event lists", count)


class DriftReporter:
    """Reconciles and reports drift that lasts: a mint between ledger reads is not drift."""

    def __init__(self, reconcile: Callable[[], Awaitable[Reconciliation]]) -> None:
        self._reconcile = reconcile
        # A drift is the same one while the gap between chain and expected stays: the ledger
        # and the waiting amounts move with every clone chat, the gap does not.
        self._seen: set[tuple[int, str, int]] = set()

    async def check(self) -> list[Drift]:
        """Reconcile once; the drifts also found last time (logged as errors)."""
        try:
            report = await self._reconcile()
        except Exception:
            log.exception("reconciling ledger and chain failed")
            return []
        lasting = [drift for drift in report.drifts if _gap(drift) in self._seen]
        for drift in lasting:
            log.error(
                "DRIFT user %d $%s: ledger %d (%d not settled yet), chain %d",
                drift.holder_id,
                drift.symbol,
                drift.ledger,
                drift.unsettled,
                drift.chain,
            )
        self._seen = {_gap(drift) for drift in report.drifts}
        log.info("reconciled %d balances, %d drifting", report.checked, len(lasting))
        return lasting


def _gap(drift: Drift) -> tuple[int, str, int]:
    return (drift.holder_id, drift.symbol, drift.chain - drift.expected)
