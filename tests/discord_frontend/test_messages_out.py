"""Journey steps and broadcasts reach Discord users by DM through the outbox; closed DMs make
a person unreachable; a /chat session's questions come as plain DMs."""

from __future__ import annotations

from functools import partial

from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.discord_frontend.translate import PLATFORM
from adapters.system_clock import SystemClock
from bot import bootstrap
from bot.conversation import Button, Media, Reply
from bot.outbox import OutboxSender
from tests.discord_frontend.conftest import answers
from tests.discord_frontend.gateway import Gateway, Person

ALICE = Person(1_000_000_000_000_011, "alice")
BOB = Person(1_000_000_000_000_012, "bob")
CAROL = Person(1_000_000_000_000_013, "carol")


async def test_push_sends_a_dm_with_buttons_and_files(discord_gateway: Gateway) -> None:
    reply = Reply(
        "🎁 Your report",
        ((Button("💬 Talk", data="/chat alice"), Button("Site", url="https://example.com")),),
        Media("document", b"# Insights", "insights-alice.md"),
    )
    ref = await discord_gateway.frontend.push(str(BOB.id), reply)
    assert ref is not None
    [(person, sent)] = discord_gateway.dms
    assert person == BOB.id
    assert sent["content"] == "🎁 Your report"
    assert sent["files"] == ["insights-alice.md"]
    [[talk, site]] = [row["components"] for row in sent["components"]]
    assert (talk["custom_id"], site["url"]) == ("/chat alice", "https://example.com")


async def test_closed_dms_make_a_person_unreachable(
    sqlite_app: bootstrap.App, discord_gateway: Gateway
) -> None:
    gateway = discord_gateway
    app = sqlite_app
    app.notifier.register(PLATFORM, gateway.frontend.push)
    for person, line in (
        (ALICE, ("register", {"name": "Alice", "email": "alice@example.com", "niches": "fitness"})),
        (BOB, ("follow", {"handle": "alice"})),
        (CAROL, ("follow", {"handle": "alice"})),
    ):
        gateway.feed(gateway.command(person, line[0], **line[1]))
        await answers(gateway)
    gateway.closed_dms.add(CAROL.id)
    gateway.feed(gateway.command(ALICE, "broadcast", text="Live tonight!"))
    [started] = await answers(gateway)
    assert started.text == "📣 Sending to 2 followers…"
    assert app.database is not None
    sender = OutboxSender(partial(SqlUnitOfWork, app.database), SystemClock(), app.notifier)
    report = await sender.drain()
    assert (report.sent, report.unreachable) == (1, 1)
    assert [(person, sent["content"]) for person, sent in gateway.dms] == [
        (BOB.id, "📣 Alice (@alice):\n\nLive tonight!")
    ]


async def test_direct_messages_are_a_conversation_too(discord_gateway: Gateway) -> None:
    gateway = discord_gateway
    gateway.dm(BOB, "/creators")
    gateway.dm(BOB, "hello there")
    await gateway.until(lambda: len(gateway.dms) >= 2)
    [(_, listing), (_, hint)] = gateway.dms
    assert listing["content"].startswith("No creators yet")
    assert "/help" in hint["content"]
