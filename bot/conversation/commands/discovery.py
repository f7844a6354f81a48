"""/creators [NICHE] and /creator HANDLE."""

from __future__ import annotations

from bot.conversation.context import Command, Context
from bot.conversation.messages import Reply
from bot.conversation.texts import t
from bot.conversation.views import creator_list_reply, profile_reply


async def creators(ctx: Context) -> Reply:
    niche = ctx.args or None
    found = await ctx.services.creators.discover(ctx.who, niche)
    if not found:
        return Reply(t("creators.none_niche", niche=niche) if niche else t("creators.none"))
    title = t("creators.title_niche", niche=niche.lower()) if niche else t("creators.title")
    return creator_list_reply(title, "creators.line", found, t("creators.footer"))


async def creator(ctx: Context) -> Reply:
    profile = await ctx.services.creators.profile(ctx.who, ctx.require_args())
    return profile_reply(profile)


COMMANDS = (
    Command("creators", creators),
    Command("creator", creator),
)
