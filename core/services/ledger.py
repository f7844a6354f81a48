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
) -> bool:
    """Credit (``amount`` > 0) or debit (< 0) a holder, exactly once per ``reference``.

    Returns False when this reference was applied before (a replayed webhook, a resumed saga):
    nothing changes then. A debit larger than the balance raises InsufficientTokens; the
    caller's unit of work then rolls back, ledger entry included.
    """
    if amount == 0:
        raise ValueError("a movement moves something")
    now = clock.now()
    if not await uow.ledger.append(
        token_id, holder_id, amount, kind, reference, metadata or {}, now
    ):
        return False
    balance = await uow.ledger.adjust(holder_id, token_id, amount)
    if balance is None:
        raise InsufficientTokens(needed=-amount)
    if amount > 0:
        # The ONE graph shows who holds what; the balance itself lives beside the ledger.
        await uow.connections.add(holder_id, token_id, Relation.HOLDS_TOKENS, {}, now)
    return True
