"""Identities: first contact, the same person again, names and chat ids."""

from __future__ import annotations

from dataclasses import replace

from bot.conversation.context import Services
from core.model import ActorType, Entity, EntityType, Status, UserRef
from tests.fakes import FakeStore, IdentityRow
from tests.services_support import ALICE, BOB, T0, person, register


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
