"""Fakes of the role gates' storage (adapters/db/roles.py) and of a platform's roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.roles import Granted, RoleGate, RolesUnavailable
from tests.fakes.store import FakeStore


class FakeRoleGateRepository:
    def __init__(self, db: FakeStore) -> None:
        self._db = db

    async def put(self, gate: RoleGate, now: datetime) -> None:
        self._db.require(gate.creator_id, gate.token_id)
        self._db.role_gates[gate.space_id, gate.role_id] = gate

    async def of_creator(self, creator_id: int) -> list[RoleGate]:
        return [g for g in self._db.role_gates.values() if g.creator_id == creator_id]

    async def gates(self, token_ids: Sequence[int] | None = None) -> list[RoleGate]:
        found = sorted(self._db.role_gates.values(), key=lambda g: (g.space_id, g.role_id))
        return [g for g in found if token_ids is None or g.token_id in token_ids]

    async def eligible(self, gate: RoleGate, platform: str) -> dict[str, int]:
        holders = {
            holder
            for (holder, token), balance in self._db.holdings.items()
            if token == gate.token_id and balance >= gate.min_tokens
        }
        return {
            member: row.user_id
            for (on, member), row in self._db.identities.items()
            if on == platform and row.user_id in holders
        }

    async def granted(self, gate: RoleGate) -> set[str]:
        return {m for s, r, m in self._db.role_grants if (s, r) == (gate.space_id, gate.role_id)}

    async def record(self, gate: RoleGate, member_id: str, granted: bool, now: datetime) -> None:
        key = (gate.space_id, gate.role_id, member_id)
        if granted:
            self._db.role_grants.add(key)
        else:
            self._db.role_grants.discard(key)

    async def ledger_changes(self, after_id: int) -> tuple[int, set[int]]:
        # The ledger's entries in the order they were made: their ids are 1, 2, …
        rows = list(self._db.ledger.values())
        return max(after_id, len(rows)), {row.token_id for row in rows[after_id:]}


@dataclass
class FakeRoleManager:
    """A platform's roles in memory: who has which role in which server."""

    members: set[tuple[str, str]] = field(default_factory=set)  # (space, member) present
    roles: set[tuple[str, str, str]] = field(default_factory=set)  # (space, role, member)
    connected: bool = True
    refuse: bool = False  # the platform refuses (the bot lacks the permission)

    async def grant(self, space_id: str, role_id: str, member_id: str) -> Granted:
        self._check()
        if (space_id, member_id) not in self.members:
            return Granted.ABSENT
        if (space_id, role_id, member_id) in self.roles:
            return Granted.HAD_IT
        self.roles.add((space_id, role_id, member_id))
        return Granted.GIVEN

    async def revoke(self, space_id: str, role_id: str, member_id: str) -> None:
        self._check()
        self.roles.discard((space_id, role_id, member_id))

    def _check(self) -> None:
        if not self.connected:
            raise RolesUnavailable("not connected")
        if self.refuse:
            raise PermissionError("Missing Permissions")
