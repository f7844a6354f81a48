"""ELEVATE journeys on fakes with a fake clock: the nine steps, the payment gate, retries,
opt-out, and a step performed twice that is delivered once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.conversation.context import Services
from core.journey_templates import render
from core.journeys import STEPS, OutboxState, QueuedMessage, RunState
from core.model import EventType
from tests.fakes import FakeClock, FakeStore, FakeUnitOfWork
from tests.fakes.ai import FakeKnowledgeStore
from tests.fakes.journeys import FakeOutboxRepository
from tests.services.test_purchases import alice_token, bought
from tests.services_support import ALICE, BOB, CAROL, MINUTE, T0, user_id_of

HOUR = timedelta(hours=1)


def sent(store: FakeStore) -> list[tuple[str, dict[str, Any]]]:
    """What the journey put into the outbox, in order: (dedupe key, message)."""
    rows = sorted(store.outbox.items())
    return [(row.dedupe_key, row.message) for _, row in rows]


def keys(store: FakeStore) -> list[str]:
    return [key.split(":", 2)[2] for key, _ in sent(store)]


def run_of(store: FakeStore) -> Any:
    [run] = store.journey_runs.values()
    return run


async def tick_after(services: Services, clock: FakeClock, hours: float) -> int:
    clock.advance(timedelta(hours=hours))
    return await services.journey_engine.tick()


async def test_a_fan_goes_through_all_nine_steps(
    services: Services, store: FakeStore, clock: FakeClock
) -> None:
    await alice_token(services)  # $1.50 a token: the $100 gate asks for 67
    await services.follows.follow(BOB, "alice")
    assert await services.journey_engine.tick() == 1
    assert keys(store) == ["hook"]
    hook = sent(store)[0][1]
    assert "what is the one goal" in hook["text"]
    answer = await services.journeys.answer(BOB, "Run my first marathon")
    assert answer is not None
    assert answer.step == "hook"
    assert await tick_after(services, clock, 23) == 0  # the gift waits 24 h
    await tick_after(services, clock, 1)
    gift = sent(store)[-1][1]
    assert gift["document"]["file_name"] == "insights-alice.md"
    assert "Run my first marathon" in gift["document"]["content"]
    await tick_after(services, clock, 24)
    gate = sent(store)[-1][1]
    assert "67 $ALICE ($100)" in gate["text"]
    assert gate["buttons"] == [
        [
            {
                "label_key": "journey.button.buy",
                "params": {"amount": 67, "symbol": "ALICE"},
                "data": "/buy alice 67",
            }
        ]
    ]
    await bought(services, 67)
    assert await services.journey_engine.tick() == 1  # the purchase woke the gate up
    assert run_of(store).step_name == "engage"
    for hours in (24, 48, 72, 72, 48, 48):
        assert await tick_after(services, clock, hours) == 1
    assert keys(store) == [
        "hook",
        "gift",
        "identify",
        "engage",
        "sell",
        "nurture",
        "upsell",
        "understand",
        "share",
    ]
    rating = sent(store)[7][1]
    assert [row[0]["data"] for row in rating["buttons"]] == [
        f"/rate alice {n}" for n in range(1, 6)
    ]
    share = sent(store)[8][1]
    assert "{link}" in share["text"]
    assert share["start"] == f"ref-{run_of(store).id}-{run_of(store).data['ref']}"
    assert run_of(store).state is RunState.DONE
    assert await tick_after(services, clock, 1000) == 0
    steps = [e.metadata["step"] for e in store.events.values() if e.type == EventType.JOURNEY_STEP]
    assert steps == list(STEPS)


async def reach_the_gate(services: Services, clock: FakeClock) -> None:
    await alice_token(services)
    await services.follows.follow(BOB, "alice")
    await services.journey_engine.tick()
    await tick_after(services, clock, 24)
    await tick_after(services, clock, 24)


async def test_an_unpaid_gate_reminds_daily_and_ends_kindly_after_seven_days(
    services: Services, store: FakeStore, clock: FakeClock
) -> None:
    await reach_the_gate(services, clock)
    for _ in range(7):
        await tick_after(services, clock, 24)
    assert keys(store)[2:] == [
        "identify",
        *(f"identify:reminder:{n}" for n in range(1, 7)),
        "identify:ended",
    ]
    assert run_of(store).state is RunState.ENDED
    assert "No worries" in sent(store)[-1][1]["text"]
    assert await tick_after(services, clock, 24) == 0


async def test_a_gate_paid_late_goes_on(
    services: Services, store: FakeStore, clock: FakeClock
) -> None:
    await reach_the_gate(services, clock)
    await tick_after(services, clock, 24)
    await tick_after(services, clock, 24)  # two reminders
    await bought(services, 67)
    await tick_after(services, clock, 24)
    assert run_of(store).step_name == "engage"
    await tick_after(services, clock, 24)
    assert keys(store)[-1] == "engage"


async def test_a_step_that_fails_is_retried_then_failed_for_good(
    services: Services, store: FakeStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await alice_token(services)
    await services.follows.follow(BOB, "alice")
    original = FakeOutboxRepository.add_many
    # Two: the batch fails, then the run on its own (a failure of its batch alone is not the
    # step's: it is tried again at once, by itself).
    failures = {"left": 2}

    async def flaky(self: FakeOutboxRepository, *args: Any, **kwargs: Any) -> int:
        if failures["left"]:
            failures["left"] -= 1
            raise OSError("the database hiccuped")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(FakeOutboxRepository, "add_many", flaky)
    await services.journey_engine.tick()
    assert (run_of(store).attempts, keys(store)) == (1, [])
    clock.advance(timedelta(seconds=1))  # the first retry comes after 1 s
    await services.journey_engine.tick()
    assert keys(store) == ["hook"]
    assert run_of(store).attempts == 0

    failures["left"] = 10
    await tick_after(services, clock, 24)
    clock.advance(timedelta(seconds=1))
    await services.journey_engine.tick()
    clock.advance(timedelta(seconds=2))
    await services.journey_engine.tick()
    assert run_of(store).state is RunState.FAILED
    failed = [e for e in store.events.values() if e.type == EventType.JOURNEY_FAILED]
    assert [(e.metadata["step"], e.metadata["error"]) for e in failed] == [("gift", "OSError")]


async def test_opting_out_stops_the_messages(
    services: Services, store: FakeStore, clock: FakeClock
) -> None:
    await alice_token(services)
    await services.follows.follow(BOB, "alice")
    await services.follows.follow(CAROL, "alice")
    await services.journey_engine.tick()
    assert await services.journeys.stop(BOB, "alice") == ["alice"]
    await services.follows.unfollow(CAROL, "alice")
    assert await tick_after(services, clock, 48) == 0
    assert len(sent(store)) == 2  # the two hooks, before they left
    states = {r.fan_id: r.state for r in store.journey_runs.values()}
    assert states == {
        user_id_of(store, BOB): RunState.STOPPED,
        user_id_of(store, CAROL): RunState.STOPPED,
    }


async def test_opting_out_cancels_what_was_queued_and_not_yet_sent(
    services: Services, store: FakeStore
) -> None:
    await alice_token(services)
    await services.follows.follow(BOB, "alice")
    await services.follows.follow(CAROL, "alice")
    await services.journey_engine.tick()  # both hooks queued; no sender ran yet
    started = await services.broadcasts.start(ALICE, "Live tonight!", lambda n, h, t: t)
    assert started.total == 2
    assert await services.journeys.stop(BOB, "alice") == ["alice"]
    states = {
        (row.person_id, row.dedupe_key.split(":")[0]): row.state for row in store.outbox.values()
    }
    bob, carol = user_id_of(store, BOB), user_id_of(store, CAROL)
    assert states == {
        (bob, "journey"): OutboxState.CANCELLED,
        (bob, "broadcast"): OutboxState.CANCELLED,
        (carol, "journey"): OutboxState.PENDING,
        (carol, "broadcast"): OutboxState.PENDING,
    }
    progress = await services.broadcasts.progress(ALICE, started.batch)
    assert (progress.pending, progress.cancelled, progress.total) == (1, 1, 2)


async def test_following_again_goes_on_where_the_journey_stopped(
    services: Services, store: FakeStore, clock: FakeClock
) -> None:
    await alice_token(services)
    await services.follows.follow(BOB, "alice")
    await services.journey_engine.tick()
    await tick_after(services, clock, 24)
    assert keys(store) == ["hook", "gift"]
    await services.follows.unfollow(BOB, "alice")
    assert run_of(store).state is RunState.STOPPED
    await tick_after(services, clock, 24)
    await services.follows.follow(BOB, "alice")  # back: the gate is next, 24 h from now
    assert (run_of(store).state, run_of(store).step_name) == (RunState.ACTIVE, "identify")
    assert await tick_after(services, clock, 23) == 0
    await tick_after(services, clock, 1)
    assert keys(store) == ["hook", "gift", "identify"]
    resumed = [e for e in store.events.values() if e.metadata.get("resumed") is not None]
    assert [e.metadata["resumed"] for e in resumed] == [2]


async def test_a_worker_whose_lease_ran_out_does_nothing(
    services: Services, store: FakeStore, clock: FakeClock
) -> None:
    await reach_the_gate(services, clock)
    clock.advance(timedelta(hours=24))
    engine = services.journey_engine
    async with FakeUnitOfWork(store) as uow:  # worker A claims the reminder, then stalls
        [stale] = await uow.journeys.claim_due(clock.now(), 10, clock.now() + MINUTE)
        await uow.commit()
    clock.advance(2 * MINUTE)  # A's lease runs out: worker B takes the run and sends it
    assert await engine.tick() == 1
    assert stale.next_run_at is not None
    await engine._perform_leased(stale, stale.next_run_at)  # A wakes up
    assert keys(store)[-1] == "identify:reminder:1"
    assert keys(store).count("identify:reminder:1") == 1
    assert "identify:reminder:2" not in keys(store)


async def test_a_message_already_queued_is_not_sent_again_and_the_run_moves_on(
    services: Services, store: FakeStore
) -> None:
    await alice_token(services)
    await services.follows.follow(BOB, "alice")
    run = run_of(store)
    async with FakeUnitOfWork(store) as uow:  # the hook went out, but the run did not move
        hook = QueuedMessage(run.fan_id, f"journey:{run.id}:hook", {"text": "hi"})
        await uow.outbox.add_many([hook], T0)
        await uow.commit()
    assert await services.journey_engine.tick() == 1
    assert keys(store) == ["hook"]
    assert run_of(store).step_name == "gift"


async def test_an_answer_that_takes_long_loses_nothing_the_engine_wrote_meanwhile(
    services: Services,
    store: FakeStore,
    clock: FakeClock,
    knowledge_store: FakeKnowledgeStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await alice_token(services)
    await services.follows.follow(BOB, "alice")
    await services.journey_engine.tick()
    thinking = asyncio.Event()
    original = FakeKnowledgeStore.search

    async def slow(self: FakeKnowledgeStore, *args: Any, **kwargs: Any) -> Any:
        await thinking.wait()  # the analysis takes its time …
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(FakeKnowledgeStore, "search", slow)
    answering = asyncio.create_task(services.journeys.answer(BOB, "Run a marathon"))
    await asyncio.sleep(0)
    await tick_after(services, clock, 24)  # … while the gift goes out
    await tick_after(services, clock, 24)  # … and the gate opens
    twice = await services.journeys.answer(BOB, "And again")  # the question was taken once
    assert twice is None
    thinking.set()
    assert (await answering) is not None
    data = run_of(store).data
    assert data["goals"] == "Run a marathon"
    assert "gate_opened" in data
    await tick_after(services, clock, 24)
    assert keys(store)[-1] == "identify:reminder:1"


async def test_a_creator_overrides_texts_and_waits_and_can_turn_it_off(
    services: Services, store: FakeStore, clock: FakeClock
) -> None:
    await alice_token(services)
    await services.journeys.configure(ALICE_REF, "hook", "text", "Hi {name}! Your goal?")
    await services.journeys.configure(ALICE_REF, "gift", "wait", "2")
    await services.follows.follow(BOB, "alice")
    await services.journey_engine.tick()
    assert sent(store)[-1][1]["text"] == "Hi Alice! Your goal?"
    await tick_after(services, clock, 2)
    assert keys(store) == ["hook", "gift"]
    await services.journeys.set_enabled(ALICE_REF, False)
    await services.follows.follow(CAROL, "alice")
    assert len(store.journey_runs) == 1


from tests.services_support import ALICE as ALICE_REF  # noqa: E402


def test_a_creators_text_cannot_format_its_way_into_the_bot() -> None:
    values = {"name": "Alice", "amount": 67}
    assert render("Hi {name}, {amount} {link}", values) == "Hi Alice, 67 {link}"
    assert render("{name:>999999999}", values) == "{name:>999999999}"
    assert render("{name.__class__.__mro__}", values) == "{name.__class__.__mro__}"
    assert render("a stray { and {0}", values) == "a stray { and {0}"
