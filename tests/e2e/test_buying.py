"""Buying tokens on Telegram end to end: the real `one-bot run` against the Bot API emulator.

A creator issues a token; a fan buys 100 of them through the sandbox checkout page the bot
serves on its own web server (localstripe's signed webhook completes the purchase), is told in
the chat and sees them in /balance, on chain. The Stars button sends an XTR invoice; a Stars
payment fed as Telegram's own updates (pre-checkout query, then successful_payment) completes a
second purchase.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import (
    Emulator,
    Process,
    User,
    free_port,
    pay_on_checkout_page,
    start_bot,
    wait_for,
)

ALICE = User(2001, "Alice")
BOB = User(2002, "Bob")
MNEMONIC = "test test test test test test test test test test test junk"
CARD = "💳 Pay $150.00 by card"
STARS = "⭐ Pay 7,500 Stars"


class Shop:
    """The running bot, its web server's base URL and an HTTP client for the checkout page."""

    def __init__(self, bot: Process, web: str, http: httpx.Client) -> None:
        self.bot = bot
        self.web = web
        self.http = http


def _serving(telegram: Emulator, http: httpx.Client, web: str) -> bool:
    if not telegram.state()["calls"].get("getUpdates"):
        return False
    try:
        return http.get(f"{web}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def shop(telegram: Emulator, tmp_path: Path) -> Iterator[Shop]:
    """`one-bot run` (polling) with its web server on a free port; returns once both serve."""
    port = free_port()
    settings = {"ONE_BOT__WEB__PORT": str(port), "ONE_BOT__CHAIN__MNEMONIC": MNEMONIC}
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


def pre_checkout(update_id: int, user: User, payload: str, stars: int) -> dict[str, Any]:
    """The Update Telegram sends when ``user`` presses Pay on a Stars invoice."""
    query = {
        "id": f"pcq-{update_id}",
        "from": user.json(),
        "currency": "XTR",
        "total_amount": stars,
        "invoice_payload": payload,
    }
    return {"update_id": update_id, "pre_checkout_query": query}


def successful_payment(update_id: int, user: User, payload: str, stars: int) -> dict[str, Any]:
    """The service message Telegram sends once the Stars have moved."""
    paid = {
        "currency": "XTR",
        "total_amount": stars,
        "invoice_payload": payload,
        "telegram_payment_charge_id": f"stxE2E{update_id}",
        "provider_payment_charge_id": "",
    }
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": user.chat(),
        "from": user.json(),
        "successful_payment": paid,
    }
    return {"update_id": update_id, "message": message}


def test_a_fan_buys_100_by_card_and_more_with_stars(telegram: Emulator, shop: Shop) -> None:
    registered = telegram.say(ALICE, "/register Alice | alice@example.com | fitness")
    assert registered.text.startswith("🎉 You're a creator now: Alice (@alice).")
    issued = telegram.say(ALICE, "/token ALICE 1.50")
    assert issued.text.startswith("🪙 $ALICE is live: $1.50 a token."), issued.text

    offer = telegram.say(BOB, "/buy alice 100")
    assert offer.text.startswith("🛒 100 $ALICE of @alice for $150.00 (purchase #1).")
    assert "Sandbox: no real money" in offer.text
    assert offer.labels == [[CARD], [STARS]]
    checkout_url = offer.links[CARD]
    assert checkout_url.startswith(f"{shop.web}/checkout/1?"), checkout_url

    # The Stars button: an XTR invoice at 50 Stars a dollar, for this purchase.
    invoice = telegram.press(BOB, offer, STARS)
    assert invoice.invoice is not None, invoice
    assert invoice.invoice["currency"] == "XTR"
    assert invoice.invoice["total_amount"] == 7500
    assert invoice.invoice["payload"] == "purchase:1"
    assert "100 $ALICE" in invoice.invoice["description"]

    # Bob pays by card instead, on the sandbox checkout page.
    paid = pay_on_checkout_page(shop.http, checkout_url)
    assert paid.status_code == 200, paid.text
    assert "Paid" in paid.text

    told = telegram.reply(BOB, timeout=20)
    assert told.text.startswith("🎉 100 $ALICE are yours (purchase #1)"), told.text
    balance = telegram.say(BOB, "/balance")
    assert "100 $ALICE of @alice — $150.00 · on chain ✓" in balance.text, balance.text

    # The Stars invoice of the purchase paid by card is refused before any Stars move.
    telegram.send_update(pre_checkout(800_001, BOB, "purchase:1", 7500))
    answers = wait_for(
        lambda: telegram.state()["preCheckoutAnswers"],
        "the answer to the pre-checkout query",
        watch=shop.bot.check_running,
    )
    assert [(a["id"], a["ok"]) for a in answers] == [("pcq-800001", False)]
    assert answers[0]["error_message"]

    # A second purchase paid in Stars, through Telegram's own payment updates.
    second = telegram.say(BOB, "/buy alice 10")
    assert second.text.startswith("🛒 10 $ALICE of @alice for $15.00 (purchase #2).")
    stars_invoice = telegram.press(BOB, second, "⭐ Pay 750 Stars")
    assert stars_invoice.invoice is not None
    assert (stars_invoice.invoice["total_amount"], stars_invoice.invoice["payload"]) == (
        750,
        "purchase:2",
    )
    telegram.send_update(pre_checkout(800_002, BOB, "purchase:2", 750))
    wait_for(
        lambda: len(telegram.state()["preCheckoutAnswers"]) == 2,
        "the second pre-checkout answer",
        watch=shop.bot.check_running,
    )
    assert telegram.state()["preCheckoutAnswers"][1] == {
        "id": "pcq-800002",
        "ok": True,
        "error_message": None,
    }
    telegram.send_update(successful_payment(800_003, BOB, "purchase:2", 750))
    assert telegram.reply(BOB).text.startswith("✅ Payment received.")
    told = telegram.reply(BOB, timeout=20)
    assert told.text.startswith("🎉 10 $ALICE are yours (purchase #2)"), told.text
    balance = telegram.say(BOB, "/balance")
    assert "110 $ALICE of @alice — $165.00 · on chain ✓" in balance.text, balance.text

    assert shop.bot.stop() == 0, shop.bot.output[-4000:]
    assert "Traceback" not in shop.bot.output, shop.bot.output[-6000:]
