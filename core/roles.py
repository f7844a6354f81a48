"""Token-gated roles: a chat server's role for the holders of a creator's token.

A creator who manages a Discord server sets a gate (``/gate ROLE MIN_TOKENS``): people who
linked their Discord account and hold at least ``min_tokens`` of the creator's token get the
role, and lose it when their balance drops below. The bot takes back only roles it gave.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RoleGate:
    """``role_id`` in ``space_id`` (a Discord server) for holders of ``min_tokens`` of
    ``token_id`` (issued by ``creator_id``)."""

    space_id: str
    role_id: str
    creator_id: int
    token_id: int
    min_tokens: int


class Granted(StrEnum):
    """What giving a role did."""

    GIVEN = "given"  # the bot gave it: the bot may take it back
    HAD_IT = "had_it"  # the person had it already (someone gave it by hand): not the bot's
    ABSENT = "absent"  # the person is not in that server


class RolesUnavailable(Exception):
    """No platform here can give roles now (not connected yet, or none runs in this process)."""


class RoleManager(Protocol):
    """Gives and takes a platform's roles (Discord: a server's roles)."""

    async def grant(self, space_id: str, role_id: str, member_id: str) -> Granted:
        """Give the role (see :class:`Granted`). RolesUnavailable when the platform cannot be
        reached now; other errors when it refused (permissions, the role's rank)."""
        ...

    async def revoke(self, space_id: str, role_id: str, member_id: str) -> None:
        """Take the role back (done, too, when the person left the server)."""
        ...


class RoleGateRepository(Protocol):
    """The ``role_gates`` and ``role_grants`` tables, and who qualifies for a gate."""

    async def put(self, gate: RoleGate, now: datetime) -> None:
        """Set a gate (a gate on the same role is replaced)."""
        ...

    async def of_creator(self, creator_id: int) -> list[RoleGate]:
        """A creator's gates."""
        ...

    async def gates(self, token_ids: Sequence[int] | None = None) -> list[RoleGate]:
        """The gates on these tokens (all gates with None)."""
        ...

    async def eligible(self, gate: RoleGate, platform: str) -> dict[str, int]:
        """The ``platform`` accounts (member id → person) holding at least the gate's
        minimum of its token."""
        ...

    async def granted(self, gate: RoleGate) -> set[str]:
        """The members the bot gave the gate's role to (and has not taken back)."""
        ...

    async def record(self, gate: RoleGate, member_id: str, granted: bool, now: datetime) -> None:
        """Remember that the role was given to (or taken back from) ``member_id``."""
        ...

    async def ledger_changes(self, after_id: int) -> tuple[int, set[int]]:
        """The tokens whose balances moved in ledger entries after ``after_id``, and the
        last entry's id (``after_id`` when there is none)."""
        ...
