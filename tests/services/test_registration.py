"""Registering as a creator: handles, emails, names, niches and their refusals."""

from __future__ import annotations

import pytest

from bot.conversation.context import Services
from core.errors import AlreadyRegistered, EmailTaken, InvalidInput, Reason
from core.model import ActorType, Creator, Entity, EntityType, Status
from tests.fakes import FakeStore
from tests.services_support import ALICE, BOB, T0, events_of, person, register, user_id_of


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
