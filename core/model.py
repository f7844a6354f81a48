"""Plain records the services take and return.

These mirror the ONE ontology — entities, connections, events — without any storage detail.
Timestamps are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EntityType(StrEnum):
    USER = "user"
    CREATOR = "creator"
    TOKEN = "token"
    AI_CLONE = "ai_clone"
    CONTENT = "content"


class Relation(StrEnum):
    OWNS = "owns"
    FOLLOWING = "following"
    AUTHORED = "authored"
    HOLDS_TOKENS = "holds_tokens"
    ISSUED = "issued"
    CHATTING_WITH = "chatting_with"


class Status(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class Counter(StrEnum):
    """Counts kept beside an entity and changed in the same transaction as what they count."""

    FOLLOWERS = "followers"
    CONTENT = "content"
    # An AI clone's: answers given, tokens charged for and rewarded by them.
    TURNS = "turns"
    CHARGED = "charged"
    REWARDED = "rewarded"


class ActorType(StrEnum):
    USER = "user"
    SYSTEM = "system"


class EventType(StrEnum):
    USER_CREATED = "user_created"
    CREATOR_CREATED = "creator_created"
    CREATOR_UPDATED = "creator_updated"
    USER_ENGAGED = "user_engaged"
    USER_UNREACHABLE = "user_unreachable"
    TOKEN_CREATED = "token_created"
    TOKEN_REDEPLOYED = "token_redeployed"
    WALLET_LINKED = "wallet_linked"
    USER_REACHABLE = "user_reachable"
    PURCHASE_STARTED = "purchase_started"
    PURCHASE_PAID = "purchase_paid"
    PURCHASE_COMPLETED = "purchase_completed"
    PURCHASE_MINT_FAILED = "purchase_mint_failed"
    PURCHASE_REFUNDED = "purchase_refunded"
    PURCHASE_REVERSED = "purchase_reversed"
    PURCHASE_CLAWED_BACK = "purchase_clawed_back"
    PAYMENT_RETURNED = "payment_returned"
    CLONE_INTERACTION = "clone_interaction"
    CLONE_UPDATED = "clone_updated"
    KNOWLEDGE_ADDED = "knowledge_added"
    KNOWLEDGE_REMOVED = "knowledge_removed"
    JOURNEY_STARTED = "journey_started"
    JOURNEY_STEP = "journey_step"
    JOURNEY_FAILED = "journey_failed"
    JOURNEY_STOPPED = "journey_stopped"
    JOURNEY_ANSWERED = "journey_answered"
    JOURNEY_RATED = "journey_rated"
    REFERRAL_JOINED = "referral_joined"
    IDENTITY_LINKED = "identity_linked"
    ROLE_GATE_SET = "role_gate_set"
    ROLE_GRANTED = "role_granted"
    ROLE_REVOKED = "role_revoked"


@dataclass(frozen=True, slots=True)
class UserRef:
    """A person as a chat platform knows them.

    ``platform`` + ``platform_user_id`` is the identity; ``name`` and ``chat_id`` travel along
    so that a first contact can create the person and later messages know where to reach them.
    """

    platform: str
    platform_user_id: str
    name: str = field(default="", compare=False)
    chat_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Identity:
    """How a platform identity maps to a person, and whether the bot can still reach them."""

    user_id: int
    chat_id: str | None
    reachable: bool = True


@dataclass(frozen=True, slots=True)
class Entity:
    id: int
    type: EntityType
    handle: str | None
    name: str
    properties: dict[str, Any]
    status: Status
    created_at: datetime
    updated_at: datetime
    # The entity's counters (followers, content …), read with it.
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Creator:
    """A creator as shown to people: the entity plus its counts."""

    id: int
    handle: str
    name: str
    bio: str
    niches: tuple[str, ...]
    avatar_url: str | None
    status: Status
    followers: int
    content: int
    created_at: datetime

    @classmethod
    def from_entity(cls, entity: Entity, **changed_counts: int) -> Creator:
        """The creator as stored, with any counts this unit of work has just changed."""
        counts = {**entity.counts, **changed_counts}
        props = entity.properties
        return cls(
            id=entity.id,
            handle=entity.handle or "",
            name=entity.name,
            bio=str(props.get("bio", "")),
            niches=tuple(props.get("niches", ())),
            avatar_url=props.get("avatar_url"),
            status=entity.status,
            followers=counts.get(Counter.FOLLOWERS, 0),
            content=counts.get(Counter.CONTENT, 0),
            created_at=entity.created_at,
        )


@dataclass(frozen=True, slots=True)
class Profile:
    """A creator profile seen by a particular person."""

    creator: Creator
    is_owner: bool
    is_following: bool


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    entity_id: int
    type: str
    at: datetime
    actor_type: ActorType
    actor_id: int | None
    metadata: dict[str, Any]
    actor_name: str | None = None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append (its id and time are given when it is written)."""

    entity_id: int
    type: str
    actor_type: ActorType = ActorType.SYSTEM
    actor_id: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ActivityLog:
    """A creator's latest events, for its owner."""

    handle: str
    events: list[Event]


@dataclass(frozen=True, slots=True)
class Token:
    """A creator's ERC-20: its symbol, price and where it lives on chain."""

    id: int
    symbol: str
    name: str
    price_cents: int
    address: str
    creator_id: int

    @classmethod
    def from_entity(cls, entity: Entity, creator_id: int) -> Token:
        props = entity.properties
        return cls(
            id=entity.id,
            symbol=str(props["symbol"]),
            name=entity.name,
            price_cents=int(props["price_cents"]),
            address=str(props["address"]),
            creator_id=creator_id,
        )


@dataclass(frozen=True, slots=True)
class Holding:
    """How many of a token a person holds, by the ledger and on chain."""

    token: Token
    creator_handle: str
    amount: int
    on_chain: int | None  # None when the chain could not be asked

    @property
    def value_cents(self) -> int:
        return self.amount * self.token.price_cents


@dataclass(frozen=True, slots=True)
class Wallet:
    """The address the bot keeps for a person, and the one they linked, if any."""

    custodial: str
    linked: str | None
