"""Slash commands and buttons on Discord, offline: INTERACTION_CREATE payloads through
discord.py's own parser, the interaction calls recorded (tests/discord_frontend/gateway.py)."""

from __future__ import annotations

import asyncio

import pytest

from bot import bootstrap
from bot.conversation import Reply, Router
from bot.conversation.context import Command, Context
from core.errors import CreatorNotFound
from tests.discord_frontend.conftest import answers, gateway_for
from tests.discord_frontend.gateway import Gateway, Person

ALICE = Person(1_000_000_000_000_001, "alice")
BOB = Person(1_000_000_000_000_002, "bob")


async def say(gateway: Gateway, person: Person, name: str, /, **options: object) -> str:
    gateway.feed(gateway.command(person, name, **options))
    [call] = await answers(gateway)
    assert call.kind == "respond", call
    return call.text


async def test_commands_with_typed_options_and_buttons(discord_gateway: Gateway) -> None:
    gateway = discord_gateway
    registered = await say(
        gateway, ALICE, "register", name="Alice", email="alice@example.com", niches="fitness"
    )
    assert registered.startswith("🎉 You're a creator now: Alice (@alice).")

    gateway.feed(gateway.command(BOB, "creator", handle="alice"))
    [profile] = await answers(gateway)
    assert profile.text.startswith("Alice (@alice)")
    assert not profile.ephemeral
    assert profile.labels == [["➕ Follow"]]

    gateway.feed(gateway.press(BOB, profile.custom_id("➕ Follow")))
    [followed] = await answers(gateway)
    assert followed.kind == "respond"
    assert followed.text == "✅ You now follow Alice (@alice). They have 1 follower."

    following = await say(gateway, BOB, "following")
    assert "Alice (@alice)" in following


async def test_errors_and_private_data_are_ephemeral(discord_gateway: Gateway) -> None:
    gateway = discord_gateway
    gateway.feed(gateway.command(BOB, "follow", handle="nobody"))
    [refused] = await answers(gateway)
    assert refused.ephemeral
    assert "nobody" in refused.text

    gateway.feed(gateway.command(BOB, "balance"))
    [balance] = await answers(gateway)
    assert balance.ephemeral

    gateway.feed(gateway.command(BOB, "creators"))
    [listing] = await answers(gateway)
    assert not listing.ephemeral


async def test_handles_are_completed_as_they_are_typed(discord_gateway: Gateway) -> None:
    gateway = discord_gateway
    for name in ("Alice", "Alfred", "Bea"):
        await say(
            gateway,
            Person(hash(name) % 10**15 + 10**15, name),
            "register",
            name=name,
            email=f"{name.lower()}@example.com",
            niches="fitness",
        )
    gateway.feed(gateway.autocomplete(BOB, "follow", "handle", "al"))
    [choices] = await answers(gateway)
    assert choices.kind == "autocomplete"
    assert [c["value"] for c in choices.data["choices"]] == ["alfred", "alice"]
    gateway.feed(gateway.autocomplete(BOB, "buy", "handle", "B%_"))  # not a handle: nothing
    [none] = await answers(gateway)
    assert none.data["choices"] == []


async def test_a_slow_command_is_deferred_then_answered(
    sqlite_app: bootstrap.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slow(ctx: Context) -> Reply:
        await asyncio.sleep(0.3)
        if ctx.args == "fail":
            raise CreatorNotFound(handle="ghost")
        return Reply("🧠 Done thinking.")

    router = Router(sqlite_app.router._services, [Command("journey", slow)])
    gateway = await gateway_for(router, sqlite_app, monkeypatch, defer_after=0.05)
    try:
        gateway.feed(gateway.command(BOB, "journey"))
        deferred, answered = await answers(gateway, 2)
        assert deferred.kind == "defer"
        assert (answered.kind, answered.text) == ("edit", "🧠 Done thinking.")
        assert answered.path.endswith("/messages/@original")

        # A private answer after the public "thinking…": that placeholder settled, then apart.
        gateway.feed(gateway.command(BOB, "journey", text="fail"))
        deferred, settled, private = await answers(gateway, 3)
        assert (deferred.kind, settled.kind, private.kind) == ("defer", "edit", "followup")
        assert settled.text == "🔒 Answered privately."
        assert private.ephemeral
        assert "ghost" in private.text
    finally:
        await gateway.frontend.client.close()
