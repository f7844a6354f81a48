"""The event log a creator's owner reads."""

from __future__ import annotations

import pytest

from bot.conversation.context import Services
from core.errors import InvalidInput, NotACreator, Reason
from tests.fakes import FakeClock, FakeStore
from tests.services_support import ALICE, BOB, CAROL, MINUTE, T0, person, register


async def test_owner_reads_the_log_newest_first_with_actor_names(
    services: Services, store: FakeStore, clock: FakeClock
) -> None:
    alice = await register(services, ALICE)
    clock.advance(MINUTE)
    await services.follows.follow(BOB, "alice")
    clock.advance(MINUTE)
    await services.follows.follow(CAROL, "alice")
    clock.advance(MINUTE)
    await services.follows.unfollow(BOB, "alice")
    clock.advance(MINUTE)
    await services.creators.update(ALICE, bio="Hello")

    log = await services.events.latest_for_owner(ALICE)
    assert log.handle == "alice"
    assert [(e.type, e.actor_name, e.metadata, e.at) for e in log.events] == [
        ("creator_updated", "Alice", {"fields": ["bio"]}, T0 + 4 * MINUTE),
        ("user_engaged", "Bob", {"action": "unfollowed"}, T0 + 3 * MINUTE),
        ("user_engaged", "Carol", {"action": "followed"}, T0 + 2 * MINUTE),
        ("user_engaged", "Bob", {"action": "followed"}, T0 + MINUTE),
        ("creator_created", "Alice", {"handle": "alice", "niches": ["fitness"]}, T0),
    ]
    assert all(e.entity_id == alice.id for e in log.events)

    latest_two = await services.events.latest_for_owner(ALICE, limit=2)
    assert [e.metadata for e in latest_two.events] == [
        {"fields": ["bio"]},
        {"action": "unfollowed"},
    ]


async def test_events_at_the_same_moment_keep_their_order(services: Services) -> None:
    await register(services, ALICE)
    for fan in ("Bob", "Carol", "Dave"):
        await services.follows.follow(person(fan), "alice")
    log = await services.events.latest_for_owner(ALICE, limit=3)
    assert [e.actor_name for e in log.events] == ["Dave", "Carol", "Bob"]


async def test_only_creators_have_a_log(services: Services, store: FakeStore) -> None:
    await register(services, ALICE)
    with pytest.raises(NotACreator):
        await services.events.latest_for_owner(BOB)
    for bad in (0, 51):
        with pytest.raises(InvalidInput) as refused:
            await services.events.latest_for_owner(ALICE, limit=bad)
        assert (refused.value.reason, refused.value.params) == (
            Reason.LIMIT_INVALID,
            {"limit": 50},
        )
