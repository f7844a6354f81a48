"""The timer of token-gated roles: after ledger changes, and every gate now and then.

Each tick looks at the ledger entries made since the last one and syncs the gates of the
tokens they moved; every ``recheck_every`` seconds, and at start, every gate is synced, which
also repairs what a failed call left, and what an entry committed late missed (on PostgreSQL an
entry may commit after one with a higher id).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from core.roles import RolesUnavailable
from core.services.roles import RoleGateService
from jobs.timer import tick_until

log = logging.getLogger(__name__)


@dataclass
class RoleJobs:
    """``run(stop)``: ``tick`` every ``every`` seconds until ``stop`` is set."""

    roles: RoleGateService
    every: float = 5.0
    recheck_every: float = 600.0
    _seen: int = field(default=0, init=False)
    _full_at: float = field(default=float("-inf"), init=False)

    async def run(self, stop: asyncio.Event) -> None:
        await tick_until(stop, self.every, self.tick)

    async def tick(self) -> None:
        try:
            last, tokens = await self.roles.ledger_changes(self._seen)
            full = time.monotonic() - self._full_at >= self.recheck_every
            if full:
                report = await self.roles.sync()
                self._full_at = time.monotonic()
            elif tokens:
                report = await self.roles.sync(tokens)
            else:
                self._seen = last
                return
            self._seen = last
        except RolesUnavailable as e:
            log.debug("roles not synced: %s", e)
            return
        except Exception:
            log.exception("syncing token-gated roles failed; the next tick tries again")
            return
        if report.granted or report.revoked or report.failed:
            log.info(
                "roles: %d granted, %d taken back, %d failed",
                report.granted,
                report.revoked,
                report.failed,
            )
