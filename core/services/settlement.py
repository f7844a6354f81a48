"""Chain settlement: the chain converges to ledger movements made without a transaction.

A movement recorded with ``move_tokens(..., settle_later=True)`` (a clone chat's cost or
reward) changes only the ledger. :meth:`ChainSettlement.settle` carries such movements onto
the chain in three steps, each safe to repeat after a crash at any point:

1. One transaction nets the movements awaiting settlement per (holder, token) into a new open
   ``Settlement`` and ties each movement to it, so the set is fixed before the chain is touched.
   Two batches running at once never take the same movement (PostgreSQL: ``FOR UPDATE SKIP
   LOCKED``; SQLite: one writer at a time).
2. Each open settlement mints (net > 0) or burns (net < 0) on the holder's custodial address
   with the reference ``settle:<id>``. The contract takes a reference once, so a retry — after
   a crash between the chain and step 3, or by a second process — changes nothing on chain.
   A net of 0 needs no transaction.
3. The settlement is marked done. A ``ChainError`` instead leaves it open (with the attempt
   counted) for the next run.

Mints go before burns: a holder's burn may need a mint of an earlier settlement to land first.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from core.errors import ChainError
from core.model import Entity
from core.ports import Clock, TokenChain, UnitOfWorkFactory, Wallets
from core.settlements import Settlement

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 500
DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class SettleReport:
    """What one :meth:`ChainSettlement.settle` did."""

    made: int = 0  # settlements made from movements awaiting settlement
    minted: int = 0  # settlements finished with a mint
    burned: int = 0  # … with a burn
    netted: int = 0  # … with nothing to move (the movements cancelled out)
    tokens: int = 0  # tokens minted plus tokens burned by the settlements finished
    failed: int = 0  # settlements the chain failed: left open for the next run
    more: bool = False  # the run stopped at its limit: more may be waiting

    @property
    def settled(self) -> int:
        """Settlements this run finished."""
        return self.minted + self.burned + self.netted


class _Outcome(Enum):
    MINTED = "minted"
    BURNED = "burned"
    NETTED = "netted"
    FAILED = "failed"
    ALREADY_DONE = "already done"  # another run marked it done first


class ChainSettlement:
    """Carries ``settle_later`` ledger movements onto the chain; see the module docstring."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        chain: TokenChain,
        wallets: Wallets,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._uow = uow_factory
        self._clock = clock
        self._chain = chain
        self._wallets = wallets
        self._concurrency = concurrency
        # One run at a time in this process (the database and the references guard the rest).
        self._running = asyncio.Lock()

    async def settle(self, limit: int = DEFAULT_LIMIT) -> SettleReport:
        """Batch up to ``limit`` waiting movements, then apply up to ``limit`` open
        settlements (those of earlier runs too); what was done."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        async with self._running:
            async with self._uow() as uow:
                made = await uow.ledger.batch_unsettled(limit, self._clock.now())
                await uow.commit()
            async with self._uow() as uow:
                due = await uow.ledger.open_settlements(limit)
                tokens = await uow.entities.get_many(sorted({s.token_id for s in due}))
            results: list[tuple[Settlement, _Outcome]] = []
            # Mints (and nets of 0) first: a burn may need an earlier settlement's mint.
            for phase in ([s for s in due if s.amount >= 0], [s for s in due if s.amount < 0]):
                results.extend(await self._apply_all(phase, tokens))
        counts = Counter(outcome for _, outcome in results)
        moving = (_Outcome.MINTED, _Outcome.BURNED)
        return SettleReport(
            made=len(made),
            minted=counts[_Outcome.MINTED],
            burned=counts[_Outcome.BURNED],
            netted=counts[_Outcome.NETTED],
            tokens=sum(abs(s.amount) for s, outcome in results if outcome in moving),
            failed=counts[_Outcome.FAILED],
            more=sum(s.entries for s in made) == limit or len(due) == limit,
        )

    async def _apply_all(
        self, settlements: list[Settlement], tokens: Mapping[int, Entity]
    ) -> list[tuple[Settlement, _Outcome]]:
        if not settlements:
            return []
        slots = asyncio.Semaphore(self._concurrency)

        async def apply(settlement: Settlement) -> _Outcome:
            async with slots:
                return await self._apply(settlement, tokens[settlement.token_id])

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(apply(s)) for s in settlements]
        except ExceptionGroup as failures:  # not the chain's (that is counted): a bug, an outage
            if len(failures.exceptions) == 1:
                raise failures.exceptions[0] from None
            raise
        return [(s, task.result()) for s, task in zip(settlements, tasks, strict=True)]

    async def _apply(self, s: Settlement, token: Entity) -> _Outcome:
        tx: str | None = None
        if s.amount:
            address = str(token.properties["address"])
            holder = self._wallets.custodial_address(s.holder_id)
            try:
                if s.amount > 0:
                    tx = await self._chain.mint(address, holder, s.amount, s.reference)
                else:
                    tx = await self._chain.burn(address, holder, -s.amount, s.reference)
            except ChainError as e:
                log.warning(
                    "settlement %d (%+d $%s for user %d, attempt %d) failed; left open for "
                    "the next run: %s",
                    s.id,
                    s.amount,
                    token.properties.get("symbol", "?"),
                    s.holder_id,
                    s.attempts + 1,
                    e,
                )
                async with self._uow() as uow:
                    await uow.ledger.settlement_failed(s.id, str(e))
                    await uow.commit()
                return _Outcome.FAILED
        async with self._uow() as uow:
            marked = await uow.ledger.settlement_done(s.id, tx, self._clock.now())
            await uow.commit()
        if not marked:
            return _Outcome.ALREADY_DONE
        if s.amount > 0:
            return _Outcome.MINTED
        return _Outcome.BURNED if s.amount < 0 else _Outcome.NETTED
