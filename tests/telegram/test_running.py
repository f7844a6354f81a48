"""Running on Telegram: per-chat ordering, long polling, and the webhook's secret token."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from telegram import Update
from telegram.error import BadRequest

from adapters.telegram_frontend.frontend import TelegramFrontend
from adapters.telegram_frontend.ordering import PerChatUpdateProcessor
from adapters.telegram_frontend.webhook import SECRET_HEADER, webhook_route
from adapters.web.server import web_app
from tests.telegram.bot_api import RecordingBotApi, Updates

BOB, CAROL = 1002, 1003


async def test_one_chat_in_order_many_chats_at_once(updates: Updates) -> None:
    processor = PerChatUpdateProcessor()
    log: list[str] = []
    release = asyncio.Event()

    def job(name: str, wait: bool) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            log.append(f"{name} start")
            if wait:
                await release.wait()
            log.append(f"{name} end")

        return run

    def update(user: int) -> Update:
        return Update.de_json(updates.message(user, "/x"), None)

    slow = asyncio.create_task(processor.process_update(update(BOB), job("bob-1", True)()))
    queued = asyncio.create_task(processor.process_update(update(BOB), job("bob-2", False)()))
    other = asyncio.create_task(processor.process_update(update(CAROL), job("carol", False)()))
    await asyncio.wait_for(other, 1)  # a slow command in Bob's chat does not hold Carol up
    assert log == ["bob-1 start", "carol start", "carol end"]
    release.set()
    await asyncio.gather(slow, queued)
    assert log[3:] == ["bob-1 end", "bob-2 start", "bob-2 end"]


async def test_long_polling_answers_updates(
    telegram: TelegramFrontend, bot_api: RecordingBotApi, updates: Updates
) -> None:
    bot_api.updates.extend([updates.message(BOB, "/start"), updates.message(CAROL, "/help")])
    stop = asyncio.Event()
    running = asyncio.create_task(telegram.run(stop))
    async with asyncio.timeout(10):
        while len(bot_api.sent("sendMessage")) < 2:  # noqa: ASYNC110 — polled from outside
            await asyncio.sleep(0.01)
    stop.set()
    await running
    assert "Welcome to ONE" in bot_api.texts(BOB)[0]
    assert "Here is what you can do" in bot_api.texts(CAROL)[0]
    methods = [c.method for c in bot_api.calls]
    assert methods.index("setMyCommands") < methods.index("getUpdates")
    assert "deleteWebhook" in methods


async def test_webhook_refuses_calls_without_the_secret(
    telegram: TelegramFrontend, bot_api: RecordingBotApi, updates: Updates
) -> None:
    app = web_app([webhook_route(telegram, "s3cret-token")])
    transport = httpx.ASGITransport(app=app)
    queue = telegram.application.update_queue
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        update = updates.message(BOB, "/start")
        assert (await client.post("/webhooks/telegram", json=update)).status_code == 403
        wrong = {SECRET_HEADER: "guess"}
        response = await client.post("/webhooks/telegram", json=update, headers=wrong)
        assert response.status_code == 403
        assert queue.empty()

        right = {SECRET_HEADER: "s3cret-token"}
        response = await client.post("/webhooks/telegram", content=b"not json", headers=right)
        assert response.status_code == 400
        broken = {"update_id": 1, "message": {"text": "no date, no chat"}}
        response = await client.post("/webhooks/telegram", json=broken, headers=right)
        assert response.status_code == 400
        assert queue.empty()
        response = await client.post("/webhooks/telegram", json=update, headers=right)
        assert response.status_code == 200
        queued = await queue.get()
        assert isinstance(queued, Update)
        assert queued.effective_user is not None
        assert queued.effective_user.id == BOB
        assert (await client.get("/health")).json() == {"status": "ok"}


async def test_a_failed_start_reports_the_real_cause(
    telegram: TelegramFrontend, bot_api: RecordingBotApi
) -> None:
    bot_api.fail("deleteWebhook", 0, 400, description="Bad Request: the start went wrong")
    with pytest.raises(BadRequest, match=r"(?i)the start went wrong"):
        await telegram.run(asyncio.Event())
    assert not telegram.application.running
