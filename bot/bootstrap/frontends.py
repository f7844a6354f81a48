"""The Discord frontend for an app (the Telegram one is built beside ``servers``)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from adapters.discord_frontend.frontend import DiscordFrontend, DiscordOptions
from adapters.discord_frontend.roles import DiscordRoleManager
from adapters.discord_frontend.translate import PLATFORM as DISCORD
from jobs.roles import RoleJobs

if TYPE_CHECKING:
    from bot.bootstrap import App


def discord_frontend(app: App, **client_options: Any) -> DiscordFrontend:
    """``app``'s Discord frontend: slash commands on its router, handles completed from its
    creators, a closed DM marking the person unreachable."""
    token = app.settings.discord.token
    assert token is not None
    return DiscordFrontend(
        DiscordOptions(token.get_secret_value()),
        app.router,
        app.services.creators.suggest_handles,
        on_unreachable=partial(app.services.identities.mark_unreachable, DISCORD),
        **client_options,
    )


def discord_servers(app: App) -> list[Any]:
    """What ``one-bot run`` runs for Discord: the frontend, its DMs registered for
    notifications (no deep links there: a share link is the ``/start CODE`` to type)."""
    if app.settings.discord.token is None:
        return []
    frontend = discord_frontend(app)
    app.notifier.register(DISCORD, frontend.push)
    app.roles.register(DiscordRoleManager(lambda: frontend.client))
    settings = app.settings.discord
    jobs = RoleJobs(
        app.services.roles, every=settings.roles_every, recheck_every=settings.roles_recheck_every
    )
    return [frontend.run, jobs.run]
