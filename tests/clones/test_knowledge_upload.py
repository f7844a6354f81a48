"""Documents sent to the bot become knowledge: in the conversation and through Telegram."""

from __future__ import annotations

from telegram import Update

from adapters.telegram_frontend.frontend import TelegramFrontend
from bot import bootstrap
from tests.clones.conftest import Build, creator_alice, give_tokens
from tests.support import Chat
from tests.telegram.bot_api import RecordingBotApi, Updates

GUIDE = "# Morning routine\n\n" + "\n\n".join(
    f"Step {n}: drink water, stretch for {n} minutes, then write one page." for n in range(1, 60)
)


async def test_a_document_is_learned_with_progress_listed_and_removed(build: Build) -> None:
    app = await build(ONE_BOT__KNOWLEDGE__CHUNK_CHARACTERS="300")
    chat = Chat(app.router)
    await creator_alice(chat)
    alice = chat.responder("alice")
    alice.stream_every = 0.0  # show every progress step
    learned = await chat.send_file("alice", "routine.md", GUIDE.encode(), "text/markdown")
    assert alice.sent[-1].text == "📥 Reading routine.md…"
    progress = [reply.text for _, reply in alice.edits if "%" in reply.text]
    assert progress
    assert progress[0].startswith("📥 Learning routine.md: 0%")
    assert learned.text.startswith("✅ Learned #")
    assert "“routine.md”" in learned.text
    listed = await chat("alice", "/knowledge list")
    assert "routine.md — " in listed.text
    assert "· md" in listed.text
    item = learned.text.split("#", 1)[1].split(" ", 1)[0]

    await give_tokens(app, "bob", "alice", 1)
    answer = await chat("bob", "/ask alice how long do you stretch in step 7?")
    assert "stretch for 7 minutes" in answer.text

    removed = await chat("alice", f"/knowledge remove {item}")
    assert removed.text == f"🗑 Forgot #{item} “routine.md”."
    assert (await chat("alice", "/knowledge")).text.startswith("Your clone knows nothing yet.")
    gone = await chat("bob", "/ask alice how long do you stretch in step 7?")
    assert "hasn't written anything about that yet" in gone.text


async def test_files_that_cannot_be_learned_get_a_clear_reply(build: Build) -> None:
    app = await build(ONE_BOT__KNOWLEDGE__MAX_FILE_MB="1")
    chat = Chat(app.router)
    await creator_alice(chat)
    fan = await chat.send_file("bob", "notes.txt", b"hello", "text/plain")
    assert fan.text.startswith("Thanks! Files teach a creator's clone")
    song = await chat.send_file("alice", "song.mp3", b"ID3....", "audio/mpeg")
    assert "I can't learn from song.mp3: send a .txt, .md or .pdf file" in song.text
    big = await chat.send_file("alice", "big.txt", b"a" * (2 << 20), "text/plain")
    assert big.text == "⚠️ big.txt is too large: send files up to 1 MB."
    binary = await chat.send_file("alice", "photo.txt", bytes(range(256)) * 40, "text/plain")
    assert "I couldn't read any text in photo.txt" in binary.text
    broken = await chat.send_file("alice", "broken.pdf", b"%PDF-1.7\nnot really", None)
    assert "I couldn't read any text in broken.pdf" in broken.text
    assert (await chat("alice", "/knowledge")).text.startswith("Your clone knows nothing yet.")


async def test_a_document_sent_on_telegram_is_downloaded_and_learned(build: Build) -> None:
    app: bootstrap.App = await build(ONE_BOT__TELEGRAM__TOKEN="4242:TEST")
    bot_api = RecordingBotApi()
    frontend: TelegramFrontend = bootstrap.telegram_frontend(app, request=bot_api)
    updates = Updates()
    alice_id = 501
    async with frontend.application:
        for line in ("/register Alice | alice@example.com | fitness", "/token ALICE 1"):
            update = Update.de_json(updates.message(alice_id, line, name="Alice"), frontend.bot)
            await frontend.application.process_update(update)
        bot_api.files["doc-1"] = GUIDE.encode()
        document = {
            "file_id": "doc-1",
            "file_unique_id": "udoc-1",
            "file_name": "routine.md",
            "mime_type": "text/markdown",
            "file_size": len(GUIDE),
        }
        sent = updates.message(alice_id, "", name="Alice", document=document)
        await frontend.application.process_update(Update.de_json(sent, frontend.bot))
    methods = [c.method for c in bot_api.calls]
    assert "getFile" in methods
    assert "downloadFile" in methods
    shown = [str(c.params.get("text", "")) for c in bot_api.calls if c.chat_id == alice_id]
    assert any(text.startswith("📥 Reading routine.md") for text in shown)
    assert any(text.startswith("✅ Learned #") for text in shown)
