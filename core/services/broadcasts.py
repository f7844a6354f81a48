"""Broadcasts: a creator's message to every follower, sent through the outbox.

``start`` puts one outbox message per follower (dedupe key ``broadcast:BATCH:PERSON``, grouped
by ``batch``) in transactions of ``CHUNK`` followers, and returns at once; the outbox sender
delivers them at the platforms' pace, and ``progress`` counts how far it got. Followers who
opted out of the creator's messages (their journey run with this creator is stopped: ``/stop``)
are skipped.

A broadcast interrupted while being queued (the process died between two chunks) has queued the
chunks before: those are sent, the others are not, and the creator sees the smaller total in
``/broadcast``'s progress. Sending it again makes a new batch, so the first chunks' followers
would get it twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import AccessDenied, InvalidInput, Reason
from core.journeys import OutboxState, QueuedMessage, broadcast_batch
from core.model import Relation, UserRef
from core.ports import Clock, UnitOfWorkFactory
from core.services.event_log import log_event
from core.services.identities import owned_creator, resolve_user
from core.validation import clean_text

TEXT_MAX = 2000
CHUNK = 500  # followers queued per transaction
FOLLOWERS_MAX = 1_000_000  # followers one broadcast reaches (newest first)
BROADCAST_SENT = "broadcast_sent"  # the event on the creator, with batch and counts

# (creator's name, handle, the text they wrote) → the text followers get.
Frame = Callable[[str, str, str], str]


def _as_written(name: str, handle: str, text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class BroadcastStarted:
    """A broadcast queued: ``total`` messages in ``batch``; ``opted_out`` followers skipped."""

    batch: str
    total: int
    opted_out: int
    handle: str


@dataclass(frozen=True, slots=True)
class BroadcastProgress:
    """How many messages of a broadcast are in each state."""

    pending: int
    sent: int
    unreachable: int
    failed: int
    cancelled: int = 0  # the follower opted out before theirs went

    @property
    def total(self) -> int:
        return self.pending + self.sent + self.unreachable + self.failed + self.cancelled

    @property
    def done(self) -> int:
        """Messages whose fate is settled (sent, unreachable or failed for good)."""
        return self.total - self.pending


class BroadcastService:
    """Creators messaging all their followers at once."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def start(self, who: UserRef, text: str, frame: Frame = _as_written) -> BroadcastStarted:
        """Queue ``text`` (framed by ``frame``) for every follower of the creator ``who`` owns.

        NotACreator for a fan; InvalidInput for an empty text or one over TEXT_MAX characters.
        A creator without followers gets a total of 0 (nothing is queued).
        """
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await owned_creator(uow, user_id)
            body = clean_text(text, "message", TEXT_MAX, multiline=True)
            if not body:
                raise InvalidInput(Reason.TEXT_REQUIRED)
            followers = await uow.connections.sources(creator.id, Relation.FOLLOWING, FOLLOWERS_MAX)
            await uow.commit()
        handle = creator.handle or ""
        batch = broadcast_batch(creator.id, secrets.token_hex(6))
        if not followers:
            return BroadcastStarted(batch, 0, 0, handle)
        message: dict[str, Any] = {
            "text": frame(creator.name, handle, body),
            "buttons": [
                [
                    {
                        "label_key": "journey.button.chat",
                        "params": {"handle": handle},
                        "data": f"/chat {handle}",
                    }
                ]
            ],
        }
        queued = opted_out = 0
        for first in range(0, len(followers), CHUNK):
            async with self._uow() as uow:
                now = self._clock.now()
                chunk = followers[first : first + CHUNK]
                stopped = await uow.journeys.stopped(creator.id, chunk)
                opted_out += len(stopped)
                queued += await uow.outbox.add_many(
                    [
                        # The key starts with broadcast_keys(creator): an opt-out cancels it.
                        QueuedMessage(fan_id, f"broadcast:{batch}:{fan_id}", message, batch=batch)
                        for fan_id in chunk
                        if fan_id not in stopped
                    ],
                    now,
                )
                if first + CHUNK >= len(followers):
                    await log_event(
                        uow,
                        self._clock,
                        creator.id,
                        BROADCAST_SENT,
                        actor_id=user_id,
                        metadata={"batch": batch, "total": queued, "opted_out": opted_out},
                    )
                await uow.commit()
        return BroadcastStarted(batch, queued, opted_out, handle)

    async def progress(self, who: UserRef, batch: str) -> BroadcastProgress:
        """How far the broadcast ``batch`` got; AccessDenied unless ``who`` owns its creator."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await owned_creator(uow, user_id)
            if not batch.startswith(broadcast_batch(creator.id, "")):
                raise AccessDenied()
            counts = await uow.outbox.batch_counts(batch)
            await uow.commit()
        return BroadcastProgress(
            pending=counts.get(OutboxState.PENDING.value, 0),
            sent=counts.get(OutboxState.SENT.value, 0),
            unreachable=counts.get(OutboxState.UNREACHABLE.value, 0),
            failed=counts.get(OutboxState.FAILED.value, 0),
            cancelled=counts.get(OutboxState.CANCELLED.value, 0),
        )
