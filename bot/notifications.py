"""The ``Notifier`` port on chat: a message from the catalogue to wherever a person is reachable."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from bot.conversation import texts
from bot.conversation.messages import MessageRef, Reply
from core.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

# Sends a reply to a chat on one platform; None when the chat cannot be reached.
Push = Callable[[str, Reply], Awaitable[MessageRef | None]]


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

    def register(self, platform: str, push: Push) -> None:
        self._push[platform] = push

    async def notify(self, person_id: int, key: str, params: Mapping[str, object]) -> bool:
        if not self._push:
            # `one-bot resume` and other chat-less runs: leave it to the running bot.
            raise NoChatFrontend("no chat frontend runs in this process")
        async with self._uow() as uow:
            identities = await uow.identities.of_person(person_id)
            await uow.commit()
        reply = Reply(texts.t(key, **params))
        for platform, identity in identities:
            push = self._push.get(platform)
            if push is None or identity.chat_id is None or not identity.reachable:
                continue
            if await push(identity.chat_id, reply) is not None:
                return True
        log.info("person %d not reachable for %s", person_id, key)
        return False
