"""/gate ROLE MIN_TOKENS (creators, in their Discord server): a role for their token's holders."""

from __future__ import annotations

import re

from bot.conversation.context import Command, Context, UsageError
from bot.conversation.messages import Reply
from bot.conversation.texts import t
from core.errors import RolesOutsideServer

# A role as Discord writes it in a message (<@&123>), or its bare id.
ROLE = re.compile(r"<@&(\d{1,20})>|(\d{1,20})")


def _role(role_id: str) -> str:
    return f"<@&{role_id}>"  # Discord shows the role's name


async def gate(ctx: Context) -> Reply:
    if not ctx.args:
        symbol, gates = await ctx.services.roles.gates_of(ctx.who)
        if not gates:
            return Reply(t("gate.none"), private=True)
        lines = [t("gate.title")] + [
            t("gate.line", role=_role(g.role_id), least=g.min_tokens, symbol=symbol) for g in gates
        ]
        return Reply("\n".join(lines), private=True)
    if ctx.incoming.space is None:
        raise RolesOutsideServer()  # wherever the arguments come from, the role is a server's
    parts = ctx.args.split()
    found = ROLE.fullmatch(parts[0]) if len(parts) == 2 else None
    if found is None:
        raise UsageError()
    role_id = found.group(1) or found.group(2)
    done = await ctx.services.roles.set_gate(
        ctx.who,
        ctx.incoming.space,
        role_id,
        parts[1],
        may_manage_roles=ctx.incoming.may_manage_roles,
    )
    return Reply(
        t(
            "gate.set",
            role=_role(role_id),
            least=done.gate.min_tokens,
            symbol=done.symbol,
            holders=done.holders,
        )
    )


COMMANDS = (Command("gate", gate, audience="creator"),)
