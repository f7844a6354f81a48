"""/link across platforms through the real router on SQLite: a code asked for in one chat
(the test platform, as Telegram) and typed as a Discord slash command; errors ephemeral."""

from __future__ import annotations

import re

from tests.discord_frontend.conftest import answers
from tests.discord_frontend.gateway import Gateway, Person
from tests.support import Chat

BOB = Person(1_000_000_000_000_021, "bob")


async def test_a_code_from_one_platform_typed_on_discord_joins_the_accounts(
    chat: Chat, discord_gateway: Gateway
) -> None:
    gateway = discord_gateway
    await chat("alice", "/register Alice | alice@example.com | fitness")
    await chat("bob", "/follow alice")
    asked = await chat("bob", "/link")
    found = re.search(r"Your code: ([A-Z0-9]{4}-[A-Z0-9]{4})", asked.text)
    assert found is not None, asked.text
    code = found.group(1)

    gateway.feed(gateway.command(BOB, "link", code="WXYZ-2345"))
    [wrong] = await answers(gateway)
    assert wrong.ephemeral
    assert "not a link code" in wrong.text

    gateway.feed(gateway.command(BOB, "link", code=code))
    [done] = await answers(gateway)
    assert done.ephemeral
    assert done.text.startswith("🔗 Done: this account and your Test account are one now")

    gateway.feed(gateway.command(BOB, "following"))
    [following] = await answers(gateway)
    assert "Alice (@alice)" in following.text

    gateway.feed(gateway.command(BOB, "link", code=code))
    [again] = await answers(gateway)
    assert "used already" in again.text
