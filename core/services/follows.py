"""Following creators (pattern 4): connection, count and event in one transaction."""

from __future__ import annotations

from typing import Protocol

from core.errors import AlreadyFollowing, CannotFollowSelf, NotFollowing
from core.model import Counter, Creator, Entity, EventType, Relation, UserRef
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.services.creators import load_creator
from core.services.event_log import log_event
from core.services.identities import resolve_user
from core.validation import clean_limit

FOLLOWING_MAX = 100


class Enrolment(Protocol):
    """What following starts and unfollowing stops (the creator's journey), in the same
    unit of work as the follow."""

    async def enrol(self, uow: UnitOfWork, fan_id: int, creator: Entity) -> None: ...

    async def leave(self, uow: UnitOfWork, fan_id: int, creator_id: int) -> bool: ...


class FollowService:
    """Fans following and unfollowing creators.

    The unique (from, to, relation) constraint decides a race between two follows of the same
    pair: the loser writes nothing and is told it already follows.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, journeys: Enrolment | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._journeys = journeys

    async def follow(self, who: UserRef, handle: str) -> Creator:
        """``who`` follows the creator ``handle``; returns the creator with its new count.

        Refused with CreatorNotFound, CannotFollowSelf (own creator) or AlreadyFollowing.
        """
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await load_creator(uow, handle)
            if await uow.connections.exists(user_id, creator.id, Relation.OWNS):
                raise CannotFollowSelf(handle=creator.handle)
            added = await uow.connections.add(
                user_id, creator.id, Relation.FOLLOWING, {}, self._clock.now()
            )
            if not added:
                raise AlreadyFollowing(handle=creator.handle)
            followers = await uow.counters.add(creator.id, Counter.FOLLOWERS, 1)
            await log_event(
                uow,
                self._clock,
                creator.id,
                EventType.USER_ENGAGED,
                actor_id=user_id,
                metadata={"action": "followed"},
            )
            if self._journeys is not None:
                await self._journeys.enrol(uow, user_id, creator)
            view = Creator.from_entity(creator, followers=followers)
            await uow.commit()
        return view

    async def unfollow(self, who: UserRef, handle: str) -> Creator:
        """``who`` stops following ``handle``; NotFollowing if they did not follow."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await load_creator(uow, handle)
            if not await uow.connections.remove(user_id, creator.id, Relation.FOLLOWING):
                raise NotFollowing(handle=creator.handle)
            followers = await uow.counters.add(creator.id, Counter.FOLLOWERS, -1)
            await log_event(
                uow,
                self._clock,
                creator.id,
                EventType.USER_ENGAGED,
                actor_id=user_id,
                metadata={"action": "unfollowed"},
            )
            if self._journeys is not None:
                await self._journeys.leave(uow, user_id, creator.id)
            view = Creator.from_entity(creator, followers=followers)
            await uow.commit()
        return view

    async def following(self, who: UserRef, limit: int = 50) -> list[Creator]:
        """The creators ``who`` follows, most recently followed first."""
        limit = clean_limit(limit, FOLLOWING_MAX)
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            ids = await uow.connections.targets(user_id, Relation.FOLLOWING, limit)
            entities = await uow.entities.get_many(ids)
            await uow.commit()
        return [Creator.from_entity(entities[i]) for i in ids if i in entities]
