"""Discord interactions and DMs → ``Incoming``; ``Reply`` → discord.py message arguments.

Translation only. A person's chat is their user id: notifications (journey steps, broadcasts)
go to their DMs, whatever channel they used the bot in.
"""

from __future__ import annotations

import io
from typing import Any

import discord

from bot.conversation import Attachment, Incoming, Reply

PLATFORM = "discord"
CONTENT_MAX = 2000  # characters in one message
LABEL_MAX = 80  # characters in a button's label
CUSTOM_ID_MAX = 100  # characters of a button's data
ROW_MAX = 5  # buttons in a row, and rows in a message


def incoming_from_user(
    user: discord.abc.User,
    *,
    text: str = "",
    button: str | None = None,
    space: int | None = None,
    may_manage_roles: bool = False,
) -> Incoming:
    """What ``user`` did: typed ``text`` (a command line or plain words) or pressed ``button``.

    The chat is the person's DMs (their user id), wherever they used the bot: it reaches them
    alone, so it is where notifications go (``is_private``)."""
    return Incoming(
        PLATFORM,
        str(user.id),
        str(user.id),
        name=user.display_name,
        text=text,
        button=button,
        is_private=True,
        space=None if space is None else str(space),
        may_manage_roles=may_manage_roles and space is not None,
    )


def incoming_from_dm(message: discord.Message) -> Incoming | None:
    """A direct message to the bot; None for bots (itself included) and messages in servers
    (there the bot only answers slash commands)."""
    if message.author.bot or message.guild is not None:
        return None
    attachment = None
    if message.attachments:
        first = message.attachments[0]
        attachment = Attachment(first.filename, first.content_type, first.size, first.url)
    if not message.content and attachment is None:
        return None
    incoming = incoming_from_user(message.author, text=message.content)
    if attachment is None:
        return incoming
    return Incoming(**{**_fields(incoming), "attachment": attachment})


def _fields(incoming: Incoming) -> dict[str, Any]:
    return {name: getattr(incoming, name) for name in incoming.__slots__}


def command_line(name: str, *values: object) -> str:
    """``/name`` and the option values given, as the conversation reads a typed line."""
    given = [str(value).strip() for value in values if value is not None and str(value).strip()]
    return " ".join([f"/{name}", *given])


def message_kwargs(reply: Reply, *, editing: bool = False) -> dict[str, Any]:
    """The arguments of ``send``/``send_message`` (or, ``editing``, of ``edit``) for ``reply``."""
    text = reply.text if len(reply.text) <= CONTENT_MAX else reply.text[: CONTENT_MAX - 1] + "…"
    kwargs: dict[str, Any] = {"content": text}
    view = view_of(reply)
    if view is not None or editing:
        kwargs["view"] = view
    if reply.media is not None:
        file = discord.File(io.BytesIO(reply.media.data), filename=reply.media.file_name)
        kwargs["attachments" if editing else "file"] = [file] if editing else file
    return kwargs


def view_of(reply: Reply) -> discord.ui.View | None:
    """Reply's buttons as a view: data buttons come back as component interactions whose
    custom id is the data (a command line); url buttons open the link."""
    if not reply.buttons:
        return None
    view = discord.ui.View(timeout=None)  # needs a running event loop
    seen: set[str] = set()  # Discord refuses a message whose buttons share a custom id
    for row, buttons in enumerate(reply.buttons[:ROW_MAX]):
        for button in buttons[:ROW_MAX]:
            label = button.label[:LABEL_MAX]
            if button.url is not None:
                view.add_item(discord.ui.Button(label=label, url=button.url, row=row))
            elif (
                button.data is not None
                and len(button.data) <= CUSTOM_ID_MAX
                and button.data not in seen
            ):
                seen.add(button.data)
                style = discord.ButtonStyle.secondary
                view.add_item(
                    discord.ui.Button(label=label, custom_id=button.data, style=style, row=row)
                )
    # Finished before it is sent: discord.py keeps no copy to dispatch to (a broadcast would
    # pile them up); presses arrive as interactions the frontend routes, after restarts too.
    view.stop()
    return view
