"""Discord offline: interactions fed through discord.py's own gateway parser, and every
interaction response (``send_message``, ``defer``, follow-ups, edits) recorded at the one
method they all go through (``AsyncWebhookAdapter.request``), answered as Discord would.
DMs go through a recording HTTP layer of the client (``send_message``, ``start_private_message``).

Snowflakes carry the current time: an interaction older than 15 minutes counts as expired.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from discord.webhook import async_

from adapters.discord_frontend.frontend import DiscordFrontend

APP_ID = 990_000_000_000_000_001
BOT_ID = 990_000_000_000_000_002
GUILD_ID = 990_000_000_000_000_003
CHANNEL_ID = 990_000_000_000_000_004
OWNER_ID = 990_000_000_000_000_005
# The server's roles, lowest first: @everyone (the server's id), then these.
FANS_ROLE = 990_000_000_000_000_011  # what creators gate
MODS_ROLE = 990_000_000_000_000_012  # may manage roles
BOT_ROLE = 990_000_000_000_000_013  # the bot's own, above both
ADMINS_ROLE = 990_000_000_000_000_014  # administrators: above the bot
MANAGE_ROLES = 1 << 28
ADMINISTRATOR = 1 << 3
DISCORD_EPOCH_MS = 1_420_070_400_000
_counter = itertools.count(1)


def snowflake() -> int:
    return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(_counter) % 4096)


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str

    def json(self) -> dict[str, Any]:
        return {"id": str(self.id), "username": self.name, "discriminator": "0", "avatar": None}


@dataclass
class Call:
    """One interaction HTTP call: its method, path and JSON (files: their names)."""

    method: str
    path: str
    payload: dict[str, Any]
    files: list[str]

    @property
    def kind(self) -> str:
        """``respond`` (type 4), ``defer`` (5), ``followup``, ``edit``, ``delete``."""
        if self.path.endswith("/callback"):
            return {4: "respond", 5: "defer", 6: "defer_update", 8: "autocomplete"}.get(
                int(self.payload.get("type", 0)), "callback"
            )
        if self.method == "POST":
            return "followup"
        return "edit" if self.method == "PATCH" else "delete"

    @property
    def data(self) -> dict[str, Any]:
        inner: dict[str, Any] = self.payload.get("data", self.payload)
        return inner

    @property
    def text(self) -> str:
        return str(self.data.get("content") or "")

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.data.get("flags") or 0) & 64)

    @property
    def labels(self) -> list[list[str]]:
        rows = self.data.get("components") or []
        return [[c.get("label", "") for c in row.get("components", [])] for row in rows]

    def custom_id(self, label: str) -> str:
        for row in self.data.get("components") or []:
            for component in row.get("components", []):
                if component.get("label") == label:
                    return str(component["custom_id"])
        raise AssertionError(f"no button {label!r} in {self.labels}")


@dataclass
class Gateway:
    """The Discord side of the tests: sends interactions, records what the bot answered."""

    frontend: DiscordFrontend
    calls: list[Call] = field(default_factory=list)
    seen: int = 0  # calls already looked at (conftest.answers)
    dms: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    closed_dms: set[int] = field(default_factory=set)
    typing: list[int] = field(default_factory=list)  # people shown "typing…" in their DMs
    dm_edits: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    members: set[tuple[str, str]] = field(default_factory=set)  # (server, person) present
    roles: set[tuple[str, str, str]] = field(default_factory=set)  # (server, role, person)

    def _interaction(
        self,
        person: Person,
        type_: int,
        data: dict[str, Any],
        *,
        guild: bool,
        permissions: int = 0,
        member_roles: Sequence[int] = (),
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(snowflake()),
            "application_id": str(APP_ID),
            "type": type_,
            "data": data,
            "token": f"token-{snowflake()}",
            "version": 1,
            "attachment_size_limit": 8_388_608,
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0 if guild else 1,
        }
        if guild:
            member = {
                "user": person.json(),
                "roles": [str(role) for role in member_roles],
                "joined_at": "2026-01-01T00:00:00Z",
            }
            payload |= {
                "guild_id": str(GUILD_ID),
                "channel_id": str(CHANNEL_ID),
                "channel": {
                    "id": str(CHANNEL_ID),
                    "type": 0,
                    "guild_id": str(GUILD_ID),
                    "name": "general",
                    "position": 0,
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                },
                "member": {
                    **member,
                    "deaf": False,
                    "mute": False,
                    "permissions": str(permissions),
                    "flags": 0,
                },
                "app_permissions": "0",
            }
        else:
            payload |= {
                "user": person.json(),
                "channel_id": str(person.id + 1),
                "channel": {"id": str(person.id + 1), "type": 1, "recipients": [person.json()]},
            }
        return payload

    def command(self, person: Person, name: str, /, **options: Any) -> dict[str, Any]:
        """``/name option:value …`` as Discord sends it (options typed as given); in a
        server's channel unless ``guild=False`` (then in the person's DMs)."""
        guild = bool(options.pop("guild", True))
        permissions = int(options.pop("permissions", 0))
        member_roles: list[int] = options.pop("member_roles", [])
        roles: dict[str, int] = options.pop("roles", {})  # option → one of the server's roles
        kinds = {bool: 5, int: 4, str: 3}
        listed = [
            {"name": key, "type": kinds[type(value)], "value": value}
            for key, value in options.items()
        ]
        listed += [{"name": key, "type": 8, "value": str(i)} for key, i in roles.items()]
        data: dict[str, Any] = {"id": str(snowflake()), "name": name, "type": 1, "options": listed}
        if roles:
            known = {role["id"]: role for role in _guild()["roles"]}
            data["resolved"] = {"roles": {str(i): known[str(i)] for i in roles.values()}}
        return self._interaction(
            person, 2, data, guild=guild, permissions=permissions, member_roles=member_roles
        )

    def press(self, person: Person, custom_id: str, guild: bool = True) -> dict[str, Any]:
        """The person presses a button whose custom id is ``custom_id``."""
        data = {"custom_id": custom_id, "component_type": 2}
        payload = self._interaction(person, 3, data, guild=guild)
        message = {**_message(Call("POST", "", {}, [])), "channel_id": payload["channel_id"]}
        return {**payload, "message": message}

    def autocomplete(self, person: Person, name: str, option: str, typed: str) -> dict[str, Any]:
        listed = [{"name": option, "type": 3, "value": typed, "focused": True}]
        data = {"id": str(snowflake()), "name": name, "type": 1, "options": listed}
        return self._interaction(person, 4, data, guild=True)

    def dm(self, person: Person, text: str) -> None:
        """The person writes to the bot in their DMs (the gateway's MESSAGE_CREATE)."""
        message = {
            **_message(Call("POST", "", {"content": text}, [])),
            "channel_id": str(person.id + 1),
            "author": {**person.json(), "avatar": None},
        }
        self.frontend.client._connection.parse_message_create(message)  # type: ignore[arg-type]

    async def until(self, ready: Callable[[], bool], timeout_s: float = 10) -> None:
        """Wait until ``ready()`` (checked whenever the bot makes a call)."""
        async with asyncio.timeout(timeout_s):
            while not ready():
                self.changed.clear()
                await self.changed.wait()

    def record(self, call: Call) -> None:
        self.calls.append(call)
        self.changed.set()

    def feed(self, payload: dict[str, Any]) -> None:
        """Through discord.py's own handling of the gateway's INTERACTION_CREATE."""
        self.frontend.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]


async def fake_request(gateway: Gateway, route: Any, **kwargs: Any) -> Any:
    payload = dict(kwargs.get("payload") or {})
    files = [f.filename for f in kwargs.get("files") or []]
    multipart = kwargs.get("multipart")
    if multipart:
        for part in multipart:
            if part.get("name") == "payload_json":
                payload = json.loads(part["value"])
    call = Call(route.method, route.url, payload, files)
    gateway.record(call)
    if call.kind in ("followup", "edit"):
        return _message(call)
    if call.kind in ("respond", "defer"):
        # with_response=true: the callback's outcome, the message it made included.
        flags = int(call.data.get("flags") or 0)
        return {
            "interaction": {
                "id": str(snowflake()),
                "type": 2,
                "response_message_id": str(snowflake()),
                "response_message_loading": call.kind == "defer",
                "response_message_ephemeral": bool(flags & 64),
            },
            "resource": {"type": call.payload["type"], "message": _message(call)},
        }
    return None


def _guild() -> dict[str, Any]:
    """The server as the gateway's GUILD_CREATE describes it: its roles, the bot a member."""
    roles = [
        _role(GUILD_ID, "@everyone", 0),
        _role(FANS_ROLE, "Fans", 1),
        _role(MODS_ROLE, "Mods", 2, MANAGE_ROLES),
        _role(BOT_ROLE, "one-bot", 3, MANAGE_ROLES),
        _role(ADMINS_ROLE, "Admins", 4, ADMINISTRATOR),
    ]
    me = {
        "user": _author(),
        "roles": [str(BOT_ROLE)],
        "joined_at": "2026-01-01T00:00:00Z",
        "deaf": False,
        "mute": False,
        "flags": 0,
    }
    return {
        "id": str(GUILD_ID),
        "name": "Alice's fans",
        "icon": None,
        "owner_id": str(OWNER_ID),
        "roles": roles,
        "emojis": [],
        "stickers": [],
        "features": [],
        "members": [me],
        "channels": [],
        "member_count": 1,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "afk_timeout": 300,
        "system_channel_flags": 0,
    }


def _role(role_id: int, name: str, position: int = 1, permissions: int = 0) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "hoist": False,
        "position": position,
        "permissions": str(permissions),
        "managed": False,
        "mentionable": True,
        "flags": 0,
    }


def _author() -> dict[str, Any]:
    return {"id": str(BOT_ID), "username": "one-bot", "discriminator": "0", "avatar": None}


def _message(call: Call) -> dict[str, Any]:
    """The message Discord answers a send or an edit with."""
    return {
        "id": str(snowflake()),
        "channel_id": str(CHANNEL_ID),
        "author": {"id": str(BOT_ID), "username": "one-bot", "discriminator": "0"},
        "content": call.data.get("content", ""),
        "timestamp": "2026-01-01T00:00:00Z",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": call.data.get("flags", 0),
    }


def install(monkeypatch: pytest.MonkeyPatch, gateway: Gateway) -> None:
    """Interaction calls recorded; the client logged in as the bot, offline."""

    async def request(adapter: Any, route: Any, session: Any, **kwargs: Any) -> Any:
        return await fake_request(gateway, route, **kwargs)

    monkeypatch.setattr(async_.AsyncWebhookAdapter, "request", request)
    client = gateway.frontend.client
    state = client._connection
    me: Any = {**_author(), "global_name": None}
    state.user = discord.ClientUser(state=state, data=me)
    state.application_id = APP_ID
    state._add_guild_from_data(_guild())  # type: ignore[arg-type]  # as GUILD_CREATE does
    http = client.http

    async def get_user(user_id: int) -> dict[str, Any]:
        return {**_author(), "id": str(user_id), "username": f"user{user_id}"}

    async def start_private_message(user_id: int) -> dict[str, Any]:
        user = await get_user(user_id)
        return {"id": str(user_id + 1), "type": 1, "recipients": [user]}

    async def send_message(channel_id: int, *, params: Any) -> dict[str, Any]:
        person = int(channel_id) - 1
        if person in gateway.closed_dms:
            refused: Any = _Response(403, "Forbidden")
            raise discord.Forbidden(refused, {"code": 50007, "message": "Cannot send messages"})
        payload = dict(params.payload or {})
        if params.multipart:
            for part in params.multipart:
                if part.get("name") == "payload_json":
                    payload = json.loads(part["value"])
        payload["files"] = [f.filename for f in params.files or []]
        gateway.dms.append((person, payload))
        gateway.changed.set()
        call = Call("POST", f"/channels/{channel_id}/messages", payload, payload["files"])
        return {**_message(call), "channel_id": str(channel_id)}

    async def edit_message(channel_id: int, message_id: int, *, params: Any) -> dict[str, Any]:
        payload = dict(params.payload or {})
        gateway.dm_edits.append((int(channel_id) - 1, payload))
        gateway.changed.set()
        call = Call("PATCH", f"/channels/{channel_id}/messages/{message_id}", payload, [])
        return {**_message(call), "id": str(message_id), "channel_id": str(channel_id)}

    async def send_typing(channel_id: int) -> None:
        gateway.typing.append(int(channel_id) - 1)

    async def add_role(guild: int, user: int, role: int, *, reason: str | None = None) -> None:
        if (str(guild), str(user)) not in gateway.members:
            missing: Any = _Response(404, "Not Found")
            raise discord.NotFound(missing, {"code": 10007, "message": "Unknown Member"})
        gateway.roles.add((str(guild), str(role), str(user)))

    async def remove_role(guild: int, user: int, role: int, *, reason: str | None = None) -> None:
        gateway.roles.discard((str(guild), str(role), str(user)))

    async def get_member(guild: int, user: int) -> dict[str, Any]:
        if (str(guild), str(user)) not in gateway.members:
            missing: Any = _Response(404, "Not Found")
            raise discord.NotFound(missing, {"code": 10007, "message": "Unknown Member"})
        held = [r for g, r, u in gateway.roles if (g, u) == (str(guild), str(user))]
        return {"user": await get_user(user), "roles": held, "joined_at": None, "flags": 0}

    monkeypatch.setattr(http, "get_member", get_member)
    monkeypatch.setattr(http, "add_role", add_role)
    monkeypatch.setattr(http, "remove_role", remove_role)
    monkeypatch.setattr(http, "send_typing", send_typing)
    monkeypatch.setattr(http, "edit_message", edit_message)
    monkeypatch.setattr(http, "get_user", get_user)
    monkeypatch.setattr(http, "start_private_message", start_private_message)
    monkeypatch.setattr(http, "send_message", send_message)


@dataclass(frozen=True, slots=True)
class _Response:
    """What discord.HTTPException reads of an HTTP response."""

    status: int
    reason: str
