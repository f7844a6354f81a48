"""``/link``: one person on Telegram and on Discord (core/linking.py).

``code`` gives a person a one-time code; ``link``, from their account on the other platform,
makes that account theirs: the identity is moved to the person who asked for the code, so
follows, balances and journeys are one from then on. An account that already has follows,
tokens, journeys or a creator of its own is not merged away (nothing is lost silently): the
person links the other way round, or asks for help.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import (
    LinkAlreadyLinked,
    LinkCodeExpired,
    LinkCodeInvalid,
    LinkOwnCode,
    LinkSamePlatform,
    LinkWouldLoseData,
)
from core.linking import CODE_ALPHABET, CODE_LENGTH, CODE_TTL, LinkCode
from core.model import EventType, Relation, UserRef
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.services.event_log import log_event
from core.services.identities import resolve_user

ATTEMPTS = 5  # new codes tried should one exist already (32^8: practically never)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True, slots=True)
class Linked:
    """The account was joined to the person of the code, who made it on ``platform``."""

    platform: str


class LinkService:
    """Joining a person's identities across platforms."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, make_code: Callable[[], str] = new_code
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._make_code = make_code

    async def code(self, who: UserRef) -> LinkCode:
        """A new one-time code for ``who``'s person, valid for ``CODE_TTL``."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            now = self._clock.now()
            for _ in range(ATTEMPTS):
                code = LinkCode(self._make_code(), user_id, who.platform, now + CODE_TTL)
                if await uow.link_codes.add(code, now):
                    await uow.commit()
                    return code
        raise RuntimeError("no free link code after several tries")

    async def link(self, who: UserRef, typed: str) -> Linked:
        """Make ``who``'s account the person's who asked for the code ``typed``.

        LinkCodeInvalid (unknown or used), LinkCodeExpired, LinkOwnCode (typed where it was
        asked for), LinkSamePlatform, LinkWouldLoseData (this account has its own follows,
        tokens, journeys or creator): nothing changes then, and the code stays usable.
        """
        code = typed.strip().upper().replace("-", "").replace(" ", "")
        if len(code) != CODE_LENGTH or not set(code) <= set(CODE_ALPHABET):
            raise LinkCodeInvalid()
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            now = self._clock.now()
            found = await uow.link_codes.use(code, now)  # undone unless committed below
            if found is None or found.used_at is not None:
                raise LinkCodeInvalid()
            if found.expires_at <= now:
                raise LinkCodeExpired()
            if found.user_id == user_id:
                raise LinkOwnCode()
            if found.platform == who.platform:
                raise LinkSamePlatform(platform=found.platform.title())
            if await _has_its_own(uow, user_id):
                raise LinkWouldLoseData(platform=found.platform.title())
            # One account per platform and person: a second would get roles from one balance.
            if any(p == who.platform for p, _ in await uow.identities.of_person(found.user_id)):
                raise LinkAlreadyLinked(platform=who.platform.title())
            await uow.identities.move(user_id, found.user_id)
            await log_event(
                uow,
                self._clock,
                found.user_id,
                EventType.IDENTITY_LINKED,
                metadata={"platform": who.platform, "from_user": user_id},
            )
            await uow.commit()
        return Linked(found.platform)


async def _has_its_own(uow: UnitOfWork, user_id: int) -> bool:
    """Whether merging this person away would set something of theirs aside: follows, tokens,
    a creator, a clone chat, journeys, a purchase (one still to be paid would credit them)."""
    for relation in (
        Relation.FOLLOWING,
        Relation.HOLDS_TOKENS,
        Relation.OWNS,
        Relation.CHATTING_WITH,
    ):
        if await uow.connections.targets(user_id, relation, 1):
            return True
    return bool(await uow.journeys.of_fan(user_id)) or await uow.purchases.any_of_fan(user_id)
