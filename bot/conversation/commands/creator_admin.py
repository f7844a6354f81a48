"""Creator commands: /register, /profile and /events."""

from __future__ import annotations

from bot.conversation.context import Command, Context, UsageError
from bot.conversation.messages import Reply
from bot.conversation.texts import t
from bot.conversation.views import profile_reply
from core.model import Event, Profile


async def register(ctx: Context) -> Reply:
    parts = ctx.require_args().split("|")
    if len(parts) != 3:
        raise UsageError()
    name, email, niches = parts
    creator = await ctx.services.creators.register(ctx.who, name, email, niches.split(","))
    return Reply(t("register.done", name=creator.name, handle=creator.handle))


async def profile(ctx: Context) -> Reply:
    if not ctx.args:
        return profile_reply(await ctx.services.creators.my_profile(ctx.who))
    field, value = [*ctx.args.split(maxsplit=1), ""][:2]  # a bio may start on a new line
    field, value = field.lower(), value.strip()
    if not value:
        raise UsageError()
    creators = ctx.services.creators
    if field == "bio":
        creator = await creators.update(ctx.who, bio=value)
    elif field in ("niche", "niches"):
        creator = await creators.update(ctx.who, niches=value.split(","))
    elif field == "avatar":
        creator = await creators.update(ctx.who, avatar_url=value)
    else:
        raise UsageError()
    updated = Profile(creator=creator, is_owner=True, is_following=False)
    return profile_reply(updated, notice=t("profile.updated"))


def _describe(event: Event) -> str:
    actor = event.actor_name or t("event.someone")
    if event.type == "user_engaged":
        action = event.metadata.get("action")
        if action in ("followed", "unfollowed"):
            return t(f"event.user_engaged.{action}", actor=actor)
    if event.type == "creator_updated":
        return t("event.creator_updated", fields=", ".join(event.metadata.get("fields", ())))
    if event.type == "creator_created":
        return t("event.creator_created")
    return t("event.other", type=event.type)


async def events(ctx: Context) -> Reply:
    log = await ctx.services.events.latest_for_owner(ctx.who)
    if not log.events:
        return Reply(t("events.none"), private=True)
    lines = [t("events.title", handle=log.handle)]
    for event in log.events:
        lines.append(
            t("events.line", at=event.at.strftime("%Y-%m-%d %H:%M UTC"), what=_describe(event))
        )
    return Reply("\n".join(lines), private=True)


COMMANDS = (
    Command("register", register, audience="newcomer"),
    Command("profile", profile, audience="creator"),
    Command("events", events, audience="creator"),
)
