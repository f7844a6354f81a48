"""``RoleManager`` on Discord: a server member's roles, through discord.py's HTTP client."""

from __future__ import annotations

from collections.abc import Callable

import discord

from core.roles import Granted, RolesUnavailable

REASON = "one-bot: token-gated role"  # shown in the server's audit log


class DiscordRoleManager:
    """Gives and takes a server's roles as the bot (it needs Manage Roles, and its own role
    above the gated one: Discord refuses otherwise, and the refusal is logged)."""

    def __init__(self, client: Callable[[], discord.Client]) -> None:
        self._current = client  # the frontend's client of the moment (it may reconnect anew)

    @property
    def _client(self) -> discord.Client:
        return self._current()

    async def grant(self, space_id: str, role_id: str, member_id: str) -> Granted:
        self._ready()
        http = self._client.http
        try:
            member = await http.get_member(int(space_id), int(member_id))
            if role_id in member.get("roles", []):
                return Granted.HAD_IT  # given by someone else: not the bot's to take back
            await http.add_role(int(space_id), int(member_id), int(role_id), reason=REASON)
        except discord.NotFound:
            return Granted.ABSENT  # not in that server (or the role is gone)
        return Granted.GIVEN

    async def revoke(self, space_id: str, role_id: str, member_id: str) -> None:
        self._ready()
        try:
            await self._client.http.remove_role(
                int(space_id), int(member_id), int(role_id), reason=REASON
            )
        except discord.NotFound:
            return  # left the server, or the role is gone: nothing to take back

    def _ready(self) -> None:
        if not self._client.is_ready():
            raise RolesUnavailable("Discord is not connected yet")
