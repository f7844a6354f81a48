"""The Discord frontend: a discord.py client whose slash commands, buttons and DMs go to the
router, and whose ``push`` brings journey steps and broadcasts to people's DMs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from adapters.discord_frontend.responder import (
    DEFER_AFTER,
    ChannelResponder,
    InteractionResponder,
)
from adapters.discord_frontend.slash import slash_commands
from adapters.discord_frontend.translate import (
    PLATFORM,
    incoming_from_dm,
    incoming_from_user,
    message_kwargs,
)
from bot.conversation import MessageRef, Reply, Router

log = logging.getLogger(__name__)

PUSHES_AT_ONCE = 4  # DMs sent side by side: discord.py waits out each route's rate limit
RETRY_FIRST, RETRY_MAX = 5.0, 300.0  # seconds before connecting again after a failure


@dataclass(frozen=True, slots=True)
class DiscordOptions:
    token: str
    sync_commands: bool = True  # register the slash commands with Discord at start-up


class _Client(discord.Client):
    """discord.py's client, handing what arrives to the frontend."""

    def __init__(self, frontend: DiscordFrontend, **options: Any) -> None:
        # The bot has no voice: discord.py need not warn that voice's packages are missing.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True  # roles, the servers the bot is in
        intents.dm_messages = True  # plain DMs: a /chat session's questions
        super().__init__(intents=intents, **options)
        self.frontend = frontend
        self.tree = app_commands.CommandTree(self)

    async def dispatch_line(
        self, interaction: discord.Interaction[Any], line: str, *, may_manage_roles: bool = False
    ) -> None:
        await self.frontend.handle(interaction, line=line, may_manage_roles=may_manage_roles)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.type is discord.InteractionType.component:
            data: dict[str, Any] = dict(interaction.data or {})
            custom_id = str(data.get("custom_id", ""))
            if custom_id.startswith("/"):
                await self.frontend.handle(interaction, button=custom_id)

    async def on_message(self, message: discord.Message) -> None:
        await self.frontend.on_message(message)


class DiscordFrontend:
    """Translates between Discord and the conversation; decides nothing itself."""

    def __init__(
        self,
        options: DiscordOptions,
        router: Router,
        handles: Callable[[str], Awaitable[list[str]]],
        *,
        on_unreachable: Callable[[str], Awaitable[None]] | None = None,
        defer_after: float = DEFER_AFTER,
        **client_options: Any,
    ) -> None:
        self.options = options
        self._defer_after = defer_after
        self._router = router
        self._on_unreachable = on_unreachable
        self._pushing = asyncio.Semaphore(PUSHES_AT_ONCE)
        self._client_options = client_options
        self._handles = handles
        self.client = self._new_client()

    def _new_client(self) -> _Client:
        client = _Client(self, **self._client_options)
        for slash in slash_commands(self._router.commands, self._handles):
            client.tree.add_command(slash)
        return client

    async def handle(
        self,
        interaction: discord.Interaction[Any],
        *,
        line: str = "",
        button: str | None = None,
        may_manage_roles: bool = False,
    ) -> None:
        """A slash command (its command line) or a pressed button, through the router.
        ``may_manage_roles``: the person may give the role the command names (slash.may_give)."""
        incoming = incoming_from_user(
            interaction.user,
            text=line,
            button=button,
            space=interaction.guild_id,
            may_manage_roles=may_manage_roles,
        )
        responder = InteractionResponder(interaction, self._defer_after)
        try:
            await self._router.dispatch(incoming, responder)
        finally:
            responder.close()

    async def on_message(self, message: discord.Message) -> None:
        incoming = incoming_from_dm(message)
        if incoming is None:
            return
        await self._router.dispatch(incoming, ChannelResponder(message.channel, self.client))

    async def push(self, chat_id: str, reply: Reply) -> MessageRef | None:
        """Send ``reply`` to a person's DMs outside any conversation (a journey step, a
        broadcast). None when they cannot be reached: DMs closed to the bot, the account gone."""
        async with self._pushing:
            try:
                user = self.client.get_user(int(chat_id)) or await self.client.fetch_user(
                    int(chat_id)
                )
                channel = user.dm_channel or await user.create_dm()
                message = await channel.send(**message_kwargs(reply))
            except (discord.Forbidden, discord.NotFound) as e:
                log.info("Discord: %s cannot be reached (%s)", chat_id, e.text or e.status)
                if self._on_unreachable is not None:
                    await self._on_unreachable(chat_id)
                return None
        return MessageRef(str(message.channel.id), str(message.id))

    async def run(self, stop: asyncio.Event) -> None:
        """Connect and serve until ``stop`` is set. Discord failing (a refused token, an
        outage discord.py gives up on) is logged and retried: Telegram, the payment webhooks
        and the jobs that run beside it go on."""
        wait = RETRY_FIRST
        while not stop.is_set():
            try:
                await self._serve(stop)
                return
            except discord.LoginFailure:
                log.error("Discord refused the token (discord.token): Discord stays off")
                await stop.wait()
                return
            except Exception:
                log.exception("Discord failed; connecting again in %.0f s", wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            wait = min(wait * 2, RETRY_MAX)

    async def _serve(self, stop: asyncio.Event) -> None:
        client = self.client
        if client.is_closed():  # a client closed by a failure cannot start again
            self.client = client = self._new_client()
        async with client:
            await client.login(self.options.token)
            if self.options.sync_commands:
                await client.tree.sync()
            connection = asyncio.create_task(client.connect())
            waiting = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({connection, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if connection in done:
                connection.result()  # a connection that ended on its own: say why
            log.info("Discord: stopping")
        if not connection.done():
            connection.cancel()
            await asyncio.gather(connection, return_exceptions=True)


__all__ = ["PLATFORM", "DiscordFrontend", "DiscordOptions"]
