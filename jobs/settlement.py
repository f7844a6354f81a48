"""The timer of chain settlement: carry ledger movements made without a chain transaction (a
clone chat's costs and rewards) onto the chain, every few seconds.

As with the purchase jobs, APScheduler is only the clock: what is owed is read from the
database each time (``core/services/settlement.py``), so a missed tick loses nothing and a
restart settles what the last process left.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from core.services.settlement import SettleReport
from jobs.timer import tick_until

log = logging.getLogger(__name__)

# Rounds one tick runs back to back while each stops at its limit (a backlog after downtime).
MAX_ROUNDS = 10


class Settles(Protocol):
    async def settle(self, limit: int = ...) -> SettleReport: ...


@dataclass(frozen=True, slots=True)
class SettlementJobs:
    """``run(stop)`` settles at start and then every ``every`` seconds until ``stop`` is set."""

    settlement: Settles
    every: float = 10.0

    async def run(self, stop: asyncio.Event) -> None:
        await tick_until(stop, self.every, self.tick)

    async def tick(self) -> SettleReport | None:
        """Settle (again at once while a round stops at its limit); the last round's report,
        or None if it failed (logged; the next tick tries again)."""
        report: SettleReport | None = None
        for _ in range(MAX_ROUNDS):
            try:
                report = await self.settlement.settle()
            except Exception:
                log.exception("settling ledger movements on chain failed; the next tick retries")
                return None
            if report.made or report.settled or report.failed:
                log.info(
                    "settlement: %d made, %d minted, %d burned, %d netted out, %d tokens moved, "
                    "%d left open after a chain failure",
                    report.made,
                    report.minted,
                    report.burned,
                    report.netted,
                    report.tokens,
                    report.failed,
                )
            if not report.more or report.failed:
                break
        return report
