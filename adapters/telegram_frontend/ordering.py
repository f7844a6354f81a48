"""Updates of different chats run concurrently; those of one chat run in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB takes a concurrency slot before our per-chat lock, so updates queued behind a slow one
# of the same chat hold slots while they wait; a generous bound keeps other chats moving.
MAX_CONCURRENT_UPDATES = 4096


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """PTB update processor: one lock per chat (or user, for pre-checkout queries)."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._queued: dict[int, int] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            await coroutine
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
