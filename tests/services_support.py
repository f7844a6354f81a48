"""What the service tests share: a fixed start time, the people, and helpers over the fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.conversation.context import Services
from core.model import Creator, Entity, Event, UserRef
from tests.fakes import FakeStore

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


async def three_creators(services: Services) -> None:
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


def events_of(store: FakeStore, entity_id: int) -> list[Event]:
    return [e for e in store.events.values() if e.entity_id == entity_id]


def user_id_of(store: FakeStore, who: UserRef) -> int:
    return store.identities[who.platform, who.platform_user_id].user_id


def entity_by_handle(store: FakeStore, handle: str) -> Entity:
    [entity] = [e for e in store.entities.values() if e.handle == handle]
    return entity
