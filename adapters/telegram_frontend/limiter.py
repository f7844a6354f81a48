"""One outbound limiter for everything the bot sends on Telegram.

Telegram's documented limits: about one message per second in a private chat (short bursts are
tolerated), 20 per minute in a group, 30 per second overall. Every send reserves a slot in the
overall bucket and in its chat's bucket (GCRA: a "theoretical arrival time" per bucket) and
waits for the later of the two. A 429 ``RetryAfter`` holds that chat for the time Telegram asks
and retries; a 403 (the person blocked the bot, or it was removed from the group) is reported
once through ``on_unreachable`` and not retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from telegram.error import Forbidden, RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

# The Bot API methods that put a message in a chat; everything else passes unthrottled.
SENDING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendInvoice",
        "sendMediaGroup",
        "sendAnimation",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendSticker",
        "sendLocation",
        "sendPoll",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "editMessageMedia",
    }
)


class LimiterClock(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Limits:
    per_second: float = 30.0
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0
    group_burst: int = 1  # a burst would let a 60 s window see more than 20
    max_retries: int = 3


class _Bucket:
    """GCRA: ``rate`` per second with a burst of ``burst``; ``reserve`` returns the wait."""

    __slots__ = ("_interval", "_tolerance", "tat")

    def __init__(self, rate: float, burst: int) -> None:
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self.tat = 0.0

    def reserve(self, now: float) -> float:
        start = max(self.tat, now)
        wait = max(0.0, start - self._tolerance - now)
        self.tat = start + self._interval
        return wait

    def idle(self, now: float) -> bool:
        return self.tat <= now


class OutboundLimiter(BaseRateLimiter[int]):
    """PTB rate limiter; ``rate_limit_args`` may override the number of retries for a call."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: LimiterClock | None = None,
        on_unreachable: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self._clock = clock or LoopClock()
        self._on_unreachable = on_unreachable
        # No burst overall: with a burst of b, a one-second window could see b + 30 sends.
        self._overall = _Bucket(self.limits.per_second, 1)
        self._chats: dict[int, _Bucket] = {}
        self._held_until: dict[int, float] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def _bucket(self, chat_id: int) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) > 10_000:
                self._forget_idle()
            limits = self.limits
            bucket = (
                _Bucket(limits.private_per_second, limits.private_burst)
                if chat_id > 0
                else _Bucket(limits.group_per_minute / 60.0, limits.group_burst)
            )
            self._chats[chat_id] = bucket
        return bucket

    def _forget_idle(self) -> None:
        now = self._clock.monotonic()
        self._chats = {c: b for c, b in self._chats.items() if not b.idle(now)}

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat = data.get("chat_id")
        if endpoint not in SENDING or not isinstance(chat, int | str):
            return await callback(*args, **kwargs)
        try:
            chat_id = int(chat)
        except ValueError:  # a channel @username: only the overall limit applies
            chat_id = 0
        retries = self.limits.max_retries if rate_limit_args is None else rate_limit_args
        attempt = 0
        while True:
            await self._wait_turn(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt >= retries:
                    raise
                attempt += 1
                seconds = _retry_after_seconds(error)
                log.warning("Telegram asked to wait %.1fs for chat %s", seconds, chat_id)
                self._held_until[chat_id] = self._clock.monotonic() + seconds
            except Forbidden:
                if self._on_unreachable is not None and chat_id:
                    await self._on_unreachable(chat_id)
                raise

    async def _wait_turn(self, chat_id: int) -> None:
        # The chat's turn first, then the overall one booked for the moment it is really sent:
        # booking both at once would spend overall slots on sends that go out later.
        now = self._clock.monotonic()
        start = max(now, self._held_until.get(chat_id, now))  # after any hold a 429 asked for
        if start == now:
            self._held_until.pop(chat_id, None)
        wait = start - now
        if chat_id:
            wait += self._bucket(chat_id).reserve(start)
        if wait > 0:
            await self._clock.sleep(wait)
        overall = self._overall.reserve(self._clock.monotonic())
        if overall > 0:
            await self._clock.sleep(overall)


def _retry_after_seconds(error: RetryAfter) -> float:
    # A timedelta under PTB_TIMEDELTA (set by bot/cli.py, PTB's coming default), else seconds.
    delay = error.retry_after
    return delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
