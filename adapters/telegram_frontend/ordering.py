"""Updates of different chats run concurrently; those of one chat run in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

# PTB takes its concurrency slot *before* our per-chat lock (``process_update`` is final), so
# updates waiting in one busy chat would hold slots other chats need. Slots are therefore
# unbounded in practice, and each chat's backlog is bounded instead.
UNBOUNDED = 2**31 - 1
CHAT_BACKLOG = 50


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """PTB update processor: one lock per chat.

    A chat that has more than ``backlog`` updates waiting (a flood, a spammer) drops the
    excess with a warning rather than growing without end, except payments: money has moved
    (or is about to), so a payment update is always processed.

    A pre-checkout query is not queued at all. Telegram waits at most 10 s for its answer
    while the fan looks at a spinner, and behind a slow command of the same person (a mint,
    a long report) it would miss that deadline and the payment would fail. Answering it
    changes nothing in the chat: it only checks that the purchase can still be paid, and the
    money arrives later as a ``successful_payment`` message, which does take its turn in the
    chat. So it runs at once, alongside whatever that chat is doing.
    """

    def __init__(self, backlog: int = CHAT_BACKLOG) -> None:
        super().__init__(UNBOUNDED)
        self._backlog = backlog
        self._locks: dict[int, asyncio.Lock] = {}
        self._queued: dict[int, int] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None or is_pre_checkout(update):
            await coroutine
            return
        if self._queued.get(key, 0) >= self._backlog and not is_payment(update):
            log.warning("chat %s has %s updates waiting: dropping one", key, self._backlog)
            if asyncio.iscoroutine(coroutine):
                coroutine.close()  # never awaited, on purpose
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._queued[key] = self._queued.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._queued[key] -= 1
            if not self._queued[key]:  # nobody else waiting: forget the chat
                del self._queued[key], self._locks[key]


def chat_key(update: object) -> int | None:
    """The chat an update belongs to, for ordering (the user when there is no chat)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


def is_pre_checkout(update: object) -> bool:
    return isinstance(update, Update) and update.pre_checkout_query is not None


def is_payment(update: object) -> bool:
    """A payment step: a pre-checkout query, or a payment received or refunded."""
    if not isinstance(update, Update):
        return False
    if update.pre_checkout_query is not None:
        return True
    message = update.message
    return message is not None and (
        message.successful_payment is not None or message.refunded_payment is not None
    )
