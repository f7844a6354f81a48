"""People: a chat identity becomes a ``user`` entity on first contact."""

from __future__ import annotations

from core.errors import NotACreator
from core.model import Entity, EntityType, EventType, Relation, UserRef
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.services.event_log import log_event
from core.validation import NAME_MAX


async def resolve_user(uow: UnitOfWork, clock: Clock, who: UserRef) -> int:
    """The user id of ``who`` inside the caller's unit of work, creating the person if new."""
    found = await uow.identities.find(who.platform, who.platform_user_id)
    if found is not None:
        if who.chat_id is not None and who.chat_id != found.chat_id:
            await uow.identities.set_chat(who.platform, who.platform_user_id, who.chat_id)
        if not found.reachable and who.chat_id is not None:
            # They wrote to us again: they can be reached again.
            await uow.identities.set_reachable(who.platform, who.chat_id, True, clock.now())
            await log_event(uow, clock, found.user_id, EventType.USER_REACHABLE)
        return found.user_id
    now = clock.now()
    name = " ".join(who.name.split())[:NAME_MAX] or f"{who.platform}:{who.platform_user_id}"
    new_id = await uow.entities.add(EntityType.USER, name, None, {}, now)
    assert new_id is not None, "users have no handle, so nothing can conflict"
    user_id = new_id
    if not await uow.identities.add(who.platform, who.platform_user_id, user_id, who.chat_id, now):
        # Another transaction introduced this person first: use theirs, drop ours.
        await uow.entities.delete(user_id)
        found = await uow.identities.find(who.platform, who.platform_user_id)
        assert found is not None
        return found.user_id
    await log_event(
        uow, clock, user_id, EventType.USER_CREATED, metadata={"platform": who.platform}
    )
    return user_id


async def find_owned_creator(uow: UnitOfWork, user_id: int) -> Entity | None:
    """The creator this user owns, if any (a person owns at most one)."""
    owned = await uow.connections.targets(user_id, Relation.OWNS, 1)
    return await uow.entities.get(owned[0]) if owned else None


async def owned_creator(uow: UnitOfWork, user_id: int) -> Entity:
    """The creator this user owns; NotACreator if none."""
    creator = await find_owned_creator(uow, user_id)
    if creator is None:
        raise NotACreator()
    return creator


class IdentityService:
    """First contact and who-is-who."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def ensure_user(self, who: UserRef) -> int:
        """Return the user id of ``who``, creating the ``user`` entity on first contact."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            await uow.commit()
        return user_id

    async def mark_unreachable(self, platform: str, chat_id: str | int) -> None:
        """The platform refused delivery to this chat (blocked, left): stop sending there.

        Logged as an event on each person using that chat; cleared when they write again.
        """
        async with self._uow() as uow:
            users = await uow.identities.set_reachable(
                platform, str(chat_id), False, self._clock.now()
            )
            for user_id in users:
                await log_event(
                    uow,
                    self._clock,
                    user_id,
                    EventType.USER_UNREACHABLE,
                    metadata={"platform": platform},
                )
            await uow.commit()

    async def creator_handle(self, who: UserRef) -> str | None:
        """The handle of the creator ``who`` owns, or None for a fan."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await find_owned_creator(uow, user_id)
            await uow.commit()
        return creator.handle if creator else None
