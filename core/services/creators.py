"""Creators: registration, profiles, discovery and owner-only edits (patterns 1–3)."""

from __future__ import annotations

from core.errors import AccessDenied, AlreadyRegistered, CreatorNotFound, EmailTaken
from core.model import (
    Counter,
    Creator,
    Entity,
    EntityType,
    EventType,
    Profile,
    Relation,
    Status,
    UserRef,
)
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.services.event_log import log_event
from core.services.identities import find_owned_creator, owned_creator, resolve_user
from core.validation import (
    BIO_MAX,
    clean_email,
    clean_handle,
    clean_limit,
    clean_name,
    clean_niche,
    clean_niches,
    clean_text,
    clean_url,
    handle_base,
    is_handle,
)

DISCOVER_MAX = 50
_HANDLE_ATTEMPTS = 50


async def load_creator(uow: UnitOfWork, handle: str) -> Entity:
    """The creator with this handle (as typed by a person); CreatorNotFound otherwise."""
    entity = await uow.entities.by_handle(EntityType.CREATOR, clean_handle(handle))
    if entity is None:
        raise CreatorNotFound(handle=handle.strip().removeprefix("@").lower()[:40])
    return entity


class CreatorService:
    """Everything a creator does with their own profile, and how fans find creators."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def register(self, who: UserRef, name: str, email: str, niches: list[str]) -> Creator:
        """Make ``who`` the owner of a new creator profile.

        The handle comes from the email's local part, made unique (alice, alice2, …). Refused
        with AlreadyRegistered if ``who`` owns a creator, EmailTaken if the email is in use,
        InvalidInput for a bad name, email or niche list; nothing is written when refused.
        """
        name = clean_name(name)
        email = clean_email(email)
        niches = clean_niches(niches)
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            existing = await find_owned_creator(uow, user_id)
            if existing is not None:
                raise AlreadyRegistered(handle=existing.handle)
            creator_id, handle = await self._insert_creator(uow, name, email, niches)
            await uow.entities.set_niches(creator_id, niches)
            await uow.counters.add(creator_id, Counter.FOLLOWERS, 0)
            await uow.counters.add(creator_id, Counter.CONTENT, 0)
            if not await uow.connections.add(
                user_id, creator_id, Relation.OWNS, {}, self._clock.now()
            ):
                # A registration of the same person that ran at the same time won.
                other = await find_owned_creator(uow, user_id)
                raise AlreadyRegistered(handle=other.handle if other else "")
            await log_event(
                uow,
                self._clock,
                creator_id,
                EventType.CREATOR_CREATED,
                actor_id=user_id,
                metadata={"handle": handle, "niches": niches},
            )
            creator = Creator.from_entity(await _get(uow, creator_id))
            await uow.commit()
        return creator

    async def _insert_creator(
        self, uow: UnitOfWork, name: str, email: str, niches: list[str]
    ) -> tuple[int, str]:
        base = handle_base(email)
        properties = {"email": email, "niches": niches, "bio": "", "avatar_url": None}
        tried: set[str] = set()
        for _ in range(_HANDLE_ATTEMPTS):
            if await uow.entities.creator_by_email(email) is not None:
                raise EmailTaken(email=email)
            # A handle we lost to a concurrent registration may not be visible to us yet.
            taken = await uow.entities.handles_starting_with(EntityType.CREATOR, base)
            handle = _first_free(base, taken | tried)
            tried.add(handle)
            creator_id = await uow.entities.add(
                EntityType.CREATOR, name, handle, properties, self._clock.now()
            )
            if creator_id is not None:
                return creator_id, handle
        # Only reachable when other registrations keep taking the same handles at once.
        raise RuntimeError(f"could not find a free handle for {base!r}")

    async def profile(self, who: UserRef, handle: str) -> Profile:
        """A creator's profile as ``who`` sees it (owner? following?)."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            entity = await load_creator(uow, handle)
            creator = Creator.from_entity(entity)
            relations = await uow.connections.relations(user_id, entity.id)
            await uow.commit()
        return Profile(
            creator=creator,
            is_owner=Relation.OWNS in relations,
            is_following=Relation.FOLLOWING in relations,
        )

    async def my_profile(self, who: UserRef) -> Profile:
        """The profile of the creator ``who`` owns; NotACreator for a fan."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = Creator.from_entity(await owned_creator(uow, user_id))
            await uow.commit()
        return Profile(creator=creator, is_owner=True, is_following=False)

    async def discover(
        self, who: UserRef, niche: str | None = None, limit: int = 10
    ) -> list[Creator]:
        """Active creators, most followed first, optionally only those in ``niche``."""
        limit = clean_limit(limit, DISCOVER_MAX)
        wanted = clean_niche(niche) if niche is not None else None
        async with self._uow() as uow:
            await resolve_user(uow, self._clock, who)
            entities = await uow.entities.discover_creators(wanted, Status.ACTIVE, limit)
            await uow.commit()
        return [Creator.from_entity(e) for e in entities]

    async def suggest_handles(self, prefix: str, limit: int = 25) -> list[str]:
        """Creator handles starting with ``prefix`` (the most followed creators when it is
        empty), for completing what someone is typing; nobody is created by asking."""
        limit = clean_limit(limit, DISCOVER_MAX)
        wanted = prefix.strip().lstrip("@").lower()
        async with self._uow() as uow:
            if not wanted:
                found = await uow.entities.discover_creators(None, Status.ACTIVE, limit)
                handles = [e.handle for e in found if e.handle]
            elif is_handle(wanted):
                starting = await uow.entities.handles_starting_with(
                    EntityType.CREATOR, wanted, limit
                )
                handles = sorted(starting)[:limit]
            else:
                handles = []
            await uow.commit()
        return handles

    async def update(
        self,
        who: UserRef,
        *,
        handle: str | None = None,
        bio: str | None = None,
        niches: list[str] | None = None,
        avatar_url: str | None = None,
    ) -> Creator:
        """Change bio, niches and/or avatar of a creator ``who`` owns.

        Without ``handle`` the creator is the one ``who`` owns (NotACreator if none); with one,
        anyone but its owner is refused with AccessDenied.
        """
        changes: dict[str, object] = {}
        new_niches = clean_niches(niches) if niches is not None else None
        if bio is not None:
            changes["bio"] = clean_text(bio, "bio", BIO_MAX, multiline=True)
        if new_niches is not None:
            changes["niches"] = new_niches
        if avatar_url is not None:
            changes["avatar_url"] = clean_url(avatar_url)
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            if handle is None:
                entity = await owned_creator(uow, user_id)
            else:
                entity = await load_creator(uow, handle)
                if not await uow.connections.exists(user_id, entity.id, Relation.OWNS):
                    raise AccessDenied()
            if changes:
                await uow.entities.update(
                    entity.id, {**entity.properties, **changes}, self._clock.now()
                )
                if new_niches is not None:
                    await uow.entities.set_niches(entity.id, new_niches)
                await log_event(
                    uow,
                    self._clock,
                    entity.id,
                    EventType.CREATOR_UPDATED,
                    actor_id=user_id,
                    metadata={"fields": sorted(changes)},
                )
            creator = Creator.from_entity(await _get(uow, entity.id))
            await uow.commit()
        return creator


async def _get(uow: UnitOfWork, entity_id: int) -> Entity:
    entity = await uow.entities.get(entity_id)
    assert entity is not None
    return entity


def _first_free(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"
