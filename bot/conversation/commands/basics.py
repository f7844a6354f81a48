"""/start and /help."""

from __future__ import annotations

from bot.conversation.context import Command, Context
from bot.conversation.messages import Button, Reply
from bot.conversation.texts import t
from bot.conversation.views import profile_reply
from core.errors import DomainError


async def start(ctx: Context) -> Reply:
    if ctx.args:
        # A deep link (t.me/BOT?start=alice) opens that creator's profile; a fan's share link
        # (start=ref-12) opens the profile of the creator they shared, and thanks them.
        wanted = ctx.args
        if ctx.args.startswith("ref-"):
            wanted = await ctx.services.journeys.join_by_referral(ctx.who, ctx.args) or ""
        try:
            profile = await ctx.services.creators.profile(ctx.who, wanted)
        except DomainError:
            pass  # an old or mistyped link: the ordinary welcome is the best answer
        else:
            name = ctx.incoming.name or ctx.incoming.user_id
            return profile_reply(profile, notice=t("start.deep_link", name=name))
    handle = await ctx.services.identities.creator_handle(ctx.who)
    name = ctx.incoming.name or ctx.incoming.user_id
    if handle:
        text = t("start.welcome_creator", name=name, handle=handle)
        buttons = ((Button(t("button.my_profile"), data="/profile"),),)
    else:
        text = t("start.welcome", name=name)
        buttons = ((Button(t("button.discover"), data="/creators"),),)
    return Reply(text, (*buttons, (Button(t("button.help"), data="/help"),)))


async def help_(ctx: Context) -> Reply:
    handle = await ctx.services.identities.creator_handle(ctx.who)

    def lines(audience: str) -> list[str]:
        return [
            t("help.line", syntax=t(c.syntax_key), description=t(c.description_key))
            for c in ctx.commands
            if c.audience == audience
        ]

    parts = [t("help.title"), "", t("help.fans"), *lines("fan")]
    if handle:
        parts += ["", t("help.creators", handle=handle), *lines("creator")]
    else:
        parts += ["", t("help.become_creator"), *lines("newcomer")]
    parts += ["", t("help.usage_hint")]
    return Reply("\n".join(parts), ((Button(t("button.discover"), data="/creators"),),))


COMMANDS = (
    Command("start", start),
    Command("help", help_),
)
