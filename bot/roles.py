"""The ``RoleManager`` port for whichever platform gives roles in this process (Discord)."""

from __future__ import annotations

from core.roles import Granted, RoleManager, RolesUnavailable


class PlatformRoles:
    """Implements ``core.roles.RoleManager`` through the manager a frontend registers when it
    starts; RolesUnavailable until then (the role jobs try again on their next tick)."""

    def __init__(self) -> None:
        self._manager: RoleManager | None = None

    def register(self, manager: RoleManager) -> None:
        self._manager = manager

    def _current(self) -> RoleManager:
        if self._manager is None:
            raise RolesUnavailable("no frontend here gives roles")
        return self._manager

    async def grant(self, space_id: str, role_id: str, member_id: str) -> Granted:
        return await self._current().grant(space_id, role_id, member_id)

    async def revoke(self, space_id: str, role_id: str, member_id: str) -> None:
        await self._current().revoke(space_id, role_id, member_id)
