"""Reading a creator's event log."""

from __future__ import annotations

from dataclasses import replace

from core.model import ActivityLog, UserRef
from core.ports import Clock, UnitOfWorkFactory
from core.services.identities import owned_creator, resolve_user
from core.validation import clean_limit

EVENTS_MAX = 50


class EventService:
    """What happened around a creator, for its owner."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def latest_for_owner(self, who: UserRef, limit: int = 10) -> ActivityLog:
        """The newest events of the creator that ``who`` owns, with actor names filled in.

        Raises NotACreator when ``who`` owns no creator.
        """
        limit = clean_limit(limit, EVENTS_MAX)
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await owned_creator(uow, user_id)
            events = await uow.events.latest(creator.id, limit)
            actors = await uow.entities.get_many(
                [e.actor_id for e in events if e.actor_id is not None]
            )
            await uow.commit()
        named = [
            replace(e, actor_name=actors[e.actor_id].name) if e.actor_id in actors else e
            for e in events
        ]
        return ActivityLog(handle=creator.handle or "", events=named)
