"""The one way tokens move: an append-only ledger entry and the balance, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import InsufficientTokens
from core.model import Relation
from core.ports import Clock, UnitOfWork


async def move_tokens(
    uow: UnitOfWork,
    clock: Clock,
    *,
    token_id: int,
    holder_id: int,
    amount: int,
    kind: str,
    reference: str,
    metadata: Mapping[str, Any] | None = None,
    settle_later: bool = False,
) -> bool:
    """Credit (``amount`` > 0) or debit (< 0) a holder, exactly once per ``reference``.

    Returns False when this reference was applied before (a replayed webhook, a resumed saga):
    nothing changes then. A debit larger than the balance raises InsufficientTokens, having
    written nothing either, so a caller may catch it and go on with its unit of work.

    The chain changes before the ledger (the caller mints or burns first), unless
    ``settle_later``: then only the ledger changes now, and the entry awaits a settlement
    (``core/services/settlement.py``) that carries it onto the chain later.
    """
    if amount == 0:
        raise ValueError("a movement moves something")
    now = clock.now()
    # The balance first: a refused debit then leaves no entry behind (one that a settlement
    # would carry onto the chain, or that would no longer add up to the balance).
    if await uow.ledger.adjust(holder_id, token_id, amount) is None:
        if await uow.ledger.recorded(reference):
            return False  # a replayed debit: the balance already went down
        raise InsufficientTokens(needed=-amount)
    if not await uow.ledger.append(
        token_id, holder_id, amount, kind, reference, metadata or {}, now, settle_later=settle_later
    ):
        # Applied before (rare: a replay): take the change back.
        if await uow.ledger.adjust(holder_id, token_id, -amount) is None:
            raise AssertionError(f"{reference}: could not take back {amount}")
        return False
    if amount > 0:
        # The ONE graph shows who holds what; the balance itself lives beside the ledger.
        await uow.connections.add(holder_id, token_id, Relation.HOLDS_TOKENS, {}, now)
    return True
