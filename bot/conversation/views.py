"""How creators and lists look in a reply, shared by the commands that show them."""

from __future__ import annotations

from collections.abc import Sequence

from bot.conversation.messages import Button, Reply
from bot.conversation.texts import followers, t
from core.model import Creator, Profile, Status


def open_profile_button(creator: Creator) -> Button:
    label = t("button.profile", handle=creator.handle, followers=followers(creator.followers))
    return Button(label, data=f"/creator {creator.handle}")


def follow_button(handle: str) -> Button:
    return Button(t("button.follow"), data=f"/follow {handle}")


def unfollow_button(handle: str) -> Button:
    return Button(t("button.unfollow"), data=f"/unfollow {handle}")


def profile_reply(profile: Profile, *, notice: str | None = None) -> Reply:
    creator = profile.creator
    lines = [notice] if notice else []
    lines += [
        t("profile.header", name=creator.name, handle=creator.handle),
        t("profile.bio", bio=creator.bio) if creator.bio else t("profile.no_bio"),
        t("profile.niches", niches=", ".join(creator.niches)),
        t(
            "profile.counts",
            followers=followers(creator.followers),
            content=creator.content,
        ),
    ]
    if creator.avatar_url:
        lines.append(t("profile.avatar", url=creator.avatar_url))
    if creator.status is not Status.ACTIVE:
        lines.append(t("profile.inactive"))
    buttons: tuple[tuple[Button, ...], ...] = ()
    if profile.is_owner:
        lines.append(t("profile.owner"))
    elif profile.is_following:
        lines.append(t("profile.following"))
        buttons = ((unfollow_button(creator.handle),),)
    else:
        buttons = ((follow_button(creator.handle),),)
    return Reply("\n".join(lines), buttons)


def creator_list_reply(
    title: str, line_key: str, creators: Sequence[Creator], footer: str | None = None
) -> Reply:
    lines = [title]
    for creator in creators:
        lines.append(
            t(
                line_key,
                name=creator.name,
                handle=creator.handle,
                followers=followers(creator.followers),
                niches=", ".join(creator.niches),
            )
        )
    if footer:
        lines.append(footer)
    buttons = tuple((open_profile_button(creator),) for creator in creators)
    return Reply("\n".join(lines), buttons)
