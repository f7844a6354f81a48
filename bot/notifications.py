"""The ``Notifier`` port on chat: a message from the catalogue to wherever a person is reachable."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from bot.conversation import texts
from bot.conversation.messages import MessageRef, Reply
from core.model import Identity
from core.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

# Sends a reply to a chat on one platform; None when the chat cannot be reached.
Push = Callable[[str, Reply], Awaitable[MessageRef | None]]
# The link that opens a chat with the bot carrying a start payload (a referral), on one platform.
LinkMaker = Callable[[str], str]
# A whole message for one platform (its deep links differ), made when that platform is tried.
ReplyFor = Callable[[str], Reply]


def command_link(payload: str) -> str:
    """The link of a platform without deep links (the console): the command to type."""
    return f"/start {payload}"


class NoChatFrontend(Exception):
    """Nothing here can send a message (no chat frontend registered)."""


class ChatNotifier:
    """Implements ``core.ports.Notifier``: tries the person's chats, most recent first.

    Platforms register their push function when their frontend starts (``register``), so a
    notification goes to whichever platforms this process runs.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow
        self._push: dict[str, Push] = {}
        self._links: dict[str, LinkMaker] = {}

    def register(self, platform: str, push: Push, link: LinkMaker | None = None) -> None:
        """``link`` makes the platform's deep link for a start payload (default: the
        ``/start PAYLOAD`` command, for platforms without deep links)."""
        self._push[platform] = push
        self._links[platform] = link or command_link

    @property
    def platforms(self) -> frozenset[str]:
        """The platforms this process can send on (none: leave messages to another process)."""
        return frozenset(self._push)

    def link(self, platform: str, payload: str) -> str:
        """The link that opens the bot on ``platform`` with ``payload`` (``/start PAYLOAD``)."""
        return self._links.get(platform, command_link)(payload)

    async def notify(self, person_id: int, key: str, params: Mapping[str, object]) -> bool:
        """A catalogue sentence, through :meth:`deliver`. NoChatFrontend only when no frontend
        runs here (`one-bot resume`: the running bot tells them); False when none of the
        person's chats that this process serves takes it."""
        try:
            return await self.deliver(person_id, Reply(texts.t(key, **params)))
        except NoChatFrontend:
            if not self._push:
                raise
            log.info("person %d is reachable elsewhere only, not told %s", person_id, key)
            return False

    async def deliver(
        self,
        person_id: int,
        reply: Reply | ReplyFor,
        chats: Sequence[tuple[str, Identity]] | None = None,
    ) -> bool:
        """Send a whole message (text, buttons, a file) to the person's most recent chat that
        takes it; ``reply`` may be a function of the platform (deep links differ).

        True once one chat took it. False when no chat can reach the person (none known, all
        unreachable, or the person blocked the bot). Raises NoChatFrontend when no frontend
        runs here, or when the person's reachable chats are all on platforms another process
        serves: the message is left for that process. Raises the first error of a chat that
        failed when no other chat took the message, so the caller tries again later.
        ``chats``: the person's chats as ``IdentityRepository.of_people`` gives them (read
        now when None).
        """
        if not self._push:
            raise NoChatFrontend("no chat frontend runs in this process")
        if chats is None:
            async with self._uow() as uow:
                chats = await uow.identities.of_person(person_id)
                await uow.commit()
        identities = chats
        made: dict[str, Reply] = {}
        elsewhere: set[str] = set()
        error: Exception | None = None
        for platform, identity in identities:
            if identity.chat_id is None or not identity.reachable:
                continue
            push = self._push.get(platform)
            if push is None:
                elsewhere.add(platform)
                continue
            if platform not in made:
                made[platform] = reply if isinstance(reply, Reply) else reply(platform)
            try:
                if await push(identity.chat_id, made[platform]) is not None:
                    return True
            except Exception as e:  # try the person's other chats before giving up
                log.warning("person %d: sending on %s failed: %r", person_id, platform, e)
                error = error or e
        if error is not None:
            raise error
        if elsewhere:
            raise NoChatFrontend(f"person {person_id} is reachable on {sorted(elsewhere)} only")
        log.info("person %d is not reachable", person_id)
        return False
