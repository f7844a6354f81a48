"""Buying through the whole stack: the sandbox checkout page, localstripe's signed webhooks, the
embedded EVM and SQLite — the bot as `one-bot run` builds it, driven as a fan would."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from adapters.web.server import serve, web_app
from bot import bootstrap
from bot.conversation import MessageRef, Reply
from bot.settings import load_settings
from core.purchases import PurchaseState
from tests.e2e.harness import free_port
from tests.support import Chat

MNEMONIC = "test test test test test test test test test test test junk"


@dataclass
class Inbox:
    """What the bot pushed to people outside a conversation (the notifier's sends)."""

    messages: list[tuple[str, str]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def push(self, chat_id: str, reply: Reply) -> MessageRef:
        self.messages.append((chat_id, reply.text))
        self.arrived.set()
        return MessageRef(chat_id, str(len(self.messages)))

    async def wait_for(self, predicate: Callable[[str], bool]) -> str:
        async with asyncio.timeout(20):
            while True:
                for _, text in self.messages:
                    if predicate(text):
                        return text
                self.arrived.clear()
                await self.arrived.wait()


@dataclass
class Shop:
    app: bootstrap.App
    chat: Chat
    inbox: Inbox
    http: httpx.AsyncClient


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    settings = load_settings(
        environ={
            "ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'one.db'}",
            "ONE_BOT__CHAIN__MNEMONIC": MNEMONIC,
            "ONE_BOT__WEB__PORT": str(free_port()),
        }
    )
    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        app = await bootstrap.build(settings, stack)
        inbox = Inbox()
        app.notifier.register("test", inbox.push)
        web = asyncio.create_task(serve(web_app(app.routes), "127.0.0.1", settings.web.port, stop))
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        base = f"http://127.0.0.1:{settings.web.port}"
        async with asyncio.timeout(10):
            while True:
                try:
                    if (await http.get(f"{base}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.02)
        try:
            yield Shop(app, Chat(app.router), inbox, http)
        finally:
            stop.set()
            await web


async def pay_on_checkout_page(shop: Shop, offer: Reply, card: str = "visa") -> httpx.Response:
    [button] = [b for b in offer.all_buttons if b.url]
    assert button.url is not None
    page = await shop.http.get(button.url)
    assert page.status_code == 200
    assert "Sandbox" in page.text
    form = dict(re.findall(r'name="(amount|sig)" value="([^"]*)"', page.text))
    return await shop.http.post(button.url.split("?")[0], data={**form, "card": card})


async def test_a_fan_buys_100_through_the_sandbox_checkout(shop: Shop) -> None:
    chat = shop.chat
    await chat("alice", "/register Alice | alice@example.com | fitness")
    await chat("alice", "/token ALICE 1.50")
    offer = await chat("bob", "/buy alice 100")
    assert "100 $ALICE of @alice for $150.00" in offer.text
    assert "Sandbox: no real money" in offer.text
    paid = await pay_on_checkout_page(shop, offer)
    assert paid.status_code == 200
    told = await shop.inbox.wait_for(lambda text: "are yours" in text)
    assert told.startswith("🎉 100 $ALICE are yours (purchase #1)")
    balance = await chat("bob", "/balance")
    assert "100 $ALICE of @alice — $150.00 · on chain ✓" in balance.text
    # The page cannot take a second payment for the same purchase.
    again = await pay_on_checkout_page(shop, offer)
    assert again.status_code != 200 or "paid already" in again.text.lower()
    report = await shop.app.services.tokens.reconcile()
    assert (report.checked, report.drifts) == (1, [])


async def test_a_declined_card_pays_nothing(shop: Shop) -> None:
    chat = shop.chat
    await chat("alice", "/register Alice | alice@example.com | fitness")
    await chat("alice", "/token ALICE 2")
    offer = await chat("bob", "/buy alice 5")
    declined = await pay_on_checkout_page(shop, offer, card="declined")
    assert declined.status_code == 402
    await asyncio.sleep(1.5)  # the sandbox would have sent a webhook by now
    checkout = await shop.app.services.purchases.describe(1)
    assert checkout is not None
    assert checkout.purchase.state is PurchaseState.PENDING
    assert "You hold no tokens yet" in (await chat("bob", "/balance")).text
