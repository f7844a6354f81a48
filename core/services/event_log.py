"""Pattern 5: the one helper through which every service records what happened."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.model import ActorType, EventType
from core.ports import Clock, UnitOfWork


async def log_event(
    uow: UnitOfWork,
    clock: Clock,
    entity_id: int,
    event_type: EventType | str,
    *,
    actor_id: int | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> int:
    """Append an event about ``entity_id`` inside the caller's unit of work.

    The actor is a user when ``actor_id`` is given, the system otherwise (as in the pattern).
    The event commits or rolls back with whatever it describes.
    """
    return await uow.events.add(
        entity_id,
        str(event_type),
        ActorType.USER if actor_id is not None else ActorType.SYSTEM,
        actor_id,
        metadata or {},
        clock.now(),
    )
