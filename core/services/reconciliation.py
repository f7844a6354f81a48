"""Comparing the ledger with the chain: every balance the ledger holds, as the chain sees it.

The chain should hold the ledger's balance minus what settlements have not carried there yet
(movements made with ``settle_later``, see :mod:`core.services.settlement`): those are not
drift, only late.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.model import EntityType
from core.ports import TokenChain, UnitOfWork, UnitOfWorkFactory, Wallets


@dataclass(frozen=True, slots=True)
class Drift:
    """A holder whose on-chain balance differs from what the ledger says it should be."""

    holder_id: int
    symbol: str
    ledger: int
    chain: int
    # Of the ledger's balance, the part no settlement has carried onto the chain yet.
    unsettled: int = 0

    @property
    def expected(self) -> int:
        """What the chain should hold: the ledger's balance less what is not settled yet."""
        return self.ledger - self.unsettled


@dataclass(frozen=True, slots=True)
class Reconciliation:
    checked: int
    drifts: list[Drift]


async def positions(uow: UnitOfWork) -> list[tuple[int, int, int, int]]:
    """Every ``(holder_id, token_id, ledger balance, unsettled)`` where either is non-zero,
    by holder and token; the chain should hold ``balance - unsettled``."""
    balances = {(h, t): amount for h, t, amount in await uow.ledger.all_holdings()}
    unsettled = await uow.ledger.unsettled()
    found = []
    for key in sorted(balances.keys() | unsettled.keys()):
        holder_id, token_id = key
        found.append((holder_id, token_id, balances.get(key, 0), unsettled.get(key, 0)))
    return found


async def expected_on_chain(uow: UnitOfWork) -> list[tuple[int, int, int]]:
    """What the chain should hold: every positive ``(holder_id, token_id, amount)`` — what a
    fresh chain is rebuilt with, leaving the unsettled part to the settlements."""
    return [
        (holder_id, token_id, balance - unsettled)
        for holder_id, token_id, balance, unsettled in await positions(uow)
        if balance - unsettled > 0
    ]


async def reconcile(
    uow_factory: UnitOfWorkFactory, chain: TokenChain, wallets: Wallets
) -> Reconciliation:
    """Check every ledger balance against the holder's custodial address on chain.

    The chain should hold the balance less what is not settled yet (see :func:`positions`).
    Read-only: drift is reported, never "fixed" here — a drift means a mint or burn that the
    ledger does not know about (or the reverse), which a person must look at. The ledger and
    the chain are read one after the other, so a settlement or purchase landing in between
    shows once; only drift that lasts (``jobs.purchases.DriftReporter``) means something.
    """
    async with uow_factory() as uow:
        tokens = {e.id: e for e in await uow.entities.all_of_type(EntityType.TOKEN)}
        found = await positions(uow)
    drifts = []
    for holder_id, token_id, amount, unsettled in found:
        token = tokens[token_id]
        address = str(token.properties["address"])
        on_chain = await chain.balance_of(address, wallets.custodial_address(holder_id))
        if on_chain != amount - unsettled:
            symbol = str(token.properties["symbol"])
            drifts.append(Drift(holder_id, symbol, amount, on_chain, unsettled))
    return Reconciliation(checked=len(found), drifts=drifts)
