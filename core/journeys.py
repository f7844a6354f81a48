"""The ELEVATE journey (pattern 8): nine timed steps a fan receives after following a creator.

A journey run is one fan's progress through one creator's journey: the step it is at, when that
step is due, and what it needs to remember (a pending purchase, a deadline). Messages are not
sent by the journey itself: each step puts its message into the outbox in the same transaction
that moves the run on, and a sender drains the outbox at the platforms' pace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

STEPS = (
    "hook",
    "gift",
    "identify",
    "engage",
    "sell",
    "nurture",
    "upsell",
    "understand",
    "share",
)


def run_keys(run_id: int) -> str:
    """What the outbox keys of one run's messages start with (``journey:RUN:STEP…``)."""
    return f"journey:{run_id}:"


def broadcast_batch(creator_id: int, nonce: str) -> str:
    """The batch of one of a creator's broadcasts (``bID-NONCE``)."""
    return f"b{creator_id}-{nonce}"


def broadcast_keys(creator_id: int) -> str:
    """What the outbox keys of a creator's broadcasts start with (``broadcast:bID-…:FAN``)."""
    return f"broadcast:{broadcast_batch(creator_id, '')}"


class RunState(StrEnum):
    ACTIVE = "active"  # a step is due at next_run_at
    DONE = "done"  # all nine steps were delivered
    ENDED = "ended"  # the payment gate's deadline passed: the journey ended kindly
    STOPPED = "stopped"  # the fan opted out (/stop, unfollow)
    FAILED = "failed"  # a step failed for good (after its retries)


@dataclass(frozen=True, slots=True)
class JourneyRun:
    """One fan's journey with one creator."""

    id: int
    fan_id: int
    creator_id: int
    step: int  # index into STEPS of the next step to run
    state: RunState
    next_run_at: datetime | None
    attempts: int  # failed attempts of the current step
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def step_name(self) -> str:
        """The name of the step due next ("done" after the last)."""
        return STEPS[self.step] if self.step < len(STEPS) else "done"


DEDUPE_KEY_MAX = 255  # characters: the outbox's columns (adapters/db/schema.py)
BATCH_MAX = 64


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """A message to put into the outbox (see :class:`OutboxItem`)."""

    person_id: int
    dedupe_key: str
    message: dict[str, Any]
    not_before: datetime | None = None  # None: as soon as possible
    batch: str | None = None

    def __post_init__(self) -> None:
        # Refused here, so that every store refuses what PostgreSQL's columns would.
        if len(self.dedupe_key) > DEDUPE_KEY_MAX or len(self.batch or "") > BATCH_MAX:
            raise ValueError(f"outbox: dedupe_key ≤ {DEDUPE_KEY_MAX}, batch ≤ {BATCH_MAX} chars")


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    UNREACHABLE = "unreachable"  # no chat can reach the person: not retried
    FAILED = "failed"  # gave up after its attempts
    CANCELLED = "cancelled"  # the person opted out before it went (/stop, an unfollow)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A message waiting to be sent to a person.

    ``message`` is what the conversation layer needs to render it: a catalogue key and its
    params, optional buttons (label key and command) and an attached file. ``dedupe_key``
    (unique) makes putting the same message twice a no-op; ``batch`` groups a broadcast.
    """

    id: int
    person_id: int
    dedupe_key: str
    message: dict[str, Any]
    state: OutboxState
    attempts: int
    not_before: datetime
    batch: str | None = None
