"""Owner-only edits of a creator's bio, niches and avatar."""

from __future__ import annotations

import pytest

from bot.conversation.context import Services
from core.errors import AccessDenied, CreatorNotFound, InvalidInput, NotACreator, Reason
from tests.fakes import FakeClock, FakeStore
from tests.services_support import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    MINUTE,
    T0,
    events_of,
    register,
    user_id_of,
)


async def test_owner_updates_bio_niches_and_avatar(
    services: Services, store: FakeStore, clock: FakeClock
) -> None:
    alice = await register(services, ALICE, niches=["fitness"])
    later = clock.advance(MINUTE)

    updated = await services.creators.update(
        ALICE,
        bio="  Coach.\nRunner.  ",
        niches=["Running", "yoga"],
        avatar_url="https://cdn.example.com/a.png",
    )

    assert (updated.bio, updated.niches, updated.avatar_url) == (
        "Coach.\nRunner.",
        ("running", "yoga"),
        "https://cdn.example.com/a.png",
    )
    stored = store.entities[alice.id]
    assert stored.properties == {
        "email": "alice@example.com",
        "niches": ["running", "yoga"],
        "bio": "Coach.\nRunner.",
        "avatar_url": "https://cdn.example.com/a.png",
    }
    assert (stored.created_at, stored.updated_at) == (T0, later)
    assert store.niches == {("running", alice.id), ("yoga", alice.id)}
    assert await services.creators.discover(DAVE, "fitness") == []
    assert [c.handle for c in await services.creators.discover(DAVE, "running")] == ["alice"]

    event = events_of(store, alice.id)[-1]
    assert (event.type, event.actor_id, event.metadata, event.at) == (
        "creator_updated",
        user_id_of(store, ALICE),
        {"fields": ["avatar_url", "bio", "niches"]},
        later,
    )


async def test_update_of_one_field_by_handle_logs_that_field(
    services: Services, store: FakeStore
) -> None:
    alice = await register(services, ALICE)
    updated = await services.creators.update(ALICE, handle="@alice", bio="Hi")
    assert (updated.bio, updated.niches) == ("Hi", ("fitness",))
    assert events_of(store, alice.id)[-1].metadata == {"fields": ["bio"]}


async def test_update_without_changes_writes_nothing(services: Services, store: FakeStore) -> None:
    alice = await register(services, ALICE)
    before = store.snapshot()
    assert await services.creators.update(ALICE) == alice
    assert store == before


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.png",
        "javascript:alert(1)",
        "not a url",
        "https://",
        "https://exa mple.com/a.png",
        "",
    ],
)
async def test_invalid_avatar_urls_are_refused(
    services: Services, store: FakeStore, url: str
) -> None:
    await register(services, ALICE)
    before = store.snapshot()
    with pytest.raises(InvalidInput) as refused:
        await services.creators.update(ALICE, bio="new", avatar_url=url)
    assert (refused.value.reason, refused.value.params) == (Reason.URL_INVALID, {"value": url})
    assert store == before


async def test_overlong_avatar_url_is_refused(services: Services, store: FakeStore) -> None:
    await register(services, ALICE)
    before = store.snapshot()
    url = "https://example.com/" + "a" * 500
    with pytest.raises(InvalidInput) as refused:
        await services.creators.update(ALICE, avatar_url=url)
    assert (refused.value.reason, refused.value.params) == (
        Reason.TOO_LONG,
        {"field": "avatar", "limit": 500, "length": len(url)},
    )
    assert store == before


async def test_only_the_owner_may_update(services: Services, store: FakeStore) -> None:
    await register(services, ALICE)
    await register(services, BOB)
    before = store.snapshot()

    with pytest.raises(AccessDenied):
        await services.creators.update(BOB, handle="alice", bio="hacked")
    with pytest.raises(AccessDenied):
        await services.creators.update(DAVE, handle="alice", bio="hacked")
    with pytest.raises(NotACreator):
        await services.creators.update(CAROL, bio="I am no creator")
    with pytest.raises(CreatorNotFound):
        await services.creators.update(BOB, handle="nobody", bio="x")
    assert store == before
    assert (await services.creators.profile(ALICE, "alice")).creator.bio == ""
