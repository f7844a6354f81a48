"""``RoleManager`` on Discord: a server member's roles, through discord.py's HTTP client."""

from __future__ import annotations

import discord

from core.roles import RolesUnavailable

REASON = "one-bot: token-gated role"  # shown in the server's audit log


class DiscordRoleManager:
    """Gives and takes a server's roles as the bot (it needs Manage Roles, and its own role
    above the gated one: Discord refuses otherwise, and the refusal is logged)."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def grant(self, space_id: str, role_id: str, member_id: str) -> bool:
        self._ready()
        try:
            await self._client.http.add_role(
                int(space_id), int(member_id), int(role_id), reason=REASON
            )
        except discord.NotFound:
            return False  # not in that server (or the role is gone)
        return True

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
