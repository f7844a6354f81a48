"""What the core needs from the outside world, named by role.

The payment ports live in :mod:`core.payment_ports` and are re-exported here. Adapters in
``adapters/`` implement these by technology; tests use ``Fake…`` versions. Every
repository works inside the transaction of the :class:`UnitOfWork` that owns it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from core.ai_ports import (
    ChatMessage,
    DocumentReader,
    Embedder,
    KnowledgeStore,
    LanguageModel,
    ModelError,
    UnreadableDocument,
)
from core.journey_ports import JourneyRepository, OutboxRepository
from core.ledger_ports import LedgerRepository, TokenChain, Wallets
from core.linking import LinkCodeRepository
from core.model import Entity, EntityType, Event, Identity, NewEvent, Relation, Status
from core.payment_ports import (
    Notifier,
    PaymentGateway,
    PurchaseRepository,
    WebhookRepository,
)
from core.roles import RoleGateRepository


class Clock(Protocol):
    """The current time; a fake in tests makes time-dependent behaviour testable."""

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        ...


class IdentityRepository(Protocol):
    """Maps a chat platform's user id to the ``user`` entity of that person."""

    async def find(self, platform: str, platform_user_id: str) -> Identity | None:
        """The person behind this platform identity, or None if unknown."""
        ...

    async def add(
        self, platform: str, platform_user_id: str, user_id: int, chat_id: str | None, now: datetime
    ) -> bool:
        """Record the identity; False if it already existed (a concurrent first contact)."""
        ...

    async def set_chat(self, platform: str, platform_user_id: str, chat_id: str) -> None:
        """Remember where to reach this identity."""
        ...

    async def of_person(self, user_id: int) -> list[tuple[str, Identity]]:
        """Every ``(platform, identity)`` of one person, the most recently seen first."""
        ...

    async def of_people(self, user_ids: Sequence[int]) -> dict[int, list[tuple[str, Identity]]]:
        """:meth:`of_person` for many people at once (those without identities left out)."""
        ...

    async def move(self, from_user_id: int, to_user_id: int) -> int:
        """Make every identity of one person another's (``/link``); how many moved."""
        ...

    async def set_reachable(
        self, platform: str, chat_id: str, reachable: bool, now: datetime
    ) -> list[int]:
        """Mark the identities that use this chat as (un)reachable; return their user ids."""
        ...


class EntityRepository(Protocol):
    """Rows of the ``entities`` table."""

    async def add(
        self,
        type: EntityType,
        name: str,
        handle: str | None,
        properties: Mapping[str, Any],
        now: datetime,
    ) -> int | None:
        """Insert an active entity; None if the handle is taken for this type."""
        ...

    async def delete(self, entity_id: int) -> None:
        """Remove an entity created in this same unit of work (nothing refers to it yet)."""
        ...

    async def get(self, entity_id: int) -> Entity | None:
        """Return the entity with this id, or None."""
        ...

    async def get_many(self, entity_ids: Sequence[int]) -> dict[int, Entity]:
        """Return the entities with these ids that exist, by id."""
        ...

    async def by_handle(self, type: EntityType, handle: str) -> Entity | None:
        """Return the entity of this type with this handle, or None."""
        ...

    async def all_of_type(self, type: EntityType) -> list[Entity]:
        """Every entity of a (small) type, oldest first — tokens, for rebuilding a chain."""
        ...

    async def handles_starting_with(
        self, type: EntityType, prefix: str, limit: int | None = None
    ) -> set[str]:
        """The handles of this type that start with ``prefix`` (all, or the ``limit`` first
        in order)."""
        ...

    async def creator_by_email(self, email: str) -> int | None:
        """The id of the creator registered with this (normalised) email, or None."""
        ...

    async def update(self, entity_id: int, properties: Mapping[str, Any], now: datetime) -> None:
        """Replace the entity's properties and touch ``updated_at``."""
        ...

    async def set_niches(self, creator_id: int, niches: Sequence[str]) -> None:
        """Replace the niche index of a creator (kept beside ``properties.niches``)."""
        ...

    async def discover_creators(
        self, niche: str | None, status: Status, limit: int
    ) -> list[Entity]:
        """Creators with this status (and niche, if given), most followed first."""
        ...


class ConnectionRepository(Protocol):
    """Rows of the ``connections`` table; one per (from, to, relation)."""

    async def add(
        self,
        from_id: int,
        to_id: int,
        relation: Relation,
        metadata: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        """Insert the connection; False (and nothing written) if it already exists, or if it
        would give a person a second creator to own."""
        ...

    async def remove(self, from_id: int, to_id: int, relation: Relation) -> bool:
        """Delete the connection; False if there was none."""
        ...

    async def exists(self, from_id: int, to_id: int, relation: Relation) -> bool:
        """Whether the connection exists."""
        ...

    async def relations(self, from_id: int, to_id: int) -> set[Relation]:
        """Every relation from one entity to another (one look-up for owner/follower checks)."""
        ...

    async def targets(self, from_id: int, relation: Relation, limit: int) -> list[int]:
        """Ids this entity points to with ``relation``, newest first."""
        ...

    async def sources(self, to_id: int, relation: Relation, limit: int) -> list[int]:
        """Ids pointing to this entity with ``relation``, newest first."""
        ...


class CounterRepository(Protocol):
    """Integer counts beside entities (followers, content), changed atomically.

    Entities are read with their counts (``Entity.counts``); this is how they change.
    """

    async def add(self, entity_id: int, name: str, delta: int) -> int:
        """Add ``delta`` to the count (created at zero first if needed); return the new count."""
        ...


class EventRepository(Protocol):
    """The append-only ``events`` table."""

    async def add(
        self,
        entity_id: int,
        type: str,
        actor_type: str,
        actor_id: int | None,
        metadata: Mapping[str, Any],
        at: datetime,
    ) -> int:
        """Append an event and return its id."""
        ...

    async def add_many(self, events: Sequence[NewEvent], at: datetime) -> None:
        """Append many events in one statement."""
        ...

    async def latest(self, entity_id: int, limit: int) -> list[Event]:
        """The newest events of this entity, newest first."""
        ...

    async def of_actor(
        self,
        entity_id: int,
        type: str,
        actor_id: int,
        limit: int,
        since: datetime | None = None,
    ) -> list[Event]:
        """One actor's newest events of one type on this entity (at or after ``since``),
        newest first."""
        ...


class UnitOfWork(Protocol):
    """One transaction over all repositories.

    ``async with uow:`` opens it; :meth:`commit` makes it durable; leaving the block without a
    commit (or with an exception) rolls everything back, so nothing is half-written.
    """

    # Read-only, so implementations may narrow them to their own repository classes.
    @property
    def identities(self) -> IdentityRepository: ...
    @property
    def entities(self) -> EntityRepository: ...
    @property
    def connections(self) -> ConnectionRepository: ...
    @property
    def counters(self) -> CounterRepository: ...
    @property
    def events(self) -> EventRepository: ...
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def purchases(self) -> PurchaseRepository: ...
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def journeys(self) -> JourneyRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def link_codes(self) -> LinkCodeRepository: ...
    @property
    def role_gates(self) -> RoleGateRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make everything done in this unit durable."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]

__all__ = [
    "ChatMessage",
    "Clock",
    "ConnectionRepository",
    "CounterRepository",
    "DocumentReader",
    "Embedder",
    "EntityRepository",
    "EventRepository",
    "IdentityRepository",
    "JourneyRepository",
    "KnowledgeStore",
    "LanguageModel",
    "LedgerRepository",
    "ModelError",
    "Notifier",
    "OutboxRepository",
    "PaymentGateway",
    "PurchaseRepository",
    "TokenChain",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UnreadableDocument",
    "Wallets",
    "WebhookRepository",
]
