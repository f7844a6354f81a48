"""Joining one person's identities on two platforms (``/link``): what the core needs.

A person asks for a code on one platform and types it on the other within ``CODE_TTL``; the
code works once. Afterwards both identities are the same person: one set of follows, balances
and journeys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

CODE_TTL = timedelta(minutes=10)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand
CODE_LENGTH = 8


@dataclass(frozen=True, slots=True)
class LinkCode:
    """A code someone asked for: whose it is, where, until when, and whether it was used."""

    code: str
    user_id: int
    platform: str
    expires_at: datetime
    used_at: datetime | None = None


class LinkCodeRepository(Protocol):
    """The ``link_codes`` table."""

    async def add(self, code: LinkCode, now: datetime) -> bool:
        """Keep a new code, and end the person's earlier unused ones (one code works at a
        time); False (nothing changed) if the code exists already."""
        ...

    async def use(self, code: str, now: datetime) -> LinkCode | None:
        """The code as it was, marked used now if it was unused and unexpired (so it works
        once, even for two people typing it at the same moment); None if unknown."""
        ...
