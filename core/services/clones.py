"""AI clones, the creator's side and the session: settings, stats, who may talk to a clone.

Pattern 6 checked that a fan held *any* token; here a fan must hold the clone's gate of *that
creator's* token (and enough to pay the clone's cost). A creator may always talk to their own
clone, for free, to try it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.clones import CloneSettings, CloneStats, CloneView
from core.errors import CloneLocked, CloneUnavailable, NotChatting
from core.model import Counter, Entity, EntityType, EventType, Relation, Token, UserRef
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.services.creators import load_creator
from core.services.event_log import log_event
from core.services.identities import owned_creator, resolve_user
from core.services.tokens import token_of

SETTINGS = ("persona", "gate", "cost", "reward", "temperature")


async def find_clone(uow: UnitOfWork, creator: Entity) -> Entity | None:
    """The creator's clone, if it was ever configured or talked to."""
    return await uow.entities.by_handle(EntityType.AI_CLONE, creator.handle or "")


async def ensure_clone(uow: UnitOfWork, clock: Clock, creator: Entity) -> Entity:
    """The creator's clone, created with default settings the first time it is needed."""
    clone = await find_clone(uow, creator)
    if clone is not None:
        return clone
    name = f"{creator.name} (AI)"
    properties = CloneSettings().to_properties()
    clone_id = await uow.entities.add(
        EntityType.AI_CLONE, name, creator.handle, properties, clock.now()
    )
    if clone_id is None:  # created by a concurrent unit of work
        clone = await find_clone(uow, creator)
        assert clone is not None
        return clone
    await uow.connections.add(creator.id, clone_id, Relation.OWNS, {}, clock.now())
    created = await uow.entities.get(clone_id)
    assert created is not None
    return created


@dataclass(frozen=True, slots=True)
class Access:
    """Who is asking a clone, and on what terms."""

    user_id: int
    creator: Entity
    clone: Entity | None
    settings: CloneSettings
    token: Token | None
    is_owner: bool

    @property
    def pays(self) -> bool:
        """Whether this person's turns move tokens (fans do; the creator tries it for free)."""
        return not self.is_owner and self.token is not None


async def check_access(uow: UnitOfWork, clock: Clock, who: UserRef, handle: str) -> Access:
    """May ``who`` talk to @handle's clone? CloneLocked / CloneUnavailable if not."""
    user_id = await resolve_user(uow, clock, who)
    creator = await load_creator(uow, handle)
    clone = await find_clone(uow, creator)
    settings = CloneSettings.from_properties(clone.properties if clone else {})
    token = await token_of(uow, creator.id)
    is_owner = Relation.OWNS in await uow.connections.relations(user_id, creator.id)
    access = Access(user_id, creator, clone, settings, token, is_owner)
    # Without a token there is nothing to charge: only the gate decides.
    needed = settings.gate if token is None else max(settings.gate, settings.cost)
    if is_owner or needed == 0:
        return access
    if token is None:
        raise CloneUnavailable(handle=creator.handle)
    held = (await uow.ledger.holdings(user_id)).get(token.id, 0)
    if held < needed:
        raise CloneLocked(handle=creator.handle, symbol=token.symbol, needed=needed, held=held)
    return access


class CloneService:
    """A creator's clone settings, and fans' chat sessions (``/chat`` … ``/end``)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, model_name: str | None) -> None:
        self._uow = uow
        self._clock = clock
        self._model_name = model_name

    async def show(self, who: UserRef) -> CloneView:
        """The clone of the creator ``who`` owns: settings, token, statistics."""
        async with self._uow() as uow:
            creator = await owned_creator(uow, await resolve_user(uow, self._clock, who))
            view = await self._view(uow, creator, await find_clone(uow, creator))
            await uow.commit()
        return view

    async def configure(self, who: UserRef, field: str, value: str) -> CloneView:
        """Set one setting (``persona``, ``gate``, ``cost``, ``reward``, ``temperature``).

        InvalidInput for a value out of range; NotACreator if ``who`` owns no creator.
        """
        if field not in SETTINGS:
            raise ValueError(f"unknown clone setting {field!r}")
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await owned_creator(uow, user_id)
            clone = await ensure_clone(uow, self._clock, creator)
            settings = CloneSettings.from_properties(clone.properties)
            changed = settings.with_value(field, value)
            properties = {**clone.properties, **changed.to_properties()}
            await uow.entities.update(clone.id, properties, self._clock.now())
            await log_event(
                uow,
                self._clock,
                clone.id,
                EventType.CLONE_UPDATED,
                actor_id=user_id,
                metadata={"field": field},
            )
            view = await self._view(uow, creator, await uow.entities.get(clone.id))
            await uow.commit()
        return view

    async def _view(self, uow: UnitOfWork, creator: Entity, clone: Entity | None) -> CloneView:
        token = await token_of(uow, creator.id)
        counts = clone.counts if clone else {}
        return CloneView(
            handle=creator.handle or "",
            name=creator.name,
            settings=CloneSettings.from_properties(clone.properties if clone else {}),
            symbol=token.symbol if token else None,
            stats=CloneStats(
                turns=counts.get(Counter.TURNS, 0),
                charged=counts.get(Counter.CHARGED, 0),
                rewarded=counts.get(Counter.REWARDED, 0),
            ),
            documents=creator.counts.get(Counter.CONTENT, 0),
            model=self._model_name,
        )

    async def start_chat(self, who: UserRef, handle: str) -> Access:
        """Open a session: from now on ``who``'s plain messages go to @handle's clone.

        Refused, with nothing changed, when ``who`` may not talk to that clone.
        """
        async with self._uow() as uow:
            access = await check_access(uow, self._clock, who, handle)
            clone = await ensure_clone(uow, self._clock, access.creator)
            for previous in await uow.connections.targets(
                access.user_id, Relation.CHATTING_WITH, 10
            ):
                await uow.connections.remove(access.user_id, previous, Relation.CHATTING_WITH)
            await uow.connections.add(
                access.user_id, clone.id, Relation.CHATTING_WITH, {}, self._clock.now()
            )
            await uow.commit()
        return access

    async def end_chat(self, who: UserRef) -> str:
        """Close ``who``'s session; the handle they were talking to. NotChatting if none."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            handle = await self._session(uow, user_id)
            if handle is None:
                raise NotChatting()
            for clone_id in await uow.connections.targets(user_id, Relation.CHATTING_WITH, 10):
                await uow.connections.remove(user_id, clone_id, Relation.CHATTING_WITH)
            await uow.commit()
        return handle

    async def chatting_with(self, who: UserRef) -> str | None:
        """The handle of the clone ``who`` has a session with, if any."""
        async with self._uow() as uow:
            found = await uow.identities.find(who.platform, who.platform_user_id)
            handle = await self._session(uow, found.user_id) if found else None
            await uow.commit()
        return handle

    async def _session(self, uow: UnitOfWork, user_id: int) -> str | None:
        clones = await uow.connections.targets(user_id, Relation.CHATTING_WITH, 1)
        clone = await uow.entities.get(clones[0]) if clones else None
        return clone.handle if clone else None
