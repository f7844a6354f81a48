"""The in-memory fakes themselves, and the bootstrap that takes them."""

from __future__ import annotations

import pytest

from bot import bootstrap
from core.model import EntityType, Relation
from tests.fakes import FakeStore, FakeUnitOfWork, ForeignKeyViolation
from tests.services_support import T0


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
        found = await uow.entities.get(creator)
        assert found is not None
        assert found.counts == {"followers": 1}
        await uow.events.add(creator, "a", "system", None, {}, T0)
        await uow.events.add(creator, "b", "system", None, {}, T0)
        assert [e.type for e in await uow.events.latest(creator, 10)] == ["b", "a"]
