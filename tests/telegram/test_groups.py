"""What the bot does not act on: group chatter, edits, other bots' commands, channel posts."""

from __future__ import annotations

import asyncio

from telegram import Update

from adapters.telegram_frontend.ordering import PerChatUpdateProcessor
from tests.telegram.bot_api import BOT_USER, RecordingBotApi, Updates
from tests.telegram.conftest import Feed

BOB, GROUP = 1002, -100500


async def test_groups_hear_only_commands_and_replies_to_the_bot(
    feed: Feed, updates: Updates, bot_api: RecordingBotApi
) -> None:
    await feed(updates.message(BOB, "nice weather today", chat_id=GROUP))
    await feed(updates.message(BOB, "", chat_id=GROUP, new_chat_members=[updates.user(7, "New")]))
    await feed(updates.message(BOB, "/follow@some_other_bot alice", chat_id=GROUP))
    assert bot_api.sent("sendMessage") == []

    await feed(updates.message(BOB, "/help@one_test_bot", chat_id=GROUP))
    assert "Here is what you can do" in bot_api.texts(GROUP)[-1]
    bot_message = updates.message(BOT_USER["id"], "…", chat_id=GROUP)["message"]
    bot_message["from"] = BOT_USER
    await feed(updates.message(BOB, "hello bot", chat_id=GROUP, reply_to_message=bot_message))
    assert "I answer commands" in bot_api.texts(GROUP)[-1]
    assert len(bot_api.sent("sendMessage")) == 2


async def test_edited_messages_and_channel_forwards_do_nothing(
    feed: Feed, updates: Updates, bot_api: RecordingBotApi
) -> None:
    edited = updates.message(BOB, "/start")
    edited["edited_message"] = {**edited.pop("message"), "edit_date": 1}
    await feed(edited)
    forward = updates.message(777000, "/start", chat_id=GROUP, is_automatic_forward=True)
    await feed(forward)
    channel = updates.message(BOB, "/start", chat_id=GROUP)
    channel["message"]["sender_chat"] = {"id": -100777, "type": "channel", "title": "News"}
    await feed(channel)
    assert [c.method for c in bot_api.calls if c.method != "getMe"] == []


async def test_a_flooding_chat_keeps_a_bounded_backlog_and_others_keep_going(
    updates: Updates,
) -> None:
    processor = PerChatUpdateProcessor(backlog=3)
    release = asyncio.Event()
    ran: list[str] = []

    async def job(name: str, wait: bool = False) -> None:
        if wait:
            await release.wait()
        ran.append(name)

    def update(user: int) -> Update:
        return Update.de_json(updates.message(user, "/x"), None)

    flood = [
        asyncio.create_task(processor.process_update(update(BOB), job(f"bob{i}", i == 0)))
        for i in range(6)
    ]
    await asyncio.sleep(0)
    await asyncio.wait_for(processor.process_update(update(7), job("other")), 1)
    release.set()
    await asyncio.gather(*flood)
    assert ran == ["other", "bob0", "bob1", "bob2"]  # three waited their turn, three dropped
