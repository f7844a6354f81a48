"""The outbox sender (bot/outbox.py) and its timer (jobs/outbox.py), over the fakes, with
recording push functions instead of chat platforms."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from bot.conversation.messages import MessageRef, Reply
from bot.notifications import ChatNotifier, NoChatFrontend
from bot.outbox import DrainReport, MalformedMessage, OutboxSender, SenderSettings, render
from core.journeys import OutboxState, QueuedMessage
from core.model import EntityType, UserRef
from core.services.identities import resolve_user
from jobs.outbox import OutboxJobs
from tests.fakes import FakeClock, FakeStore, fake_uow_factory
from tests.fakes.store import OutboxRow
from tests.services_support import T0

SECOND = timedelta(seconds=1)


def telegram_link(payload: str) -> str:
    return f"https://t.me/one_bot?start={payload}"


@dataclass
class Recorder:
    """A platform's push: remembers what it sent; can refuse (None), fail, or wait."""

    sent: list[tuple[str, Reply]] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)
    failing: set[str] = field(default_factory=set)
    gate: asyncio.Event | None = None  # sends wait for it when set
    in_flight: int = 0
    most_in_flight: int = 0
    busy_at: int = 0  # ``busy`` is set once this many sends are in flight together
    busy: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, chat_id: str, reply: Reply) -> MessageRef | None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.busy_at and self.in_flight >= self.busy_at:
            self.busy.set()
        try:
            if self.gate is not None:
                await self.gate.wait()
            else:
                await asyncio.sleep(0)
            if chat_id in self.failing:
                raise ConnectionError("platform down")
            if chat_id in self.unreachable:
                return None
            self.sent.append((chat_id, reply))
            return MessageRef(chat_id, str(len(self.sent)))
        finally:
            self.in_flight -= 1

    def to(self, chat_id: str) -> list[Reply]:
        return [reply for chat, reply in self.sent if chat == chat_id]


class World:
    """A fake store, a clock, a notifier with platforms registered, and a sender."""

    def __init__(self, settings: SenderSettings | None = None) -> None:
        self.store = FakeStore()
        self.clock = FakeClock(T0)
        self.uow = fake_uow_factory(self.store)
        self.notifier = ChatNotifier(self.uow)
        self.sender = OutboxSender(self.uow, self.clock, self.notifier, settings)

    async def person(self, name: str, platform: str = "telegram") -> int:
        async with self.uow() as uow:
            who = UserRef(platform, name, name=name.title(), chat_id=f"chat-{name}")
            person_id = await resolve_user(uow, self.clock, who)
            await uow.commit()
        return person_id

    async def queue(self, person_id: int, key: str, message: dict[str, Any], **kw: Any) -> bool:
        async with self.uow() as uow:
            queued = [QueuedMessage(person_id, key, message, **kw)]
            added = await uow.outbox.add_many(queued, self.clock.now()) == 1
            await uow.commit()
        return added

    def row(self, key: str) -> OutboxRow:
        [row] = [row for row in self.store.outbox.values() if row.dedupe_key == key]
        return row

    def rows(self) -> Iterator[OutboxRow]:
        return iter(self.store.outbox.values())


def hello(text: str = "Hello") -> dict[str, Any]:
    return {"text": text, "buttons": []}


# --- rendering ---------------------------------------------------------------------------------


STEP = {
    "text": "Share your link: {link}",
    "buttons": [
        [
            {
                "label_key": "journey.button.buy",
                "params": {"amount": 67, "symbol": "ALICE"},
                "data": "/buy alice 67",
            }
        ],
        [
            {
                "label_key": "journey.button.chat",
                "params": {"handle": "alice"},
                "data": "/chat alice",
            },
            {"label_key": "journey.button.share", "url": "https://t.me/share/url?url={link}"},
        ],
    ],
    "document": {"file_name": "insights.md", "content": "# Your report\n\nRun more."},
    "start": "ref-7",
}


def test_render_takes_labels_from_the_catalogue_and_links_from_the_platform() -> None:
    notifier = ChatNotifier(fake_uow_factory(FakeStore()))
    notifier.register("telegram", Recorder(), link=telegram_link)
    notifier.register("console", Recorder())

    reply = render(STEP, "telegram", notifier.link)
    assert reply.text == "Share your link: https://t.me/one_bot?start=ref-7"
    labels = [[b.label for b in row] for row in reply.buttons]
    assert labels == [
        ["🪙 Buy 67 $ALICE"],
        ["💬 Talk to @alice's clone", "📤 Share with a friend"],
    ]
    assert reply.buttons[0][0].data == "/buy alice 67"
    share = reply.buttons[1][1]
    assert share.url == "https://t.me/share/url?url=https%3A%2F%2Ft.me%2Fone_bot%3Fstart%3Dref-7"
    assert reply.media is not None
    assert (reply.media.kind, reply.media.file_name) == ("document", "insights.md")
    assert reply.media.data == b"# Your report\n\nRun more."

    on_console = render(STEP, "console", notifier.link)
    assert on_console.text == "Share your link: /start ref-7"
    # A platform that registered no link maker (or is unknown) gets the command form too.
    assert render(STEP, "discord", notifier.link).text == "Share your link: /start ref-7"


def test_render_leaves_text_alone_without_a_start_payload() -> None:
    notifier = ChatNotifier(fake_uow_factory(FakeStore()))
    reply = render({"text": "Use {link} and {braces}"}, "console", notifier.link)
    assert reply == Reply("Use {link} and {braces}")


@pytest.mark.parametrize(
    "message",
    [
        {},
        {"text": 5},
        {"text": "x", "buttons": [[{"label_key": "no.such.key", "data": "/help"}]]},
        {"text": "x", "buttons": [[{"label_key": "journey.button.chat", "data": "/chat a"}]]},
        {"text": "x", "buttons": [[{"label_key": "journey.button.share"}]]},
        {"text": "x", "document": {"content": "no name"}},
    ],
)
def test_a_message_that_cannot_be_rendered_is_malformed(message: dict[str, Any]) -> None:
    notifier = ChatNotifier(fake_uow_factory(FakeStore()))
    with pytest.raises(MalformedMessage):
        render(message, "console", notifier.link)


# --- delivery ---------------------------------------------------------------------------------


async def test_sent_messages_are_marked_sent_with_the_platform_s_rendering() -> None:
    world = World()
    telegram, console = Recorder(), Recorder()
    world.notifier.register("telegram", telegram, link=telegram_link)
    world.notifier.register("console", console)
    ann = await world.person("ann")
    cid = await world.person("cid", platform="console")
    await world.queue(ann, "k:ann", STEP)
    await world.queue(cid, "k:cid", STEP)

    report = await world.sender.drain()

    assert report == DrainReport(claimed=2, sent=2)
    [to_ann] = telegram.to("chat-ann")
    assert to_ann.text.endswith("https://t.me/one_bot?start=ref-7")
    [to_cid] = console.to("chat-cid")
    assert to_cid.text.endswith("/start ref-7")
    assert {row.state for row in world.rows()} == {OutboxState.SENT}
    assert world.row("k:ann").sent_at == T0
    assert await world.sender.drain() == DrainReport()  # nothing is sent twice


async def test_a_person_no_chat_reaches_is_marked_unreachable_and_not_retried() -> None:
    world = World()
    telegram = Recorder(unreachable={"chat-ann"})
    world.notifier.register("telegram", telegram)
    ann = await world.person("ann")  # blocked the bot
    async with world.uow() as uow:  # someone the bot never had a chat with
        nobody = await uow.entities.add(EntityType.USER, "Nobody", None, {}, world.clock.now())
        await uow.commit()
    assert nobody is not None
    await world.queue(ann, "k:ann", hello())
    await world.queue(nobody, "k:nobody", hello())

    report = await world.sender.drain()

    assert (report.claimed, report.unreachable, report.sent) == (2, 2, 0)
    assert world.row("k:ann").state is OutboxState.UNREACHABLE
    assert world.row("k:nobody").state is OutboxState.UNREACHABLE
    world.clock.advance(timedelta(hours=1))
    assert await world.sender.drain() == DrainReport()


async def test_a_failed_send_is_retried_with_backoff_then_given_up() -> None:
    world = World()
    telegram = Recorder(failing={"chat-ann"})
    world.notifier.register("telegram", telegram)
    ann = await world.person("ann")
    await world.queue(ann, "k:ann", hello())

    waits = []
    for attempt in range(1, 8):
        now = world.clock.now()
        report = await world.sender.drain()
        assert (report.claimed, report.retried) == (1, 1), attempt
        row = world.row("k:ann")
        assert (row.state, row.attempts) == (OutboxState.PENDING, attempt)
        assert row.last_error is not None
        assert "platform down" in row.last_error
        waits.append((row.not_before - now).total_seconds())
        assert await world.sender.drain() == DrainReport()  # not due before its backoff
        world.clock.set(row.not_before)
    assert waits == [1, 2, 4, 8, 16, 32, 64]

    report = await world.sender.drain()  # the eighth attempt
    assert (report.claimed, report.failed, report.retried) == (1, 1, 0)
    assert (world.row("k:ann").state, world.row("k:ann").attempts) == (OutboxState.FAILED, 8)
    world.clock.advance(timedelta(days=1))
    assert await world.sender.drain() == DrainReport()
    assert telegram.sent == []


async def test_backoff_is_capped() -> None:
    world = World(SenderSettings(attempts=20, backoff_max=300))
    world.notifier.register("telegram", Recorder(failing={"chat-ann"}))
    ann = await world.person("ann")
    await world.queue(ann, "k:ann", hello())
    for _ in range(12):
        now = world.clock.now()
        await world.sender.drain()
        world.clock.set(world.row("k:ann").not_before)
    assert (world.row("k:ann").not_before - now).total_seconds() == 300


async def test_a_send_that_works_after_failing_is_marked_sent() -> None:
    world = World()
    telegram = Recorder(failing={"chat-ann"})
    world.notifier.register("telegram", telegram)
    ann = await world.person("ann")
    await world.queue(ann, "k:ann", hello())
    await world.sender.drain()
    telegram.failing.clear()
    world.clock.advance(SECOND)
    assert (await world.sender.drain()).sent == 1
    assert world.row("k:ann").state is OutboxState.SENT
    assert len(telegram.to("chat-ann")) == 1


async def test_a_malformed_message_fails_at_once() -> None:
    world = World()
    world.notifier.register("telegram", Recorder())
    ann = await world.person("ann")
    await world.queue(ann, "k:bad", {"text": "x", "buttons": [[{"label_key": "nope"}]]})
    report = await world.sender.drain()
    assert report.failed == 1
    row = world.row("k:bad")
    assert (row.state, row.attempts) == (OutboxState.FAILED, 1)
    assert row.last_error is not None
    assert row.last_error.startswith("malformed")


async def test_without_a_chat_frontend_messages_stay_pending_untouched() -> None:
    world = World()  # `one-bot resume`: nothing registered
    ann = await world.person("ann")
    await world.queue(ann, "k:ann", hello())
    before = world.row("k:ann")

    assert await world.sender.drain() == DrainReport()

    assert world.row("k:ann") == before  # not claimed, no attempt counted
    with pytest.raises(NoChatFrontend):
        await world.notifier.deliver(ann, Reply("hi"))


async def test_a_person_reachable_only_where_another_process_runs_is_left_pending() -> None:
    world = World()
    console = Recorder()
    world.notifier.register("console", console)  # this process runs the console only
    ann = await world.person("ann", platform="telegram")
    await world.queue(ann, "k:ann", hello())

    report = await world.sender.drain()

    assert (report.claimed, report.left, report.sent, report.unreachable) == (1, 1, 0, 0)
    row = world.row("k:ann")
    assert (row.state, row.attempts) == (OutboxState.PENDING, 0)
    assert row.not_before > T0  # leased: the process that serves Telegram takes it after that


async def test_a_dedupe_key_queued_twice_is_sent_once() -> None:
    world = World()
    telegram = Recorder()
    world.notifier.register("telegram", telegram)
    ann = await world.person("ann")
    assert await world.queue(ann, "journey:1:hook", hello("first"))
    assert not await world.queue(ann, "journey:1:hook", hello("second"))

    await world.sender.drain()
    world.clock.advance(timedelta(hours=1))
    await world.sender.drain()

    assert [reply.text for reply in telegram.to("chat-ann")] == ["first"]


async def test_a_person_s_other_chat_is_tried_when_one_fails() -> None:
    world = World()
    telegram, console = Recorder(failing={"chat-ann"}), Recorder()
    world.notifier.register("telegram", telegram)
    world.notifier.register("console", console)
    ann = await world.person("ann")
    async with world.uow() as uow:
        await uow.identities.add("console", "ann", ann, "ann-console", world.clock.advance())
        await uow.commit()
    assert await world.notifier.deliver(ann, Reply("hi"))
    assert [r.text for r in console.to("ann-console")] == ["hi"]
    console.failing.add("ann-console")
    with pytest.raises(ConnectionError):  # none took it: the first error, to retry later
        await world.notifier.deliver(ann, Reply("again"))


async def test_sends_run_concurrently_up_to_the_bound() -> None:
    world = World(SenderSettings(batch=20, concurrency=3))
    telegram = Recorder(gate=asyncio.Event(), busy_at=3)
    world.notifier.register("telegram", telegram)
    for n in range(10):
        person = await world.person(f"p{n}")
        await world.queue(person, f"k:{n}", hello())

    draining = asyncio.create_task(world.sender.drain())
    async with asyncio.timeout(5):
        await telegram.busy.wait()
    for _ in range(50):
        await asyncio.sleep(0)
    assert telegram.in_flight == 3
    assert telegram.gate is not None
    telegram.gate.set()
    report = await draining

    assert report.sent == 10
    assert telegram.most_in_flight == 3


async def test_a_cancelled_drain_records_what_was_sent_and_leaves_the_rest_leased() -> None:
    world = World(SenderSettings(batch=10, concurrency=2))
    telegram = Recorder()
    world.notifier.register("telegram", telegram)
    people = [await world.person(f"p{n}") for n in range(4)]
    for n, person in enumerate(people):
        await world.queue(person, f"k:{n}", hello())

    # The first two go through; then the platform hangs.
    gate = asyncio.Event()
    sent_two = asyncio.Event()

    started: list[str] = []

    async def push(chat_id: str, reply: Reply) -> MessageRef | None:
        started.append(chat_id)  # counted as it starts: sends run side by side
        if len(started) > 2:
            await gate.wait()
        ref = await telegram(chat_id, reply)
        if len(telegram.sent) == 2:
            sent_two.set()
        return ref

    world.notifier.register("telegram", push)
    draining = asyncio.create_task(world.sender.drain())
    await sent_two.wait()
    draining.cancel()
    with pytest.raises(asyncio.CancelledError):
        await draining

    states = sorted((row.state.value, row.attempts) for row in world.rows())
    assert states == [("pending", 0), ("pending", 0), ("sent", 0), ("sent", 0)]
    assert await world.sender.drain() == DrainReport()  # the rest wait for their lease
    gate.set()
    world.clock.advance(timedelta(seconds=world.sender.settings.lease))
    assert (await world.sender.drain()).sent == 2
    assert len(telegram.sent) == 4


async def test_no_send_starts_too_late_for_its_lease() -> None:
    # A lease of 0.2 s: a send may take 0.1 s and start until 0.08 s after the claim. The
    # first send hangs until its timeout; the second would start too late, so it is left
    # (no attempt counted) for the lease to expire.
    world = World(SenderSettings(lease=0.2, concurrency=1))
    hanging = Recorder(gate=asyncio.Event())
    world.notifier.register("telegram", hanging)
    for name in ("ann", "bob"):
        await world.queue(await world.person(name), f"k:{name}", hello())

    report = await world.sender.drain()

    assert (report.claimed, report.retried, report.left) == (2, 1, 1)
    assert hanging.sent == []
    assert world.row("k:ann").attempts == 1
    assert world.row("k:bob").attempts == 0


# --- the timer ----------------------------------------------------------------------------------


async def test_a_tick_drains_while_batches_come_back_full() -> None:
    world = World(SenderSettings(batch=2))
    telegram = Recorder()
    world.notifier.register("telegram", telegram)
    for n in range(5):
        person = await world.person(f"p{n}")
        await world.queue(person, f"k:{n}", hello())

    report = await OutboxJobs(world.sender, every=60).tick()

    assert report == DrainReport(claimed=1, sent=1)
    assert len(telegram.sent) == 5


async def test_a_failing_tick_is_logged_and_the_next_one_tries_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        async def drain(self) -> DrainReport:
            raise RuntimeError("database down")

    assert await OutboxJobs(Broken()).tick() is None
    assert "sending outbox messages failed" in caplog.text


async def test_the_timer_runs_until_stopped() -> None:
    world = World()
    telegram = Recorder()
    world.notifier.register("telegram", telegram)
    ann = await world.person("ann")
    await world.queue(ann, "k:ann", hello())
    stop = asyncio.Event()
    running = asyncio.create_task(OutboxJobs(world.sender, every=0.01).run(stop))
    for _ in range(100):
        if telegram.sent:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await running
    assert len(telegram.sent) == 1
