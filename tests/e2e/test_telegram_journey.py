"""The ELEVATE journey on Telegram end to end, a day passing in a second: the real `one-bot run`
against the Bot API emulator. A fan follows with the profile's button, answers the hook, gets
the gift report as a document and the payment gate; the bot is killed (-9) and started again
in the middle, which repeats nothing; the fan pays at the gate in Telegram Stars, through
Telegram's own payment updates, and the journey goes on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Emulator, Process, Received, User, free_port, start_bot, wait_for
from tests.e2e.test_buying import MNEMONIC, pre_checkout, successful_payment

ALICE = User(3001, "Alice")
BOB = User(3002, "Bob")
JOURNEY = {
    "ONE_BOT__CHAIN__MNEMONIC": MNEMONIC,
    "ONE_BOT__JOURNEYS__TIME_SCALE": "86400",  # a day of the journey in a second
    "ONE_BOT__JOURNEYS__TICK_EVERY": "0.2",
    "ONE_BOT__JOURNEYS__OUTBOX_EVERY": "0.2",
    # The gate's deadline far enough (83 s here) for a restart and a payment in between.
    "ONE_BOT__JOURNEYS__STEPS__IDENTIFY__DEADLINE_HOURS": "2000",
}


class Bots:
    """Starts `one-bot run` on one database and web port; kills what it started."""

    def __init__(self, telegram: Emulator, tmp_path: Path) -> None:
        self.telegram = telegram
        self.tmp_path = tmp_path
        self.settings = {**JOURNEY, "ONE_BOT__WEB__PORT": str(free_port())}
        self.started: list[Process] = []

    def start(self) -> Process:
        calls = self.telegram.state()["calls"].get("getUpdates", 0)
        bot = start_bot(self.tmp_path, self.telegram.url, self.settings)
        self.started.append(bot)
        self.telegram.watch(bot.check_running)
        wait_for(
            lambda: self.telegram.state()["calls"].get("getUpdates", 0) > calls,
            "one-bot to take updates",
            watch=bot.check_running,
        )
        return bot


@pytest.fixture
def bots(telegram: Emulator, tmp_path: Path) -> Iterator[Bots]:
    made = Bots(telegram, tmp_path)
    yield made
    for bot in made.started:
        bot.stop()


def next_for(telegram: Emulator, user: User, starting: str, timeout: float = 20) -> Received:
    """The next message to ``user``, which must start with ``starting``."""
    message = telegram.reply(user, timeout=timeout)
    assert message.text.startswith(starting), message.text
    return message


def test_a_fan_receives_the_journey_pays_in_stars_and_a_kill_repeats_nothing(
    telegram: Emulator, bots: Bots
) -> None:
    bot = bots.start()
    telegram.say(ALICE, "/register Alice | alice@example.com | fitness")
    assert telegram.say(ALICE, "/token ALICE 1").text.startswith("🪙 $ALICE is live")

    profile = telegram.say(BOB, "/creator alice")
    followed = telegram.press(BOB, profile, "➕ Follow")
    assert followed.text.startswith("✅ You now follow Alice (@alice).")
    next_for(telegram, BOB, "👋 Thanks for following Alice! One question to start")
    analysis = telegram.say(BOB, "I want to run my first 10k")
    assert "@alice" in analysis.text, analysis.text
    gift = next_for(telegram, BOB, "🎁 As promised, your personal insights report from Alice.")
    assert gift.document == "insights-alice.md"
    gate = next_for(telegram, BOB, "🔑 Ready to go further with Alice?")
    assert gate.labels == [["🪙 Buy 100 $ALICE"]]

    bot.kill()  # in the middle of the journey, without a goodbye
    bots.start()
    reminder = next_for(telegram, BOB, "⏰ A reminder: your spot in Alice's journey is waiting.")
    offer = telegram.press(BOB, reminder, "🪙 Buy 100 $ALICE")
    assert offer.text.startswith("🛒 100 $ALICE of @alice for $100.00"), offer.text
    stars = next(label for row in offer.labels for label in row if label.startswith("⭐"))
    invoice = telegram.press(BOB, offer, stars)
    assert invoice.invoice is not None
    payload, amount = invoice.invoice["payload"], invoice.invoice["total_amount"]
    telegram.send_update(pre_checkout(900_001, BOB, payload, amount))
    wait_for(lambda: telegram.state()["preCheckoutAnswers"], "the pre-checkout answer")
    telegram.send_update(successful_payment(900_002, BOB, payload, amount))

    seen = []
    while "🚀 You're in!" not in (message := telegram.reply(BOB, timeout=30)).text:
        seen.append(message.text)
    assert any(text.startswith("🎉 100 $ALICE are yours") for text in seen), seen
    # Nothing Bob saw before the kill came again.
    for before in ("👋 Thanks for following", "🎁 As promised", "🔑 Ready to go further"):
        assert not any(text.startswith(before) for text in seen), (before, seen)
    for bot in bots.started[1:]:
        assert bot.stop() == 0, bot.output[-4000:]
        assert "Traceback" not in bot.output, bot.output[-4000:]
