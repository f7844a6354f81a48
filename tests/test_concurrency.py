"""Counts stay exact and duplicates impossible when many people act at once (SQLite and PG)."""

from __future__ import annotations

import asyncio

from sqlalchemy import Executable, func, select

from adapters.db.schema import connections, entities, identities
from bot.bootstrap import App
from core.errors import AlreadyFollowing, AlreadyRegistered, EmailTaken, TokenAlreadyCreated
from core.model import UserRef


def fan(n: int | str) -> UserRef:
    return UserRef("test", f"fan{n}", name=f"Fan {n}", chat_id=f"fan{n}")


async def _count(app: App, stmt: Executable) -> int:
    assert app.database is not None
    return int(await app.database.execute(lambda conn: conn.execute(stmt).scalar_one()))


async def _register_alice(app: App) -> None:
    owner = UserRef("test", "alice", name="Alice")
    await app.services.creators.register(owner, "Alice", "alice@example.com", ["fitness"])


async def test_fifty_fans_follow_at_once(app: App) -> None:
    await _register_alice(app)
    results = await asyncio.gather(
        *(app.services.follows.follow(fan(n), "alice") for n in range(50))
    )
    assert sorted(c.followers for c in results) == list(range(1, 51))
    follows = (
        select(func.count())
        .select_from(connections)
        .where(connections.c.relationship_type == "following")
    )
    assert await _count(app, follows) == 50
    profile = await app.services.creators.profile(fan(0), "alice")
    assert profile.creator.followers == 50


async def test_one_fan_following_twenty_times_at_once_follows_once(app: App) -> None:
    await _register_alice(app)
    outcomes = await asyncio.gather(
        *(app.services.follows.follow(fan("x"), "alice") for _ in range(20)),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, AlreadyFollowing) for o in outcomes if isinstance(o, BaseException))
    follows = (
        select(func.count())
        .select_from(connections)
        .where(connections.c.relationship_type == "following")
    )
    assert await _count(app, follows) == 1
    assert (await app.services.creators.profile(fan("x"), "alice")).creator.followers == 1
    # Exactly one person was created for that fan, however many first contacts raced.
    assert await _count(app, select(func.count()).select_from(identities)) == 2


async def test_follow_and_unfollow_storm_leaves_an_exact_count(app: App) -> None:
    await _register_alice(app)
    await asyncio.gather(*(app.services.follows.follow(fan(n), "alice") for n in range(30)))
    await asyncio.gather(
        *(app.services.follows.unfollow(fan(n), "alice") for n in range(0, 30, 2)),
        *(app.services.follows.follow(fan(n), "alice") for n in range(30, 40)),
    )
    assert (await app.services.creators.profile(fan(0), "alice")).creator.followers == 25


async def test_same_email_registered_at_once_by_ten_people(app: App) -> None:
    outcomes = await asyncio.gather(
        *(
            app.services.creators.register(fan(n), f"Alice {n}", "alice@example.com", ["x"])
            for n in range(10)
        ),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(o, EmailTaken) for o in outcomes if isinstance(o, BaseException))
    creators = select(func.count()).select_from(entities).where(entities.c.type == "creator")
    assert await _count(app, creators) == 1


async def test_same_handle_base_registered_at_once_gets_distinct_handles(app: App) -> None:
    results = await asyncio.gather(
        *(
            app.services.creators.register(fan(n), "Sam", f"sam@host{n}.example", ["x"])
            for n in range(8)
        )
    )
    assert sorted(c.handle for c in results) == sorted(["sam", *(f"sam{n}" for n in range(2, 9))])


async def test_one_person_registering_five_times_at_once_owns_one_creator(app: App) -> None:
    alice = UserRef("test", "alice", name="Alice")
    outcomes = await asyncio.gather(
        *(
            app.services.creators.register(alice, "Alice", f"alice{n}@example.com", ["x"])
            for n in range(5)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, AlreadyRegistered) for o in outcomes if isinstance(o, BaseException))
    creators = select(func.count()).select_from(entities).where(entities.c.type == "creator")
    assert await _count(app, creators) == 1


async def test_one_creator_creating_tokens_at_once_gets_one(app: App) -> None:
    await _register_alice(app)
    owner = UserRef("test", "alice", name="Alice")
    outcomes = await asyncio.gather(
        *(app.services.tokens.create(owner, symbol, "1") for symbol in ("AAA", "BBB", "CCC")),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, TokenAlreadyCreated) for o in failures), failures
    tokens = select(func.count()).select_from(entities).where(entities.c.type == "token")
    assert await _count(app, tokens) == 1
