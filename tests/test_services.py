"""The core services through the real bootstrap, on in-memory fakes of our own ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot import bootstrap
from bot.conversation.context import Services
from bot.settings import load_settings
from core.errors import (
    AccessDenied,
    AlreadyFollowing,
    AlreadyRegistered,
    CannotFollowSelf,
    CreatorNotFound,
    DomainError,
    EmailTaken,
    InvalidInput,
    NotACreator,
    NotFollowing,
    Reason,
)
from core.model import ActorType, Creator, Entity, EntityType, Event, Relation, Status, UserRef
from tests.fakes import (
    FakeClock,
    FakeStore,
    FakeUnitOfWork,
    ForeignKeyViolation,
    IdentityRow,
    fake_uow_factory,
)

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def person(name: str, chat_id: str | None = None) -> UserRef:
    """Someone on the test platform, known by their lower-cased name."""
    key = name.lower()
    return UserRef("test", key, name=name, chat_id=chat_id or f"chat-{key}")


ALICE = person("Alice")
BOB = person("Bob")
CAROL = person("Carol")
DAVE = person("Dave")


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def fake_app(store: FakeStore, clock: FakeClock) -> AsyncIterator[bootstrap.App]:
    async with AsyncExitStack() as stack:
        yield await bootstrap.build(
            load_settings(environ={}), stack, uow=fake_uow_factory(store), clock=clock
        )


@pytest.fixture
def services(fake_app: bootstrap.App) -> Services:
    return fake_app.services


async def register(
    services: Services,
    who: UserRef,
    email: str | None = None,
    niches: list[str] | None = None,
    name: str | None = None,
) -> Creator:
    return await services.creators.register(
        who,
        name if name is not None else who.name,
        email if email is not None else f"{who.platform_user_id}@example.com",
        niches if niches is not None else ["fitness"],
    )


def events_of(store: FakeStore, entity_id: int) -> list[Event]:
    return [e for e in store.events.values() if e.entity_id == entity_id]


def user_id_of(store: FakeStore, who: UserRef) -> int:
    return store.identities[who.platform, who.platform_user_id].user_id


def entity_by_handle(store: FakeStore, handle: str) -> Entity:
    [entity] = [e for e in store.entities.values() if e.handle == handle]
    return entity


# --- the fakes themselves -------------------------------------------------------------------


async def test_bootstrap_with_a_unit_of_work_override_opens_no_database(
    fake_app: bootstrap.App,
) -> None:
    assert fake_app.database is None


async def test_fake_unit_of_work_publishes_only_on_commit(store: FakeStore) -> None:
    async with FakeUnitOfWork(store) as uow:
        assert await uow.entities.add(EntityType.USER, "Gone", None, {}, T0) == 1
    assert store == FakeStore()

    async def commit_then_fail() -> None:
        async with FakeUnitOfWork(store) as uow:
            assert await uow.entities.add(EntityType.USER, "Kept", None, {}, T0) == 1
            await uow.commit()
            await uow.entities.add(EntityType.USER, "Lost", None, {}, T0)
            raise RuntimeError("after the commit: the committed work stays")

    with pytest.raises(RuntimeError, match="after the commit"):
        await commit_then_fail()
    assert [e.name for e in store.entities.values()] == ["Kept"]


async def test_fake_repositories_keep_the_database_constraints(store: FakeStore) -> None:
    async with FakeUnitOfWork(store) as uow:
        user = await uow.entities.add(EntityType.USER, "U", None, {}, T0)
        other_user = await uow.entities.add(EntityType.USER, "V", None, {}, T0)
        creator = await uow.entities.add(EntityType.CREATOR, "C", "c", {"email": "c@x.io"}, T0)
        assert user is not None
        assert other_user is not None
        assert creator is not None
        assert await uow.entities.add(EntityType.CREATOR, "D", "c", {"email": "d@x.io"}, T0) is None
        assert await uow.entities.add(EntityType.CREATOR, "D", "d", {"email": "c@x.io"}, T0) is None
        assert await uow.entities.add(EntityType.TOKEN, "T", "c", {"email": "c@x.io"}, T0) == 4
        assert await uow.connections.add(user, creator, Relation.FOLLOWING, {}, T0)
        assert not await uow.connections.add(user, creator, Relation.FOLLOWING, {}, T0)
        with pytest.raises(ForeignKeyViolation):
            await uow.connections.add(user, 999, Relation.FOLLOWING, {}, T0)
        assert await uow.connections.add(other_user, creator, Relation.FOLLOWING, {}, T0)
        assert await uow.connections.sources(creator, Relation.FOLLOWING, 10) == [
            other_user,
            user,
        ]
        await uow.counters.add(creator, "followers", 2)
        await uow.counters.add(creator, "followers", -1)
        assert await uow.counters.get(creator) == {"followers": 1}
        await uow.events.add(creator, "a", "system", None, {}, T0)
        await uow.events.add(creator, "b", "system", None, {}, T0)
        assert [e.type for e in await uow.events.latest(creator, 10)] == ["b", "a"]


# --- identities -----------------------------------------------------------------------------


async def test_first_contact_creates_one_user_with_identity_and_event(
    services: Services, store: FakeStore
) -> None:
    user_id = await services.identities.ensure_user(ALICE)

    assert store.entities == {
        user_id: Entity(user_id, EntityType.USER, None, "Alice", {}, Status.ACTIVE, T0, T0)
    }
    assert store.identities == {("test", "alice"): IdentityRow(user_id, "chat-alice", T0)}
    [event] = store.events.values()
    assert (event.entity_id, event.type, event.actor_type, event.actor_id, event.metadata) == (
        user_id,
        "user_created",
        ActorType.SYSTEM,
        None,
        {"platform": "test"},
    )
    assert event.at == T0


async def test_second_contact_is_the_same_person(services: Services, store: FakeStore) -> None:
    first = await services.identities.ensure_user(ALICE)
    before = store.snapshot()

    assert await services.identities.ensure_user(ALICE) == first
    assert await services.identities.ensure_user(replace(ALICE, name="Alice Renamed")) == first
    assert store == before
    assert await services.identities.ensure_user(BOB) != first
    assert len(store.entities) == len(store.identities) == len(store.events) == 2


async def test_chat_id_follows_the_person(services: Services, store: FakeStore) -> None:
    user_id = await services.identities.ensure_user(person("Alice", "c1"))
    await services.identities.ensure_user(person("Alice", "c2"))
    assert store.identities["test", "alice"] == IdentityRow(user_id, "c2", T0)

    # A message from a group (no private chat id) keeps the known one.
    await services.identities.ensure_user(UserRef("test", "alice", name="Alice", chat_id=None))
    assert store.identities["test", "alice"].chat_id == "c2"


async def test_first_contact_names(services: Services, store: FakeStore) -> None:
    nameless = await services.identities.ensure_user(UserRef("tg", "42", name="   "))
    spaced = await services.identities.ensure_user(UserRef("tg", "43", name="  Zoë \n  Ł  "))
    assert store.entities[nameless].name == "tg:42"
    assert store.entities[spaced].name == "Zoë Ł"


async def test_creator_handle_tells_fans_from_creators(services: Services) -> None:
    await register(services, ALICE)
    assert await services.identities.creator_handle(ALICE) == "alice"
    assert await services.identities.creator_handle(BOB) is None


# --- registration ---------------------------------------------------------------------------


async def test_register_creates_the_creator_and_everything_beside_it(
    services: Services, store: FakeStore
) -> None:
    creator = await services.creators.register(
        ALICE, "Alice Smith", "Alice.Smith+x@Example.com", ["Fitness", "yoga"]
    )

    user_id = user_id_of(store, ALICE)
    assert creator == Creator(
        id=creator.id,
        handle="alice_smith",
        name="Alice Smith",
        bio="",
        niches=("fitness", "yoga"),
        avatar_url=None,
        status=Status.ACTIVE,
        followers=0,
        content=0,
        created_at=T0,
    )
    assert store.entities[creator.id] == Entity(
        creator.id,
        EntityType.CREATOR,
        "alice_smith",
        "Alice Smith",
        {
            "email": "alice.smith+x@example.com",
            "niches": ["fitness", "yoga"],
            "bio": "",
            "avatar_url": None,
        },
        Status.ACTIVE,
        T0,
        T0,
    )
    assert store.niches == {("fitness", creator.id), ("yoga", creator.id)}
    assert store.counters == {(creator.id, "followers"): 0, (creator.id, "content"): 0}
    assert [(c.from_id, c.relation, c.to_id) for c in store.connections.values()] == [
        (user_id, "owns", creator.id)
    ]
    [event] = events_of(store, creator.id)
    assert (event.type, event.actor_type, event.actor_id, event.metadata) == (
        "creator_created",
        ActorType.USER,
        user_id,
        {"handle": "alice_smith", "niches": ["fitness", "yoga"]},
    )


async def test_handles_are_made_unique(services: Services) -> None:
    people = [person(f"Alice{n}") for n in range(3)]
    emails = ["alice@one.com", "Alice@two.com", "alice+shop@three.com"]
    handles = [(await register(services, p, e)).handle for p, e in zip(people, emails, strict=True)]
    assert handles == ["alice", "alice2", "alice3"]
    assert (await services.creators.profile(BOB, "@ALICE3")).creator.name == "Alice2"


@pytest.mark.parametrize(
    ("email", "handle"),
    [
        ("o'brien@example.com", "o_brien"),
        ("+only-a-tag@example.com", "creator"),
        ("__@example.com", "creator"),
        (f"{'a' * 30}@example.com", "a" * 24),
        ("jean-luc.picard@example.com", "jean_luc_picard"),
    ],
)
async def test_handle_from_the_email_local_part(
    services: Services, email: str, handle: str
) -> None:
    assert (await register(services, ALICE, email)).handle == handle


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("", Reason.EMAIL_REQUIRED),
        ("   ", Reason.EMAIL_REQUIRED),
        ("alice", Reason.EMAIL_INVALID),
        ("alice@", Reason.EMAIL_INVALID),
        ("@example.com", Reason.EMAIL_INVALID),
        ("a@b@example.com", Reason.EMAIL_INVALID),
        ("alice@example", Reason.EMAIL_INVALID),
        ("alice@-example.com", Reason.EMAIL_INVALID),
        ("alice@example.123", Reason.EMAIL_INVALID),
        ("alice@example.com.", Reason.EMAIL_INVALID),
        ("al ice@example.com", Reason.EMAIL_INVALID),
        ("alice..smith@example.com", Reason.EMAIL_INVALID),
        (".alice@example.com", Reason.EMAIL_INVALID),
        ("zoë@example.com", Reason.EMAIL_INVALID),
        (f"{'a' * 65}@example.com", Reason.EMAIL_INVALID),
        (f"a@{'b' * 250}.com", Reason.EMAIL_INVALID),
    ],
)
async def test_invalid_emails_are_refused(
    services: Services, store: FakeStore, email: str, reason: Reason
) -> None:
    await services.identities.ensure_user(ALICE)
    before = store.snapshot()
    with pytest.raises(InvalidInput) as refused:
        await register(services, ALICE, email)
    assert refused.value.reason == reason
    if reason == Reason.EMAIL_INVALID:
        assert refused.value.params == {"value": email.strip()[:80]}
    assert store == before


async def test_an_email_is_taken_whatever_its_case(services: Services, store: FakeStore) -> None:
    await register(services, ALICE, "Alice@Example.com")
    before = store.snapshot()

    with pytest.raises(EmailTaken) as refused:
        await register(services, BOB, "  ALICE@example.COM ")
    assert refused.value.params == {"email": "alice@example.com"}
    # Bob's first contact happened inside the refused unit of work: it is gone too.
    assert store == before
    assert ("test", "bob") not in store.identities


@pytest.mark.parametrize("name", ["", "   ", "\n\t "])
async def test_a_name_is_required(services: Services, store: FakeStore, name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await register(services, ALICE, name=name)
    assert refused.value.reason == Reason.NAME_REQUIRED
    assert store == FakeStore()


@pytest.mark.parametrize(
    ("niches", "stored"),
    [
        (
            ["  Fitness ", "YOGA", "fitness", "Yoga   Flow", "", "yoga"],
            ("fitness", "yoga", "yoga flow"),
        ),
        ([f"niche {n}" for n in range(10)], tuple(f"niche {n}" for n in range(10))),
        ([*(f"n{n}" for n in range(10)), "N0", " n9 "], tuple(f"n{n}" for n in range(10))),
        (["Arts & Crafts", "c++", "3d-printing"], ("arts & crafts", "c++", "3d-printing")),
    ],
)
async def test_niches_are_normalised(
    services: Services, store: FakeStore, niches: list[str], stored: tuple[str, ...]
) -> None:
    creator = await register(services, ALICE, niches=niches)
    assert creator.niches == stored
    assert store.entities[creator.id].properties["niches"] == list(stored)
    assert store.niches == {(n, creator.id) for n in stored}


@pytest.mark.parametrize(
    ("niches", "reason", "params"),
    [
        ([], Reason.NICHES_REQUIRED, {}),
        (["", "   "], Reason.NICHES_REQUIRED, {}),
        ([f"n{n}" for n in range(11)], Reason.TOO_MANY_NICHES, {"count": 11, "limit": 10}),
        (["#hashtag"], Reason.NICHE_INVALID, {"value": "#hashtag", "limit": 32}),
        (["x" * 33], Reason.NICHE_INVALID, {"value": "x" * 33, "limit": 32}),
    ],
)
async def test_bad_niche_lists_are_refused(
    services: Services,
    store: FakeStore,
    niches: list[str],
    reason: Reason,
    params: dict[str, object],
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await register(services, ALICE, niches=niches)
    assert (refused.value.reason, refused.value.params) == (reason, params)
    assert store == FakeStore()


async def test_one_person_registers_once(services: Services, store: FakeStore) -> None:
    await register(services, ALICE, "alice@example.com")
    before = store.snapshot()
    with pytest.raises(AlreadyRegistered) as refused:
        await register(services, ALICE, "another@example.com", name="Alice Again")
    assert refused.value.params == {"handle": "alice"}
    assert store == before


async def test_overlong_text_is_refused(services: Services, store: FakeStore) -> None:
    with pytest.raises(InvalidInput) as refused:
        await register(services, ALICE, name="n" * 5000)
    assert refused.value.reason == Reason.TOO_LONG
    assert refused.value.params == {"field": "name", "limit": 80, "length": 5000}
    assert store == FakeStore()

    assert (await register(services, ALICE, name="m" * 80)).name == "m" * 80
    before = store.snapshot()
    with pytest.raises(InvalidInput) as refused:
        await services.creators.update(ALICE, bio="b" * 5000)
    assert refused.value.reason == Reason.TOO_LONG
    assert refused.value.params == {"field": "bio", "limit": 500, "length": 5000}
    assert store == before


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        pytest.param("Zoë 🎨 Łukasz", "Zoë 🎨 Łukasz", id="emoji-and-accents"),
        pytest.param("Zoe\u0308", "Zoë", id="decomposed-stored-as-nfc"),
        pytest.param("  Jean   Luc  ", "Jean Luc", id="spaces-collapsed"),
        pytest.param("北京の猫", "北京の猫", id="cjk"),
        pytest.param("مریم", "مریم", id="arabic-script"),
        # 👩 + ZERO WIDTH JOINER + 🎨 is the single "woman artist" emoji.
        pytest.param("Zoë 👩\u200d🎨", "Zoë 👩\u200d🎨", id="zwj-emoji"),
        # Persian spelling needs the ZERO WIDTH NON-JOINER ("می‌خواهم").
        pytest.param("می\u200cخواهم", "می\u200cخواهم", id="persian-zwnj"),
    ],
)
async def test_unicode_names_are_accepted(
    services: Services, store: FakeStore, typed: str, shown: str
) -> None:
    creator = await register(services, ALICE, name=typed)
    assert creator.name == shown
    assert store.entities[creator.id].name == shown


@pytest.mark.parametrize("name", ["Al\x00ice", "Ali\x1bce", "evil\u202etxt.exe"])
async def test_control_characters_in_names_are_refused(
    services: Services, store: FakeStore, name: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await register(services, ALICE, name=name)
    assert (refused.value.reason, refused.value.params) == (
        Reason.CONTROL_CHARACTERS,
        {"field": "name"},
    )
    assert store == FakeStore()


async def test_sql_looking_text_is_stored_literally(services: Services, store: FakeStore) -> None:
    name = "Robert'); DROP TABLE entities;--"
    bio = "' OR 1=1; DELETE FROM events WHERE '' = '"
    creator = await register(services, ALICE, "o'brien@example.com", name=name)
    updated = await services.creators.update(ALICE, bio=bio)

    assert (updated.name, updated.bio, updated.handle) == (name, bio, "o_brien")
    assert store.entities[creator.id].properties["email"] == "o'brien@example.com"
    assert store.entities[creator.id].properties["bio"] == bio
    assert (await services.creators.profile(BOB, "o_brien")).creator.name == name


# --- profiles and discovery -----------------------------------------------------------------


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


async def _three_creators(services: Services) -> None:
    """alice (fitness, yoga; 1 follower), bob (cooking; 3), carol (fitness; 2)."""
    await register(services, ALICE, niches=["Fitness", "yoga"])
    await register(services, BOB, niches=["cooking"])
    await register(services, CAROL, niches=["fitness"])
    for fan, handles in [
        (person("F1"), ["alice", "bob", "carol"]),
        (person("F2"), ["bob", "carol"]),
        (person("F3"), ["bob"]),
    ]:
        for handle in handles:
            await services.follows.follow(fan, handle)


async def test_discover_by_niche_most_followed_first(services: Services) -> None:
    await _three_creators(services)
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
    await _three_creators(services)
    carol = entity_by_handle(store, "carol")
    store.entities[carol.id] = replace(carol, status=Status.INACTIVE)

    assert [c.handle for c in await services.creators.discover(DAVE)] == ["bob", "alice"]
    assert [c.handle for c in await services.creators.discover(DAVE, "fitness")] == ["alice"]


async def test_discover_limit(services: Services, store: FakeStore) -> None:
    await _three_creators(services)
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


# --- owner-only edits -----------------------------------------------------------------------


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


# --- following ------------------------------------------------------------------------------


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
    await _three_creators(services)
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


# --- the event log --------------------------------------------------------------------------


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
