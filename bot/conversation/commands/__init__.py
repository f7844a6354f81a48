"""Every command, written once. ``all_commands()`` is the list the router and menus use."""

from __future__ import annotations

from bot.conversation.commands import (
    basics,
    broadcast,
    buying,
    clones,
    creator_admin,
    discovery,
    following,
    gates,
    journeys,
    knowledge,
    linking,
    tokens,
)
from bot.conversation.context import Command

PLAIN_TEXT = clones.PLAIN_TEXT
FILE = knowledge.FILE


def all_commands() -> list[Command]:
    """The commands in the order help shows them."""
    return [
        *basics.COMMANDS,
        *discovery.COMMANDS,
        *following.COMMANDS,
        *creator_admin.COMMANDS,
        *tokens.COMMANDS,
        *buying.COMMANDS,
        *clones.COMMANDS,
        *knowledge.COMMANDS,
        *broadcast.COMMANDS,
        *gates.COMMANDS,
        *journeys.COMMANDS,
        *linking.COMMANDS,
    ]
