"""Share links (the journey's share step): a fan who brings a new fan is rewarded in tokens.

A link is ``/start ref-RUN-CODE``: the sharer's run with a creator and the code the share step
made. A person new to the bot who opens it is remembered as referred by that run (in their
profile's properties, per creator); when they then follow the creator, the sharer is credited
``referral_reward`` tokens, once per new fan (the ledger takes the reference
``referral:RUN:FAN`` once). Nobody is paid for a visit alone, nor for themself.
"""

from __future__ import annotations

from core.model import EventType
from core.ports import Clock, UnitOfWork
from core.services.event_log import log_event
from core.services.ledger import move_tokens
from core.services.tokens import token_of

REFERRED_BY = "referred_by"  # properties key: {creator id (str): run id}


async def referred_run(uow: UnitOfWork, code: str) -> tuple[int, int, int] | None:
    """``(run id, sharer id, creator id)`` of a share link's code, or None if it is not one."""
    number, _, secret = code.removeprefix("ref-").partition("-")
    if not (number.isascii() and number.isdigit() and len(number) <= 18 and secret):
        return None
    run = await uow.journeys.get(int(number))
    if run is None or run.data.get("ref") != secret:
        return None
    return run.id, run.fan_id, run.creator_id


async def remember(
    uow: UnitOfWork, clock: Clock, newcomer_id: int, run_id: int, creator_id: int
) -> None:
    """The newcomer came through run ``run_id``'s link: the follow that pays is still to come."""
    person = await uow.entities.get(newcomer_id)
    if person is None:
        return
    referred = dict(person.properties.get(REFERRED_BY, {}))
    referred.setdefault(str(creator_id), run_id)  # the first link they came through counts
    await uow.entities.update(
        newcomer_id, {**person.properties, REFERRED_BY: referred}, clock.now()
    )


async def reward(uow: UnitOfWork, clock: Clock, fan_id: int, creator_id: int, amount: int) -> None:
    """``fan_id`` now follows ``creator_id``: if a share link brought them, pay its sharer."""
    person = await uow.entities.get(fan_id)
    run_id = person.properties.get(REFERRED_BY, {}).get(str(creator_id)) if person else None
    if person is None or not isinstance(run_id, int) or amount <= 0:
        return
    run = await uow.journeys.get(run_id)
    token = await token_of(uow, creator_id)
    if run is None or token is None or run.fan_id == fan_id:
        return
    paid = await move_tokens(
        uow,
        clock,
        token_id=token.id,
        holder_id=run.fan_id,
        amount=amount,
        kind="referral",
        reference=f"referral:{run.id}:{fan_id}",
        settle_later=True,
    )
    if paid:
        await log_event(
            uow,
            clock,
            creator_id,
            EventType.REFERRAL_JOINED,
            actor_id=fan_id,
            metadata={"referrer": run.fan_id, "reward": amount},
        )
