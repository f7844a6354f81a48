"""Every command, written once. ``all_commands()`` is the list the router and menus use."""

from __future__ import annotations

from bot.conversation.commands import (
    basics,
    buying,
    creator_admin,
    discovery,
    following,
    tokens,
)
from bot.conversation.context import Command


def all_commands() -> list[Command]:
    """The commands in the order help shows them."""
    return [
        *basics.COMMANDS,
        *discovery.COMMANDS,
        *following.COMMANDS,
        *creator_admin.COMMANDS,
        *tokens.COMMANDS,
        *buying.COMMANDS,
    ]
