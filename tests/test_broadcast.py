"""/broadcast end to end: the router, the broadcast service, the outbox on SQLite and the
outbox sender, with a recording push instead of a chat platform."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial

import pytest

from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.system_clock import SystemClock
from bot import bootstrap, outbox
from bot.conversation import MessageRef, Reply
from bot.conversation.commands import broadcast
from bot.outbox import OutboxSender
from core.errors import AccessDenied, NotACreator
from core.model import UserRef
from tests.support import Chat, RecordingResponder

REGISTER = "/register {name} Smith | {name}@example.com | fitness"


@dataclass
class WatchedResponder(RecordingResponder):
    """Tells when a message was edited to contain some text."""

    edited: asyncio.Event = field(default_factory=asyncio.Event)
    waiting_for: str = "\x00"

    async def edit(self, ref: MessageRef, reply: Reply) -> None:
        await super().edit(ref, reply)
        if self.waiting_for in reply.text:
            self.edited.set()


async def broadcast_to_all(chat: Chat, who: str, text: str) -> tuple[Reply, Reply]:
    """``/broadcast TEXT`` from ``who``: its answer, and the outcome it is edited to later
    (the progress is watched by a task of its own: the chat is free at once)."""
    watched = chat.responders[who] = WatchedResponder(chat_id=who, waiting_for="📣 Done")
    answer = await chat(who, f"/broadcast {text}")
    async with asyncio.timeout(10):
        await watched.edited.wait()
    return answer, watched.edits[-1][1]


@dataclass
class Inboxes:
    """The push of the test platform: what each chat received; some chats wait to be let in."""

    received: dict[str, list[Reply]] = field(default_factory=dict)
    held: dict[str, asyncio.Event] = field(default_factory=dict)

    async def push(self, chat_id: str, reply: Reply) -> MessageRef | None:
        if chat_id in self.held:
            await self.held[chat_id].wait()
        self.received.setdefault(chat_id, []).append(reply)
        return MessageRef(chat_id, str(len(self.received[chat_id])))


@pytest.fixture
async def inboxes(
    sqlite_app: bootstrap.App, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Inboxes]:
    """The outbox sender running beside the conversation, as ``one-bot run`` has it."""
    monkeypatch.setattr(broadcast, "POLL_EVERY", 0.02)
    monkeypatch.setattr(outbox, "FLUSH_EVERY", 0.02)
    boxes = Inboxes()
    sqlite_app.notifier.register("test", boxes.push)
    assert sqlite_app.database is not None
    sender = OutboxSender(
        partial(SqlUnitOfWork, sqlite_app.database), SystemClock(), sqlite_app.notifier
    )

    async def drain_forever() -> None:
        while True:
            await sender.drain()
            await asyncio.sleep(0.01)

    draining = asyncio.create_task(drain_forever())
    yield boxes
    draining.cancel()
    with pytest.raises(asyncio.CancelledError):
        await draining


async def test_a_creator_broadcasts_to_followers_who_did_not_opt_out(
    chat: Chat, inboxes: Inboxes
) -> None:
    await chat("alice", REGISTER.format(name="Alice"))
    for fan in ("bob", "carol", "dave"):
        await chat(fan, "/follow alice")
    assert "@alice" in (await chat("dave", "/stop alice")).text
    # Carol's chat is slow: the progress shows Bob's message sent first.
    inboxes.held["carol"] = asyncio.Event()
    alice = chat.responders["alice"] = WatchedResponder(chat_id="alice")
    alice.waiting_for = "Sent 1 of 2"

    answer = await chat("alice", "/broadcast New video is out!\nGo watch it.")
    assert answer.text == "📣 Sending to 2 followers…"
    assert "Alice Smith" in (await chat("alice", "/profile")).text  # the chat is free meanwhile
    async with asyncio.timeout(10):
        await alice.edited.wait()
    alice.edited.clear()
    alice.waiting_for = "📣 Done"
    inboxes.held["carol"].set()
    async with asyncio.timeout(10):
        await alice.edited.wait()
    final = alice.edits[-1][1]

    assert final.text.startswith("📣 Done: sent to 2 of 2.")
    assert "Unreachable: 0" in final.text
    assert "Failed: 0" in final.text
    assert [r.text.split()[0] for r in alice.sent] == ["📣", "Alice"], "the progress: edits"
    *progress, outcome = [edit.text for _, edit in alice.edits]
    assert outcome == final.text
    assert progress[-1] == "📣 Sent 1 of 2…"
    assert set(progress) <= {"📣 Sent 0 of 2…", "📣 Sent 1 of 2…"}
    assert len(progress) == len(set(progress)), "a count is shown once"
    for fan in ("bob", "carol"):
        [message] = inboxes.received[fan]
        assert message.text == "📣 Alice Smith (@alice):\n\nNew video is out!\nGo watch it."
        assert [(b.label, b.data) for b in message.all_buttons] == [
            ("💬 Talk to @alice's clone", "/chat alice")
        ]
    assert "dave" not in inboxes.received
    assert "broadcast_sent" in (await chat("alice", "/events")).text


async def test_the_outcome_counts_followers_no_chat_reaches(
    sqlite_app: bootstrap.App, chat: Chat, inboxes: Inboxes
) -> None:
    await chat("alice", REGISTER.format(name="Alice"))
    for fan in ("bob", "carol"):
        await chat(fan, "/follow alice")
    await sqlite_app.services.identities.mark_unreachable("test", "carol")

    _, final = await broadcast_to_all(chat, "alice", "Hello")

    assert final.text.startswith("📣 Done: sent to 1 of 2.")
    assert "Unreachable: 1" in final.text
    assert list(inboxes.received) == ["bob"]


async def test_who_may_broadcast_and_what(chat: Chat, inboxes: Inboxes) -> None:
    refused = await chat("eve", "/broadcast Buy my stuff")
    assert refused.text.startswith("⚠️ This is for creators")

    await chat("alice", REGISTER.format(name="Alice"))
    alone = await chat("alice", "/broadcast Anyone there?")
    assert "You have no followers yet" in alone.text
    assert "/creator alice" in alone.text

    await chat("bob", "/follow alice")
    for empty in ("/broadcast", "/broadcast    "):
        assert (await chat("alice", empty)).text.startswith("ℹ️ How to use it:\n/broadcast TEXT")
    too_long = await chat("alice", "/broadcast " + "x" * 2001)
    assert "The message is too long (2001 characters); the limit is 2000." in too_long.text
    await broadcast_to_all(chat, "alice", "x" * 2000)
    assert len(inboxes.received["bob"]) == 1


async def test_followers_who_all_opted_out_get_nothing(chat: Chat, inboxes: Inboxes) -> None:
    await chat("alice", REGISTER.format(name="Alice"))
    await chat("bob", "/follow alice")
    await chat("bob", "/stop alice")
    reply = await chat("alice", "/broadcast Hello")
    assert reply.text == "No one got it: your 1 follower turned off your messages (/stop)."
    await asyncio.sleep(0.05)
    assert inboxes.received == {}


async def test_only_the_creator_sees_a_broadcast_s_progress(
    sqlite_app: bootstrap.App, chat: Chat, inboxes: Inboxes
) -> None:
    await chat("alice", REGISTER.format(name="Alice"))
    await chat("carol", REGISTER.format(name="Carol"))
    await chat("bob", "/follow alice")
    service = sqlite_app.services.broadcasts
    alice, bob, carol = (
        UserRef("test", name, name=name.title()) for name in ("alice", "bob", "carol")
    )
    started = await service.start(alice, "Hi")
    assert started.total == 1

    with pytest.raises(NotACreator):
        await service.progress(bob, started.batch)
    with pytest.raises(AccessDenied):
        await service.progress(carol, started.batch)
    progress = await service.progress(alice, started.batch)
    assert progress.total == 1
