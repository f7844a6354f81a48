"""Where the new commands are used, and with what: a /link code is never shown in a group,
/gate says where it belongs before it reads its arguments, /knowledge remove wants a number."""

from __future__ import annotations

from bot import bootstrap
from bot.conversation import Incoming
from tests.support import Chat, RecordingResponder


async def test_a_link_code_is_not_shown_in_a_group(sqlite_app: bootstrap.App) -> None:
    responder = RecordingResponder(chat_id="group-1")
    group = Incoming("test", "bob", "group-1", name="Bob", text="/link", is_private=False)
    await sqlite_app.router.dispatch(group, responder)
    [reply] = responder.sent
    assert reply.text.startswith("Send /link in a private chat with me")
    assert "Your code" not in reply.text


async def test_gate_outside_a_server_and_knowledge_ids(chat: Chat) -> None:
    await chat("alice", "/register Alice | alice@example.com | fitness")
    for line in ("/gate @Fans 100", "/gate 123 abc"):
        assert "Use /gate in your Discord server" in (await chat("alice", line)).text, line
    assert (await chat("alice", "/knowledge remove abc")).text.startswith("ℹ️ How to use it:")
