"""Chain settlement: ledger movements made at once, carried onto the chain afterwards.

Most movements reach the chain first and the ledger after (the purchase saga). Some are too
frequent for a transaction each (a cost and a reward per clone chat message): they are
recorded in the ledger only, marked as awaiting settlement, and a job later nets them per
(holder, token) into a :class:`Settlement` — one mint or burn of the net amount, whose chain
reference is :attr:`Settlement.reference`. Until a settlement is done its amount is not on
chain, which reconciliation takes into account (``core/services/settlement.py``).

::

    movement (settle_later) ──batch──▶ settlement (open) ──mint/burn settle:<id>──▶ done
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Settlement:
    """The net of some movements of one holder in one token, to mint (> 0) or burn (< 0)."""

    id: int
    holder_id: int
    token_id: int
    amount: int
    entries: int
    created_at: datetime
    attempts: int = 0

    @property
    def reference(self) -> str:
        """The chain reference of its mint or burn: the same on every retry, so it lands once."""
        return f"settle:{self.id}"
