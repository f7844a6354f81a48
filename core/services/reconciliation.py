"""Comparing the ledger with the chain: every balance the ledger holds, as the chain sees it."""

from __future__ import annotations

from dataclasses import dataclass

from core.model import EntityType
from core.ports import TokenChain, UnitOfWorkFactory, Wallets


@dataclass(frozen=True, slots=True)
class Drift:
    """A holder whose on-chain balance differs from the ledger's."""

    holder_id: int
    symbol: str
    ledger: int
    chain: int


@dataclass(frozen=True, slots=True)
class Reconciliation:
    checked: int
    drifts: list[Drift]


async def reconcile(
    uow_factory: UnitOfWorkFactory, chain: TokenChain, wallets: Wallets
) -> Reconciliation:
    """Check every non-zero ledger balance against the holder's custodial address on chain.

    Read-only: drift is reported, never "fixed" here — a drift means a mint or burn that the
    ledger does not know about (or the reverse), which a person must look at.
    """
    async with uow_factory() as uow:
        tokens = {e.id: e for e in await uow.entities.all_of_type(EntityType.TOKEN)}
        balances = await uow.ledger.all_holdings()
    drifts = []
    for holder_id, token_id, amount in balances:
        token = tokens[token_id]
        address = str(token.properties["address"])
        on_chain = await chain.balance_of(address, wallets.custodial_address(holder_id))
        if on_chain != amount:
            symbol = str(token.properties["symbol"])
            drifts.append(Drift(holder_id, symbol, amount, on_chain))
    return Reconciliation(checked=len(balances), drifts=drifts)
