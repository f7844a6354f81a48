"""/link [CODE]: one person on Telegram and on Discord."""

from __future__ import annotations

from bot.conversation.context import Command, Context
from bot.conversation.messages import Reply
from bot.conversation.texts import t
from core.linking import CODE_TTL


async def link(ctx: Context) -> Reply:
    if ctx.args:
        linked = await ctx.services.links.link(ctx.who, ctx.args)
        return Reply(t("link.done", platform=linked.platform.title()), private=True)
    if not ctx.incoming.is_private:
        # Whoever typed the code would become this person: never shown in a group.
        return Reply(t("link.private_only"), private=True)
    made = await ctx.services.links.code(ctx.who)
    half = len(made.code) // 2
    code = f"{made.code[:half]}-{made.code[half:]}"
    minutes = int(CODE_TTL.total_seconds() // 60)
    return Reply(t("link.code", code=code, minutes=minutes), private=True)


COMMANDS = (Command("link", link),)
