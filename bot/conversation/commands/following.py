"""/follow HANDLE, /unfollow HANDLE and /following."""

from __future__ import annotations

from dataclasses import replace

from bot.conversation.context import Command, Context
from bot.conversation.messages import Reply
from bot.conversation.texts import followers, t
from bot.conversation.views import creator_list_reply, follow_button, unfollow_button


async def follow(ctx: Context) -> Reply:
    creator = await ctx.services.follows.follow(ctx.who, ctx.require_args())
    text = t(
        "follow.done",
        name=creator.name,
        handle=creator.handle,
        followers=followers(creator.followers),
    )
    return Reply(text, ((unfollow_button(creator.handle),),))


async def unfollow(ctx: Context) -> Reply:
    creator = await ctx.services.follows.unfollow(ctx.who, ctx.require_args())
    text = t("unfollow.done", name=creator.name, handle=creator.handle)
    return Reply(text, ((follow_button(creator.handle),),))


async def following(ctx: Context) -> Reply:
    creators = await ctx.services.follows.following(ctx.who)
    if not creators:
        return Reply(t("following.none"), private=True)
    listing = creator_list_reply(t("following.title"), "following.line", creators)
    return replace(listing, private=True)


COMMANDS = (
    Command("follow", follow),
    Command("unfollow", unfollow),
    Command("following", following),
)
