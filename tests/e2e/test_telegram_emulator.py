"""One-bot on Telegram end to end: the real program against a Bot API emulator, over HTTP.

People talk to the bot through the emulator's client API (as they would in the Telegram app) and
the tests assert what they receive, in long-polling mode and in webhook mode.
"""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import StartBot
from tests.e2e.harness import SECRET_HEADER, Emulator, Process, User, free_port

ALICE = User(1001, "Alice")
BOB = User(1002, "Bob")
MALLORY = User(1003, "Mallory")

SECRETS = [
    pytest.param("e2e-webhook-secret", id="configured-secret"),
    pytest.param(None, id="random-secret"),
]


def a_creator_is_found_and_followed(telegram: Emulator) -> None:
    # Each person sends at most three messages: the bot's per-chat limit (1/s, bursts of 3)
    # would otherwise add a second per extra reply.
    welcome = telegram.say(ALICE, "/start")
    assert welcome.text.startswith("👋 Welcome to ONE, Alice!")
    assert welcome.labels == [["🔎 Discover creators"], ["❓ Help"]]

    registered = telegram.say(ALICE, "/register Alice | alice@example.com | fitness")
    assert registered.text.startswith("🎉 You're a creator now: Alice (@alice).")

    listing = telegram.say(BOB, "/creators")
    assert "• Alice (@alice) — 0 followers · fitness" in listing.text
    assert listing.labels == [["@alice · 0 followers"]]

    profile = telegram.press(BOB, listing, "@alice · 0 followers")
    assert profile.text.startswith("Alice (@alice)\n(no bio yet)\nNiches: fitness")
    assert profile.labels == [["➕ Follow"]]

    followed = telegram.press(BOB, profile, "➕ Follow")
    assert followed.text == "✅ You now follow Alice (@alice). They have 1 follower."
    assert followed.labels == [["➖ Unfollow"]]

    unknown = telegram.say(ALICE, "/frobnicate")
    assert unknown.text == "🤔 I don't know /frobnicate. Send /help to see what I can do."


def stops_cleanly(bot: Process) -> None:
    assert bot.stop() == 0, bot.output[-4000:]
    assert "Traceback" not in bot.output, bot.output[-4000:]


def test_a_conversation_over_long_polling(telegram: Emulator, one_bot: StartBot) -> None:
    bot = one_bot()
    a_creator_is_found_and_followed(telegram)

    state = telegram.state()
    assert state["webhook"] is None
    menu = [command["command"] for command in state["commands"]]
    assert {"start", "help", "creators", "follow", "register"} <= set(menu)
    assert "Telegram: @TestNameBot is up (polling)" in bot.output
    stops_cleanly(bot)


@pytest.mark.parametrize("secret", SECRETS)
def test_a_conversation_over_the_webhook(
    telegram: Emulator, one_bot: StartBot, secret: str | None
) -> None:
    port = free_port()
    bot = one_bot(webhook_port=port, secret=secret)
    webhook = telegram.state()["webhook"]
    assert webhook["url"] == f"http://127.0.0.1:{port}/webhooks/telegram"
    if secret is not None:
        assert webhook["secret_token"] == secret
    else:
        assert len(webhook["secret_token"]) >= 32  # made at start-up

    a_creator_is_found_and_followed(telegram)

    state = telegram.state()
    assert "getUpdates" not in state["calls"]
    assert {d["status"] for d in state["deliveries"]} == {200}
    assert len(state["deliveries"]) == 6
    assert "Telegram: @TestNameBot is up (webhook)" in bot.output
    stops_cleanly(bot)


@pytest.mark.parametrize("secret", SECRETS)
def test_the_webhook_refuses_updates_without_its_secret(
    telegram: Emulator, one_bot: StartBot, secret: str | None
) -> None:
    port = free_port()
    bot = one_bot(webhook_port=port, secret=secret)
    url = f"http://127.0.0.1:{port}/webhooks/telegram"
    registered = telegram.state()["webhook"]["secret_token"]
    forged = MALLORY.update(900_001, "/register Mallory | mallory@example.com | art")

    with httpx.Client(timeout=10, trust_env=False) as http:
        for headers in ({}, {SECRET_HEADER: "not-the-secret"}, {SECRET_HEADER: ""}):
            refused = http.post(url, json=forged, headers=headers)
            assert refused.status_code == 403, headers
        telegram.silent(MALLORY, seconds=1.0)

        accepted = http.post(
            url, json=MALLORY.update(900_002, "/start"), headers={SECRET_HEADER: registered}
        )
        assert accepted.status_code == 200

    # Had the forged /register been processed, Mallory would be welcomed back as a creator.
    welcome = telegram.reply(MALLORY)
    assert welcome.text.startswith("👋 Welcome to ONE, Mallory!")
    assert bot.output.count("refused a Telegram webhook call without the right secret token") == 3
    stops_cleanly(bot)
