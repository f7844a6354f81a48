"""Following and unfollowing creators, and the counts that follow."""

from __future__ import annotations

import pytest

from bot.conversation.context import Services
from core.errors import (
    AlreadyFollowing,
    CannotFollowSelf,
    CreatorNotFound,
    DomainError,
    InvalidInput,
    NotFollowing,
)
from core.model import ActorType, UserRef
from tests.fakes import FakeClock, FakeStore
from tests.services_support import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    MINUTE,
    T0,
    events_of,
    person,
    register,
    three_creators,
    user_id_of,
)


async def test_follow_and_unfollow(services: Services, store: FakeStore, clock: FakeClock) -> None:
    alice = await register(services, ALICE)
    clock.advance(MINUTE)

    followed = await services.follows.follow(BOB, "Alice")
    bob_id = user_id_of(store, BOB)
    assert (followed.handle, followed.followers) == ("alice", 1)
    assert [(c.from_id, c.relation, c.to_id) for c in store.connections.values()][-1] == (
        bob_id,
        "following",
        alice.id,
    )
    assert store.counters[alice.id, "followers"] == 1
    assert [c.handle for c in await services.follows.following(BOB)] == ["alice"]

    clock.advance(MINUTE)
    unfollowed = await services.follows.unfollow(BOB, "@alice")
    assert unfollowed.followers == 0
    assert store.counters[alice.id, "followers"] == 0
    assert [c.relation for c in store.connections.values()] == ["owns"]
    assert await services.follows.following(BOB) == []

    engaged = [e for e in events_of(store, alice.id) if e.type == "user_engaged"]
    assert [(e.actor_type, e.actor_id, e.metadata, e.at) for e in engaged] == [
        (ActorType.USER, bob_id, {"action": "followed"}, T0 + MINUTE),
        (ActorType.USER, bob_id, {"action": "unfollowed"}, T0 + 2 * MINUTE),
    ]


async def test_following_lists_the_newest_first(services: Services, store: FakeStore) -> None:
    await three_creators(services)
    await services.follows.follow(DAVE, "carol")
    await services.follows.follow(DAVE, "alice")
    await services.follows.follow(DAVE, "bob")
    listed = await services.follows.following(DAVE)
    assert [(c.handle, c.followers) for c in listed] == [("bob", 4), ("alice", 2), ("carol", 3)]
    assert [c.handle for c in await services.follows.following(DAVE, limit=2)] == ["bob", "alice"]
    assert await services.follows.following(person("Nobody")) == []
    with pytest.raises(InvalidInput) as refused:
        await services.follows.following(DAVE, limit=101)
    assert refused.value.params == {"limit": 100}


async def test_counts_stay_exact(services: Services, store: FakeStore) -> None:
    alice = await register(services, ALICE)
    fans = [person(f"Fan{n}") for n in range(7)]
    for fan in fans:
        await services.follows.follow(fan, "alice")
    for fan in fans[:3]:
        await services.follows.unfollow(fan, "alice")
    await services.follows.follow(fans[0], "alice")

    assert (await services.creators.profile(ALICE, "alice")).creator.followers == 5
    assert store.counters[alice.id, "followers"] == 5
    following = [c for c in store.connections.values() if c.relation == "following"]
    assert len(following) == 5


async def test_following_refusals_change_nothing(services: Services, store: FakeStore) -> None:
    await register(services, ALICE)
    await services.follows.follow(BOB, "alice")
    await services.identities.ensure_user(CAROL)
    before = store.snapshot()

    refusals: list[tuple[UserRef, str, str, type[DomainError], dict[str, object]]] = [
        (BOB, "follow", "nobody", CreatorNotFound, {"handle": "nobody"}),
        (BOB, "unfollow", "@Ghost", CreatorNotFound, {"handle": "ghost"}),
        (ALICE, "follow", "alice", CannotFollowSelf, {"handle": "alice"}),
        (BOB, "follow", "ALICE", AlreadyFollowing, {"handle": "alice"}),
        (CAROL, "unfollow", "alice", NotFollowing, {"handle": "alice"}),
        (ALICE, "unfollow", "alice", NotFollowing, {"handle": "alice"}),
    ]
    for who, action, handle, error, params in refusals:
        act = getattr(services.follows, action)
        with pytest.raises(error) as refused:
            await act(who, handle)
        assert refused.value.params == params, (who.name, action, handle)
    assert store == before
    assert (await services.creators.profile(CAROL, "alice")).creator.followers == 1
