"""How the conversation answers on Discord: through an interaction, or in a DM channel.

An interaction must be answered within 3 s. The answer goes as the interaction's response when
it is ready in time; a command still working after ``DEFER_AFTER`` seconds (or that shows it is
working, as AI answers do) is deferred ("thinking…") and its answer then replaces that
placeholder. Later messages are follow-ups. Private replies (errors, balances) are ephemeral:
only the person who asked sees them in a server's channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import discord

from adapters.discord_frontend.translate import message_kwargs
from bot.conversation import Attachment, MessageRef, Reply
from bot.conversation.texts import t

log = logging.getLogger(__name__)

DEFER_AFTER = 2.0  # seconds: Discord wants a response within 3
ORIGINAL = "original"  # the message_id of the interaction's own response
STREAM_EVERY = 1.0  # seconds between edits of a growing answer


class InteractionResponder:
    """Answers one interaction (a slash command, a pressed button)."""

    stream_every = STREAM_EVERY

    def __init__(self, interaction: discord.Interaction[Any], defer_after: float = DEFER_AFTER):
        self._interaction = interaction
        self._chat = str(interaction.user.id)
        self._lock = asyncio.Lock()
        self._deferred = False  # a "thinking…" placeholder waits for the first answer
        # Discord's 3 s run from when the interaction was made, not from when it arrived here.
        age = (discord.utils.utcnow() - interaction.created_at).total_seconds()
        self._timer = asyncio.create_task(self._defer(max(0.0, defer_after - max(0.0, age))))

    def close(self) -> None:
        """The command is done: no deferral any more."""
        self._timer.cancel()

    async def _defer(self, after: float) -> None:
        await asyncio.sleep(after)
        async with self._lock:
            if not self._interaction.response.is_done():
                with contextlib.suppress(discord.HTTPException):
                    await self._interaction.response.defer(thinking=True)
                    self._deferred = True

    async def typing(self) -> None:
        return None  # the defer timer shows "thinking…" if the answer takes a while

    async def send(self, reply: Reply) -> MessageRef:
        async with self._lock:
            interaction = self._interaction
            if not interaction.response.is_done():
                kwargs = message_kwargs(reply)
                await interaction.response.send_message(**kwargs, ephemeral=reply.private)
                return MessageRef(self._chat, ORIGINAL)
            if self._deferred:
                self._deferred = False
                if not reply.private:
                    await interaction.edit_original_response(**message_kwargs(reply, editing=True))
                    return MessageRef(self._chat, ORIGINAL)
                # The "thinking…" placeholder is public, and Discord would give the first
                # follow-up its visibility: it is settled first, the answer then goes apart.
                await interaction.edit_original_response(
                    **message_kwargs(Reply(t("discord.answered_privately")), editing=True)
                )
            sent = await interaction.followup.send(
                **message_kwargs(reply), ephemeral=reply.private, wait=True
            )
            return MessageRef(self._chat, str(sent.id))

    async def edit(self, ref: MessageRef, reply: Reply) -> None:
        kwargs = message_kwargs(reply, editing=True)
        if ref.message_id == ORIGINAL:
            await self._interaction.edit_original_response(**kwargs)
        else:
            await self._interaction.followup.edit_message(int(ref.message_id), **kwargs)

    async def answer_payment(self, ok: bool, error: str | None = None) -> None:
        return None  # Discord collects no payments: buying is by card (the checkout page)

    async def download(self, attachment: Attachment) -> bytes:
        return await _download(self._interaction.client, attachment)


class ChannelResponder:
    """Answers in a channel (a DM): plain messages, edited in place."""

    stream_every = STREAM_EVERY

    def __init__(self, channel: discord.abc.Messageable, client: discord.Client) -> None:
        self._channel = channel
        self._client = client
        self._sent: dict[str, discord.Message] = {}

    async def typing(self) -> None:
        with contextlib.suppress(discord.HTTPException):
            await self._channel.typing()

    async def send(self, reply: Reply) -> MessageRef:
        message = await self._channel.send(**message_kwargs(reply))
        self._sent[str(message.id)] = message
        return MessageRef(str(message.channel.id), str(message.id))

    async def edit(self, ref: MessageRef, reply: Reply) -> None:
        message = self._sent.get(ref.message_id)
        if message is None:
            message = await self._channel.fetch_message(int(ref.message_id))
        self._sent[ref.message_id] = await message.edit(**message_kwargs(reply, editing=True))

    async def answer_payment(self, ok: bool, error: str | None = None) -> None:
        return None

    async def download(self, attachment: Attachment) -> bytes:
        return await _download(self._client, attachment)


async def _download(client: discord.Client, attachment: Attachment) -> bytes:
    # The attachment's file_id is its CDN url (translate.incoming_from_dm).
    data: bytes = await client.http.get_from_cdn(attachment.file_id)
    return data
