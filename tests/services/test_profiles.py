"""Creator profiles as fans and owners see them, and discovery by niche."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.conversation.context import Services
from core.errors import CreatorNotFound, InvalidInput, NotACreator, Reason
from core.model import Status
from tests.fakes import FakeStore
from tests.services_support import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    entity_by_handle,
    register,
    three_creators,
)


async def test_profile_as_seen_by_a_fan_and_by_the_owner(
    services: Services, store: FakeStore
) -> None:
    alice = await register(services, ALICE)
    await services.follows.follow(BOB, "alice")
    await services.follows.follow(CAROL, "alice")
    store.counters[alice.id, "content"] = 7  # no service publishes content yet

    seen_by_bob = await services.creators.profile(BOB, "alice")
    assert (seen_by_bob.creator.followers, seen_by_bob.creator.content) == (2, 7)
    assert (seen_by_bob.is_owner, seen_by_bob.is_following) == (False, True)

    seen_by_dave = await services.creators.profile(DAVE, " @Alice ")
    assert (seen_by_dave.is_owner, seen_by_dave.is_following) == (False, False)

    seen_by_alice = await services.creators.profile(ALICE, "alice")
    assert (seen_by_alice.is_owner, seen_by_alice.is_following) == (True, False)
    assert seen_by_alice.creator == seen_by_bob.creator

    mine = await services.creators.my_profile(ALICE)
    assert (mine.creator.handle, mine.creator.followers, mine.is_owner) == ("alice", 2, True)


async def test_profile_of_nobody(services: Services) -> None:
    with pytest.raises(CreatorNotFound) as refused:
        await services.creators.profile(BOB, "@Nobody")
    assert refused.value.params == {"handle": "nobody"}
    with pytest.raises(InvalidInput) as invalid:
        await services.creators.profile(BOB, "no body!")
    assert (invalid.value.reason, invalid.value.params) == (
        Reason.HANDLE_INVALID,
        {"value": "no body!"},
    )
    with pytest.raises(NotACreator):
        await services.creators.my_profile(BOB)


async def test_discover_by_niche_most_followed_first(services: Services) -> None:
    await three_creators(services)
    assert [c.handle for c in await services.creators.discover(DAVE)] == ["bob", "carol", "alice"]
    fitness = await services.creators.discover(DAVE, " FITNESS ")
    assert [(c.handle, c.followers) for c in fitness] == [("carol", 2), ("alice", 1)]
    assert [c.handle for c in await services.creators.discover(DAVE, "yoga")] == ["alice"]
    assert await services.creators.discover(DAVE, "knitting") == []


async def test_discover_breaks_ties_by_age(services: Services) -> None:
    for who in (CAROL, ALICE, BOB):
        await register(services, who)
    assert [c.handle for c in await services.creators.discover(DAVE, "fitness")] == [
        "carol",
        "alice",
        "bob",
    ]


async def test_discover_shows_active_creators_only(services: Services, store: FakeStore) -> None:
    await three_creators(services)
    carol = entity_by_handle(store, "carol")
    store.entities[carol.id] = replace(carol, status=Status.INACTIVE)

    assert [c.handle for c in await services.creators.discover(DAVE)] == ["bob", "alice"]
    assert [c.handle for c in await services.creators.discover(DAVE, "fitness")] == ["alice"]


async def test_discover_limit(services: Services, store: FakeStore) -> None:
    await three_creators(services)
    assert [c.handle for c in await services.creators.discover(DAVE, limit=2)] == ["bob", "carol"]
    assert [c.handle for c in await services.creators.discover(DAVE, "fitness", limit=1)] == [
        "carol"
    ]
    assert len(await services.creators.discover(DAVE, limit=50)) == 3
    for bad in (0, -1, 51):
        with pytest.raises(InvalidInput) as refused:
            await services.creators.discover(DAVE, limit=bad)
        assert (refused.value.reason, refused.value.params) == (
            Reason.LIMIT_INVALID,
            {"limit": 50},
        )
