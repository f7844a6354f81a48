"""The ELEVATE journey in the real `one-bot chat`, a day passing in a second: a fan follows,
answers the hook, gets the gift report and the payment gate, pays on the checkout page and
goes on; a restart in the middle repeats nothing they saw."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.e2e.harness import LOCAL, free_port, pay_on_checkout_page
from tests.test_console_buying import CHECKOUT_URL, MNEMONIC, Console


def start(tmp_path: Path, port: int) -> Console:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONE_BOT__")}
    env |= {
        **LOCAL,
        "ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        "ONE_BOT__CHAIN__MNEMONIC": MNEMONIC,
        "ONE_BOT__WEB__PORT": str(port),
        "ONE_BOT__LOGGING__LEVEL": "WARNING",
        "ONE_BOT__JOURNEYS__TIME_SCALE": "86400",  # a day of the journey in a second
        "ONE_BOT__JOURNEYS__TICK_EVERY": "0.2",
        "ONE_BOT__JOURNEYS__OUTBOX_EVERY": "0.2",
        # The gate's deadline far enough (83 s here) for a restart and a payment in between.
        "ONE_BOT__JOURNEYS__STEPS__IDENTIFY__DEADLINE_HOURS": "2000",
    }
    console = Console(tmp_path, env)
    console.expect("one-bot console — you are “guest”.")
    return console


def test_a_fan_receives_the_journey_pays_at_the_gate_and_a_restart_repeats_nothing(
    tmp_path: Path,
) -> None:
    port = free_port()
    chat = start(tmp_path, port)
    try:
        chat.say("guest", "/as Alice", "\n\n")
        chat.say("Alice", "/register Alice | alice@example.com | fitness", "\n\n")
        chat.say("Alice", "/token ALICE 1", "\n\n")
        chat.say("Alice", "/knowledge add Start with three easy runs a week.", "\n\n")
        chat.say("Alice", "/as Bob", "\n\n")
        chat.say("Bob", "/follow alice", "\n\n")
        chat.expect("🔔 For bob:\n👋 Thanks for following Alice! One question to start")
        answer = chat.say("Bob", "I want to run my first 10k", "\n\n")
        assert "🔎 Here is what @alice wrote that fits your goals:" in answer
        chat.expect("🎁 As promised, your personal insights report from Alice.")
        chat.expect("[document: insights-alice.md")
        chat.expect("🔑 Ready to go further with Alice? Unlock the full journey with 100 $ALICE")
        chat.expect("[1] 🪙 Buy 100 $ALICE")
    finally:
        assert chat.close() == 0, chat.stderr[-4000:]
    first = chat.output

    again = start(tmp_path, port)  # a restart in the middle of the journey
    try:
        again.expect("⏰ A reminder: your spot in Alice's journey is waiting.")
        again.type("/as Bob")
        again.expect("You are now “Bob”.")
        offer = again.say("Bob", "/buy alice 100", "\n\n")
        assert "[1] 💳 Pay $100.00 by card" in offer
        again.type("1")
        again.expect("Bob> 1\n")
        url = again.expect(CHECKOUT_URL).strip()
        with httpx.Client(timeout=10, trust_env=False) as http:
            assert pay_on_checkout_page(http, url).status_code == 200
        again.expect("🎉 100 $ALICE are yours")
        again.expect("🚀 You're in! Ask Alice's AI clone anything, any time.", timeout=30)
    finally:
        assert again.close() == 0, again.stderr[-4000:]
    second = again.output
    for seen_once in ("👋 Thanks for following", "🎁 As promised", "🔑 Ready to go further"):
        assert first.count(seen_once) == 1, seen_once
        assert seen_once not in second, seen_once
    assert "Traceback" not in chat.stderr + again.stderr
