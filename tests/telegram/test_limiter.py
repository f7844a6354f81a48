"""The outbound limiter: per-chat and overall pacing, 429 retry_after, 403 unreachable.

Time is a fake clock: ``sleep`` advances it, so the schedule is checked without waiting.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from telegram.error import Forbidden, RetryAfter

from adapters.db.schema import events, identities
from adapters.telegram_frontend.limiter import Limits, OutboundLimiter
from bot import bootstrap
from tests.telegram.bot_api import RecordingBotApi, Updates
from tests.telegram.conftest import FakeClock, Feed


def limiter(clock: FakeClock, **kwargs: Any) -> OutboundLimiter:
    return OutboundLimiter(clock=clock, **kwargs)


async def send_times(
    lim: OutboundLimiter, clock: FakeClock, chats: list[int], endpoint: str = "sendMessage"
) -> list[float]:
    times: list[float] = []

    async def callback() -> bool:
        times.append(clock.now)
        return True

    for chat in chats:
        await lim.process_request(callback, (), {}, endpoint, {"chat_id": chat}, None)
    return [round(t - 1000.0, 3) for t in times]


async def test_private_chat_allows_a_burst_then_one_per_second() -> None:
    clock = FakeClock()
    times = await send_times(limiter(clock), clock, [7] * 6)
    assert times == [0.0, 0.033, 0.067, 1.0, 2.0, 3.0]  # a burst of 3, paced by the overall 30/s


async def test_group_chat_is_paced_at_twenty_a_minute() -> None:
    clock = FakeClock()
    times = await send_times(limiter(clock), clock, [-100] * 5)
    assert times == [0.0, 3.0, 6.0, 9.0, 12.0]  # never more than 20 in any minute


async def test_overall_limit_spreads_many_chats_at_thirty_a_second() -> None:
    clock = FakeClock()
    times = await send_times(limiter(clock), clock, list(range(1, 91)))
    assert times == pytest.approx([i / 30 for i in range(90)], abs=0.002)


async def test_chats_waiting_their_turn_do_not_spend_the_overall_budget() -> None:
    # Real time, scaled up 10x: 300 a second overall, groups at 20 a second.
    limits = Limits(per_second=300, private_per_second=10, group_per_minute=1200)
    lim = OutboundLimiter(limits)
    loop = asyncio.get_running_loop()
    sent: list[float] = []

    async def send(chat: int) -> None:
        async def callback() -> bool:
            sent.append(loop.time())
            return True

        await lim.process_request(callback, (), {}, "sendMessage", {"chat_id": chat}, None)

    groups = [send(-g) for g in range(1, 11) for _ in range(4)]
    privates = [send(p) for p in range(1, 31)]
    await asyncio.gather(*groups, *privates)
    start = min(sent)
    for edge in [start + i * 0.01 for i in range(40)]:
        in_window = sum(edge <= s < edge + 0.1 for s in sent)
        assert in_window <= 30 + 2, (edge - start, in_window)  # 300/s → 30 per 100 ms


async def test_other_methods_are_not_throttled() -> None:
    clock = FakeClock()
    times = await send_times(limiter(clock), clock, [7] * 10, endpoint="sendChatAction")
    assert times == [0.0] * 10


async def test_retry_after_is_honoured_then_the_send_succeeds() -> None:
    clock = FakeClock()
    attempts: list[float] = []

    async def flaky() -> bool:
        attempts.append(clock.now)
        if len(attempts) < 3:
            raise RetryAfter(timedelta(seconds=5))
        return True

    lim = limiter(clock)
    assert await lim.process_request(flaky, (), {}, "sendMessage", {"chat_id": 9}, None)
    assert [round(a - 1000.0) for a in attempts] == [0, 5, 10]


async def test_after_a_hold_a_chat_keeps_its_pace() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    attempts = 0

    async def first_is_429() -> bool:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RetryAfter(timedelta(seconds=20))
        return True

    await lim.process_request(first_is_429, (), {}, "sendMessage", {"chat_id": -5}, None)
    assert clock.now - 1000.0 == pytest.approx(20.0)
    times = await send_times(lim, clock, [-5] * 3)
    assert times == pytest.approx([23.0, 26.0, 29.0])  # still 20 a minute after the hold


async def test_retry_after_gives_up_after_the_configured_retries() -> None:
    clock = FakeClock()

    async def always_429() -> bool:
        raise RetryAfter(timedelta(seconds=2))

    lim = limiter(clock, limits=Limits(max_retries=2))
    with pytest.raises(RetryAfter):
        await lim.process_request(always_429, (), {}, "sendMessage", {"chat_id": 9}, None)
    assert clock.sleeps == [2, 2]


async def test_forbidden_is_reported_once_and_not_retried() -> None:
    clock = FakeClock()
    reported: list[int] = []
    calls = 0

    async def report(chat_id: int) -> None:
        reported.append(chat_id)

    async def blocked() -> bool:
        nonlocal calls
        calls += 1
        raise Forbidden("Forbidden: bot was blocked by the user")

    lim = limiter(clock, on_unreachable=report)
    with pytest.raises(Forbidden):
        await lim.process_request(blocked, (), {}, "sendMessage", {"chat_id": 77}, None)
    assert (calls, reported) == (1, [77])


async def test_through_the_bot_a_429_is_retried_and_a_block_marks_the_fan_unreachable(
    feed: Feed,
    updates: Updates,
    bot_api: RecordingBotApi,
    tg_app: bootstrap.App,
    limiter_clock: FakeClock,
) -> None:
    bot_api.fail("sendMessage", 555, 429)
    await feed(updates.message(555, "/start"))
    assert [c.method for c in bot_api.sent("sendMessage", 555)] == ["sendMessage"] * 2
    assert 3.0 in limiter_clock.sleeps  # Telegram's retry_after

    bot_api.fail("sendMessage", 555, 403)
    await feed(updates.message(555, "/help"))
    assert tg_app.database is not None
    rows = await tg_app.database.execute(
        lambda c: c.execute(select(identities.c.unreachable_at)).scalars().all()
    )
    [unreachable_at] = rows
    assert isinstance(unreachable_at, int)  # when the block was noticed (ms)
    kinds = await tg_app.database.execute(
        lambda c: c.execute(select(events.c.event_type)).scalars().all()
    )
    assert "user_unreachable" in kinds

    # Writing again makes them reachable again.
    await feed(updates.message(555, "/help"))
    rows = await tg_app.database.execute(
        lambda c: c.execute(select(identities.c.unreachable_at)).scalars().all()
    )
    assert rows == [None]
