"""A creator's clone on Telegram end to end: the real `one-bot run` against the Bot API emulator
and a local OpenAI-compatible model server.

Alice feeds knowledge and a persona; Bob is refused with a buy button, buys one token on the
sandbox checkout page, asks, and watches the answer stream into one message that is edited
until it is complete, grounded in Alice's knowledge.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Emulator, User, free_port, pay_on_checkout_page, start_bot, wait_for
from tests.e2e.test_buying import MNEMONIC, Shop, _serving
from tests.llm_server import LocalLLMServer

ALICE = User(3001, "Alice")
BOB = User(3002, "Bob")
PIECES = ["Sunday evening ", "is my planning time: ", "three goals, two deep-work mornings."]


@pytest.fixture
def model() -> Iterator[LocalLLMServer]:
    """The local model server, on its own event loop in a thread (the e2e tests are sync)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    server = LocalLLMServer()
    stop = asyncio.Event()

    async def serve() -> None:
        async with server:
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


@pytest.fixture
def shop(telegram: Emulator, model: LocalLLMServer, tmp_path: Path) -> Iterator[Shop]:
    port = free_port()
    settings = {
        "ONE_BOT__WEB__PORT": str(port),
        "ONE_BOT__CHAIN__MNEMONIC": MNEMONIC,
        "ONE_BOT__LLM__BASE_URL": model.base_url,
        "ONE_BOT__LLM__MODEL": "local-chat",
        "ONE_BOT__LLM__EMBEDDING_MODEL": "local-embed",
    }
    bot = start_bot(tmp_path, telegram.url, settings)
    telegram.watch(bot.check_running)
    web = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=10, trust_env=False) as http:
            wait_for(
                lambda: _serving(telegram, http, web),
                "one-bot to take updates and serve its web server",
                watch=bot.check_running,
            )
            yield Shop(bot, web, http)
    finally:
        bot.stop()


def test_a_token_holder_gets_a_streamed_grounded_answer_on_telegram(
    telegram: Emulator, shop: Shop, model: LocalLLMServer
) -> None:
    telegram.say(ALICE, "/register Alice | alice@example.com | fitness")
    telegram.say(ALICE, "/token ALICE 1")
    persona = telegram.say(ALICE, "/clone persona Encouraging, concrete, brief.")
    assert persona.text.startswith("✅ Clone updated."), persona.text
    learned = telegram.say(
        ALICE, "/knowledge add I plan my week every Sunday evening: three goals, two mornings."
    )
    assert learned.text.startswith("✅ Learned #"), learned.text

    locked = telegram.say(BOB, "/ask alice when do you plan your week?")
    assert "🔒 @alice's clone talks to holders of at least 1 $ALICE; you hold 0." in locked.text
    offer = telegram.press(BOB, locked, "🪙 Buy 1 $ALICE")
    assert offer.text.startswith("🛒 1 $ALICE of @alice for $1.00"), offer.text
    paid = pay_on_checkout_page(shop.http, offer.links["💳 Pay $1.00 by card"])
    assert paid.status_code == 200, paid.text
    assert telegram.reply(BOB, timeout=20).text.startswith("🎉 1 $ALICE are yours")

    model.script("".join(PIECES), chunks=PIECES, token_delay=0.7)
    first = telegram.say(BOB, "/ask alice when do you plan your week?")
    assert first.text == PIECES[0]
    versions = [first]
    while "🪙" not in versions[-1].text:
        versions.append(telegram.reply(BOB, timeout=20))
    final = versions[-1]
    assert {v.message_id for v in versions} == {first.message_id}  # one message, edited
    assert final.text.startswith("".join(PIECES))
    assert "📚 From: I plan my week every Sunday evening: three\n" in final.text
    assert "🪙 +10 $ALICE for this chat" in final.text

    request = model.last_chat
    assert request is not None
    assert request.body["model"] == "local-chat"
    assert "Encouraging, concrete, brief." in request.body["messages"][0]["content"]
    assert "three goals, two mornings" in request.body["messages"][-1]["content"]

    assert shop.bot.stop() == 0, shop.bot.output[-4000:]
    assert "Traceback" not in shop.bot.output, shop.bot.output[-6000:]
