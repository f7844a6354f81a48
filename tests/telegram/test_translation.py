"""Every command family on Telegram: real Update JSON in, the Bot API calls that come out."""

from __future__ import annotations

import asyncio

import pytest
from telegram.error import BadRequest

from adapters.telegram_frontend.frontend import TelegramFrontend
from adapters.telegram_frontend.responder import TelegramResponder
from bot import bootstrap
from bot.conversation import Button, Media, Reply
from tests.telegram.bot_api import RecordingBotApi, Updates
from tests.telegram.conftest import Feed

ALICE, BOB, CAROL = 1001, 1002, 1003


def buttons(call_params: dict[str, object]) -> list[tuple[str, str]]:
    markup = call_params.get("reply_markup")
    assert isinstance(markup, dict)
    return [
        (b["text"], b.get("callback_data") or b.get("url"))
        for row in markup["inline_keyboard"]
        for b in row
    ]


async def test_start_answers_with_a_welcome_and_buttons(
    feed: Feed, updates: Updates, bot_api: RecordingBotApi
) -> None:
    await feed(updates.message(BOB, "/start"))
    [welcome] = bot_api.sent("sendMessage", BOB)
    assert welcome.params["parse_mode"] == "HTML"
    assert "Welcome to ONE, Bob!" in welcome.params["text"]
    assert buttons(welcome.params) == [
        ("🔎 Discover creators", "/creators"),
        ("❓ Help", "/help"),
    ]


async def test_typing_shows_while_a_slow_command_runs_and_stops_with_the_answer(
    telegram: TelegramFrontend, bot_api: RecordingBotApi
) -> None:
    bot = telegram.application.bot
    slow = TelegramResponder(bot, BOB, typing_grace=0.0)
    await slow.typing()
    await asyncio.sleep(0.05)  # the command is still working…
    await slow.send(Reply("done"))
    methods = [c.method for c in bot_api.calls if c.chat_id == BOB]
    assert methods == ["sendChatAction", "sendMessage"]
    assert bot_api.sent("sendChatAction")[0].params["action"] == "typing"

    quick = TelegramResponder(bot, CAROL, typing_grace=0.3)
    await quick.typing()
    await quick.send(Reply("done at once"))
    await asyncio.sleep(0.35)
    assert bot_api.sent("sendChatAction", CAROL) == []  # a quick answer needs no indicator


async def test_register_discover_press_buttons_follow(
    feed: Feed, updates: Updates, bot_api: RecordingBotApi
) -> None:
    await feed(updates.message(ALICE, "/register Alice <Smith> & Co | alice@example.com | fitness"))
    assert "You're a creator now: Alice &lt;Smith&gt; &amp; Co (@alice)" in bot_api.texts(ALICE)[-1]

    await feed(updates.message(BOB, "/creators fitness"))
    listing = bot_api.sent("sendMessage", BOB)[-1]
    assert buttons(listing.params) == [("@alice · 0 followers", "/creator alice")]

    await feed(updates.button(BOB, "/creator alice"))
    [answered] = bot_api.sent("answerCallbackQuery")
    assert answered.params["callback_query_id"].startswith("cb")
    profile = bot_api.sent("sendMessage", BOB)[-1]
    assert buttons(profile.params) == [("➕ Follow", "/follow alice")]

    await feed(updates.button(BOB, "/follow alice"))
    assert "You now follow Alice &lt;Smith&gt; &amp; Co (@alice)" in bot_api.texts(BOB)[-1]
    await feed(updates.message(BOB, "/following@one_test_bot"))
    assert "(@alice) — 1 follower" in bot_api.texts(BOB)[-1]


async def test_creator_admin_and_refusals(
    feed: Feed, updates: Updates, bot_api: RecordingBotApi
) -> None:
    await feed(updates.message(ALICE, "/register Alice | alice@example.com | fitness"))
    await feed(updates.message(ALICE, "/profile bio Runner <3"))
    assert "Runner &lt;3" in bot_api.texts(ALICE)[-1]
    await feed(updates.message(BOB, "/events"))
    assert "This is for creators" in bot_api.texts(BOB)[-1]
    await feed(updates.message(BOB, "/follow nobody"))
    assert "No creator @nobody" in bot_api.texts(BOB)[-1]
    await feed(updates.message(BOB, "/frobnicate"))
    assert "I don't know /frobnicate" in bot_api.texts(BOB)[-1]
    await feed(updates.message(BOB, "/follow"))
    assert "How to use it:\n/follow HANDLE" in bot_api.texts(BOB)[-1]


async def test_deep_link_opens_the_creator(
    feed: Feed, updates: Updates, bot_api: RecordingBotApi
) -> None:
    await feed(updates.message(ALICE, "/register Alice | alice@example.com | fitness"))
    await feed(updates.message(BOB, "/start alice"))
    [reply] = bot_api.sent("sendMessage", BOB)
    assert "Here is the creator you came for" in reply.params["text"]
    assert "Alice (@alice)" in reply.params["text"]
    assert buttons(reply.params) == [("➕ Follow", "/follow alice")]
    await feed(updates.message(BOB, "/start no-such-creator"))
    assert "Welcome to ONE, Bob!" in bot_api.texts(BOB)[-1]


async def test_documents_and_plain_text(
    feed: Feed, updates: Updates, bot_api: RecordingBotApi
) -> None:
    await feed(updates.document(BOB, "notes.txt", 1200))
    assert "Files teach a creator's clone" in bot_api.texts(BOB)[-1]
    await feed(updates.message(BOB, "hello"))
    assert "I answer commands" in bot_api.texts(BOB)[-1]


async def test_pre_checkout_for_an_unknown_purchase_is_refused(
    feed: Feed, updates: Updates, bot_api: RecordingBotApi
) -> None:
    await feed(updates.pre_checkout(BOB, "purchase:404"))
    [answer] = bot_api.sent("answerPreCheckoutQuery")
    assert answer.params["ok"] is False
    assert answer.params["error_message"]  # the router's words; tests/telegram/test_payments.py


async def test_command_menu_comes_from_the_command_list(
    tg_app: bootstrap.App, bot_api: RecordingBotApi
) -> None:
    frontend = bootstrap.telegram_frontend(tg_app, request=bot_api)
    async with frontend.application:
        await frontend.register_commands()
    [menu] = bot_api.sent("setMyCommands")
    names = [c["command"] for c in menu.params["commands"]]
    assert names == [c.name for c in tg_app.router.commands]
    assert {"start", "help", "creators", "follow", "register", "profile", "events"} <= set(names)


async def test_an_unexpected_failure_is_logged_and_answered(
    feed: Feed, updates: Updates, bot_api: RecordingBotApi, tg_app: bootstrap.App
) -> None:
    assert tg_app.database is not None
    await tg_app.database.dispose()  # the database is gone: every command now fails
    await feed(updates.message(BOB, "/following"))
    assert "Sorry, something went wrong on our side" in bot_api.texts(BOB)[-1]


async def test_files_edits_and_long_text(
    telegram: TelegramFrontend, bot_api: RecordingBotApi
) -> None:
    responder = TelegramResponder(telegram.application.bot, BOB)
    chart = Media("image", b"\x89PNG...", "stats.png")
    await responder.send(Reply("Your <week>", media=chart))
    [photo] = bot_api.sent("sendPhoto", BOB)
    assert photo.params["caption"] == "Your &lt;week&gt;"
    report = Media("document", b"%PDF-1.7", "report.pdf")
    await responder.send(Reply("Report", ((Button("Open", url="https://example.com"),),), report))
    [document] = bot_api.sent("sendDocument", BOB)
    assert buttons(document.params) == [("Open", "https://example.com")]

    ref = await responder.send(Reply("⏳ 1 of 3"))
    await responder.edit(ref, Reply("⏳ 2 of 3"))
    [edit] = bot_api.sent("editMessageText", BOB)
    assert (str(edit.params["message_id"]), edit.params["text"]) == (ref.message_id, "⏳ 2 of 3")

    same = "Bad Request: message is not modified: specified new message content is the same"
    bot_api.fail("editMessageText", BOB, 400, description=same)
    await responder.edit(ref, Reply("⏳ 2 of 3"))  # a repeated progress step is no failure
    bot_api.fail("editMessageText", BOB, 400, description="Bad Request: message to edit not found")
    with pytest.raises(BadRequest):
        await responder.edit(ref, Reply("⏳ 3 of 3"))

    await responder.send(Reply("&" * 5000))
    long_text = bot_api.texts(BOB)[-1]
    assert len(long_text) <= 4096
    assert long_text.endswith("&amp;…")
