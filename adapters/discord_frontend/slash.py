"""Every conversation command as a Discord slash command, with typed options.

Where a command's arguments have a shape (a creator's handle, with autocomplete; an amount of
tokens, a whole number Discord checks), its slash command has those options; the others take
what follows the command as one optional ``text`` option (``/profile bio …``, ``/journey gift
wait 48``). Each callback turns the options back into the command line the conversation reads
(``/buy alice 100``) and hands it to the frontend; nothing is decided here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

import discord
from discord import app_commands

from adapters.discord_frontend.translate import command_line
from bot.conversation.context import Command
from bot.conversation.texts import t

AMOUNT_MAX = 1_000_000_000
DESCRIPTION_MAX = 100  # characters Discord allows in a command's description

Interaction = discord.Interaction[Any]


class Dispatch(Protocol):
    """What a callback hands over: the interaction, the command line it means, and whether
    the person may give the role the command names (``/gate``)."""

    async def __call__(
        self, interaction: Interaction, line: str, *, may_manage_roles: bool = False
    ) -> None: ...


Handles = Callable[[str], Awaitable[list[str]]]


def _client(interaction: Interaction) -> Any:
    return interaction.client


async def _dispatch(interaction: Interaction, *values: object, may_manage: bool = False) -> None:
    assert interaction.command is not None
    dispatch: Dispatch = _client(interaction).dispatch_line
    line = command_line(interaction.command.name, *values)
    await dispatch(interaction, line, may_manage_roles=may_manage)


def may_give(interaction: Interaction, role: discord.Role) -> bool:
    """Whether the person may have the bot give ``role`` to others: they may manage the
    server's roles (not just a channel's permissions) and the role ranks below their highest
    (the owner excepted), it is an ordinary role (not @everyone, not a bot's or an
    integration's, without administrator rights), and it ranks below the bot's own."""
    member, guild = interaction.user, interaction.guild
    if not isinstance(member, discord.Member) or guild is None:
        return False
    is_owner = guild.owner_id == member.id
    if not (is_owner or member.guild_permissions.manage_roles):
        return False
    if role.is_default() or role.managed or role.permissions.administrator:
        return False
    if not is_owner and not role < member.top_role:
        return False
    me = guild.me
    return me is not None and role < me.top_role


# One callback per shape: discord.py reads the options from their signatures.
@app_commands.describe(text="what follows the command, as in /help")
async def _text(interaction: Interaction, text: str | None = None) -> None:
    await _dispatch(interaction, text)


async def _nothing(interaction: Interaction) -> None:
    await _dispatch(interaction)


@app_commands.describe(handle="the creator's handle")
async def _handle(interaction: Interaction, handle: str) -> None:
    await _dispatch(interaction, handle)


@app_commands.describe(handle="a creator's handle (all of them if left out)")
async def _maybe_handle(interaction: Interaction, handle: str | None = None) -> None:
    await _dispatch(interaction, handle)


@app_commands.describe(code="the code /link gave you on your other account (empty: get one)")
async def _link(interaction: Interaction, code: str | None = None) -> None:
    await _dispatch(interaction, code)


@app_commands.describe(role="the role to give", min_tokens="how many of your tokens it takes")
async def _gate(
    interaction: Interaction,
    role: discord.Role | None = None,
    min_tokens: app_commands.Range[int, 1, AMOUNT_MAX] | None = None,
) -> None:
    if role is None:
        await _dispatch(interaction, None, min_tokens)
        return
    await _dispatch(interaction, role.mention, min_tokens, may_manage=may_give(interaction, role))


@app_commands.describe(handle="the creator's handle", amount="how many tokens")
async def _handle_amount(
    interaction: Interaction, handle: str, amount: app_commands.Range[int, 1, AMOUNT_MAX]
) -> None:
    await _dispatch(interaction, handle, amount)


@app_commands.describe(handle="the creator's handle", question="what to ask their AI clone")
async def _handle_question(interaction: Interaction, handle: str, question: str) -> None:
    await _dispatch(interaction, handle, question)


@app_commands.describe(handle="the creator's handle", stars="from 1 to 5", comment="optional")
async def _rating(
    interaction: Interaction,
    handle: str,
    stars: app_commands.Range[int, 1, 5],
    comment: str | None = None,
) -> None:
    await _dispatch(interaction, handle, stars, comment)


@app_commands.describe(
    name="your name as fans see it", email="where we reach you", niches="comma-separated"
)
async def _register(interaction: Interaction, name: str, email: str, niches: str) -> None:
    await _dispatch(interaction, f"{name} | {email} | {niches}")


@app_commands.describe(symbol="3 to 8 letters", price_usd="the price of one token, e.g. 1.50")
async def _token(interaction: Interaction, symbol: str, price_usd: str | None = None) -> None:
    await _dispatch(interaction, symbol, price_usd)


Callback = Callable[..., Coroutine[Any, Any, None]]
SHAPES: dict[str, Callback] = {
    "help": _nothing,
    "following": _nothing,
    "balance": _nothing,
    "end": _nothing,
    "events": _nothing,
    "creator": _handle,
    "follow": _handle,
    "unfollow": _handle,
    "chat": _handle,
    "stop": _maybe_handle,
    "buy": _handle_amount,
    "ask": _handle_question,
    "rate": _rating,
    "register": _register,
    "token": _token,
    "link": _link,
    "gate": _gate,
}


Slash = app_commands.Command[Any, ..., None]


def slash_commands(commands: list[Command], handles: Handles) -> list[Slash]:
    """The slash commands for the conversation's commands; ``handles`` completes handles."""

    async def complete(_interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        found = await handles(current.strip().lstrip("@").lower())
        return [app_commands.Choice(name=f"@{handle}", value=handle) for handle in found[:25]]

    made = []
    for command in commands:
        callback = SHAPES.get(command.name, _text)
        description = t(command.description_key)
        slash: Slash = app_commands.Command(
            name=command.name,
            description=description[:DESCRIPTION_MAX],
            callback=callback,
        )
        if "handle" in slash._params:
            slash.autocomplete("handle")(complete)
        made.append(slash)
    return made
