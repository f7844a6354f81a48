"""What must hold once the saga has recovered, read straight from the database and the chain.

- every paid purchase is settled: COMPLETED (minted and credited exactly once), REFUNDED, or
  CLAWED_BACK (credited once, debited once) — and the fan was told (``notified``);
- an unpaid purchase is PENDING and never minted or credited;
- a REFUNDED purchase was never credited, and never minted (its reference may be used up,
  voided, but the supply shows no mint); every REFUNDED one was refunded at the provider, and
  nothing else was, except payments that paid nothing (``returned``);
- the ledger adds up to the balances, and the chain agrees with both: each holder's balance,
  each token's total supply (nothing minted twice, nothing minted unrecorded), and each
  credit's and clawback's reference is applied on chain exactly when the ledger has it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from adapters.db.engine import Database
from adapters.db.schema import holdings, ledger, purchases
from adapters.db.unit_of_work import SqlUnitOfWork
from core.model import EntityType
from core.ports import TokenChain, Wallets
from core.purchases import PurchaseState
from core.services.reconciliation import reconcile

State = PurchaseState
SETTLED = frozenset({State.COMPLETED, State.REFUNDED, State.CLAWED_BACK})


@dataclass(frozen=True, slots=True)
class Token:
    id: int
    address: str
    symbol: str


async def tokens_of(database: Database) -> list[Token]:
    async with SqlUnitOfWork(database) as uow:
        found = await uow.entities.all_of_type(EntityType.TOKEN)
    return [Token(e.id, str(e.properties["address"]), str(e.properties["symbol"])) for e in found]


async def purchase_rows(database: Database) -> dict[int, dict[str, Any]]:
    rows = await database.execute(
        lambda c: c.execute(select(purchases).order_by(purchases.c.id)).mappings().all()
    )
    return {row["id"]: dict(row) for row in rows}


async def ledger_rows(database: Database) -> list[dict[str, Any]]:
    rows = await database.execute(
        lambda c: c.execute(select(ledger).order_by(ledger.c.id)).mappings().all()
    )
    return [dict(row) for row in rows]


async def total_supply(chain: TokenChain, token: str) -> int | None:
    """The token's total supply where the chain can tell (the EVM; the fake sums balances)."""
    supply = getattr(chain, "total_supply", None)
    if supply is not None:
        return int(await supply(token))
    balances = getattr(chain, "balances", None)
    if isinstance(balances, dict):
        return int(sum(amount for (address, _), amount in balances.items() if address == token))
    return None


async def problems(
    database: Database,
    expected: Mapping[int, Collection[State]],
    *,
    chain: TokenChain | None,
    wallets: Wallets,
    persistent: bool,
    refunds: Mapping[str, str] | None = None,
    returned: Collection[str] = (),
) -> list[str]:
    """Everything that breaks the invariants (empty when recovery was right).

    ``expected``: the states each purchase may end in. ``chain``: the chain to compare with
    (None: not inspectable here, e.g. a killed process's embedded chain); ``persistent``: it
    is the chain the crashed process wrote to (so every mint it made is still there).
    ``refunds``: the provider's refunds by payment; ``returned``: payments that paid nothing.
    """
    found: list[str] = []
    rows = await purchase_rows(database)
    entries = await ledger_rows(database)
    by_reference = Counter(entry["reference"] for entry in entries)
    amount_of = {entry["reference"]: entry["amount"] for entry in entries}
    tokens = {t.id: t for t in await tokens_of(database)}

    missing = set(expected) - set(rows)
    if missing:
        found.append(f"purchases {sorted(missing)} are not in the database")
    for purchase_id, row in rows.items():
        state = State(row["state"])
        credit, clawback = f"purchase:{purchase_id}", f"clawback:{purchase_id}"
        where = f"purchase {purchase_id} ({state}, paid {row['payment_ref']})"
        allowed = expected.get(purchase_id)
        if allowed is not None and state not in allowed:
            found.append(f"{where}: expected {sorted(allowed)}")
        if row["payment_ref"] is None:
            if state is not State.PENDING:
                found.append(f"{where}: unpaid, yet not pending")
        elif state not in SETTLED:
            found.append(f"{where}: paid but not settled")
        elif row["notified"] != state.value:
            found.append(f"{where}: the fan was told {row['notified']!r}, not the outcome")
        credited, debited = by_reference[credit], by_reference[clawback]
        if state in (State.COMPLETED, State.CLAWED_BACK):
            if credited != 1 or amount_of.get(credit) != row["amount"]:
                found.append(f"{where}: {credited} credits, expected one of {row['amount']}")
        elif credited:
            found.append(f"{where}: credited {credited} times, yet never completed")
        if state is State.COMPLETED and row["reversal"] is not None:
            found.append(f"{where}: reversed ({row['reversal']}) but never clawed back")
        if state is State.CLAWED_BACK:
            owed = row["clawback_amount"] or 0
            if debited != (1 if owed else 0) or (owed and amount_of.get(clawback) != -owed):
                found.append(f"{where}: {debited} debits, expected one of {owed}")
        elif debited:
            found.append(f"{where}: debited {debited} times, yet not clawed back")
        if refunds is not None and row["payment_ref"] is not None:
            refunded = row["payment_ref"] in refunds
            if state is State.REFUNDED and not refunded:
                found.append(f"{where}: REFUNDED, but the provider made no refund")
            if state is not State.REFUNDED and refunded:
                found.append(f"{where}: the provider refunded it, yet it is {state}")
        if chain is not None and persistent and row["token_id"] in tokens:
            address = tokens[row["token_id"]].address
            checked = [(clawback, debited)]
            if state is not State.REFUNDED:  # a refund voids its reference: used, not minted
                checked.append((credit, credited))
            for reference, count in checked:
                on_chain = await chain.applied(address, reference)
                if on_chain != bool(count):
                    found.append(
                        f"{where}: {reference} is {'' if on_chain else 'not '}on chain, "
                        f"{count} times in the ledger"
                    )
    if refunds is not None:
        paid_refs = {row["payment_ref"] for row in rows.values()}
        strays = set(refunds) - paid_refs - set(returned)
        if strays:
            found.append(f"the provider refunded payments of no refunded purchase: {strays}")
        unreturned = set(returned) - set(refunds)
        if unreturned:
            found.append(f"payments that paid nothing were kept: {sorted(unreturned)}")

    # The ledger adds up to the balances.
    sums: dict[tuple[int, int], int] = defaultdict(int)
    for entry in entries:
        sums[entry["holder_id"], entry["token_id"]] += entry["amount"]
    balance_rows = await database.execute(lambda c: c.execute(select(holdings)).mappings().all())
    balances = {(r["holder_id"], r["token_id"]): r["balance"] for r in balance_rows}
    for key in set(sums) | set(balances):
        if sums.get(key, 0) != balances.get(key, 0):
            found.append(
                f"holder/token {key}: ledger sums to {sums.get(key, 0)}, "
                f"balance {balances.get(key, 0)}"
            )

    if chain is not None:
        report = await reconcile(lambda: SqlUnitOfWork(database), chain, wallets)
        found += [f"drift: {drift}" for drift in report.drifts]
        for token in tokens.values():
            supply = await total_supply(chain, token.address)
            in_ledger = sum(a for (_, t), a in sums.items() if t == token.id)
            if supply is not None and supply != in_ledger:
                found.append(f"${token.symbol}: total supply {supply}, ledger {in_ledger}")
    return found
