"""A fan talks to a creator's clone through the real router, database, LanceDB and a local
OpenAI-compatible server: what the bot sends the model, and what the fan sees."""

from __future__ import annotations

from tests.clones.conftest import API_KEY, Build, creator_alice, give_tokens
from tests.llm_server import LocalLLMServer
from tests.support import Chat

NOTES = (
    "/knowledge add My weekly planning ritual happens on Sunday evening: I write three goals "
    "and block two deep-work mornings. Friday afternoons are for admin."
)
REPLY = "I plan on Sunday evenings: three goals, two deep-work mornings. Try it this week!"


async def test_a_holder_gets_a_grounded_streamed_answer(
    build: Build, llm_server: LocalLLMServer
) -> None:
    app = await build(llm_server)
    chat = Chat(app.router)
    await creator_alice(chat, persona="Upbeat coach; short sentences.")
    await chat("alice", "/clone temperature 0.4")
    learned = await chat("alice", NOTES)
    assert learned.text.startswith("✅ Learned #")

    locked = await chat("bob", "/ask alice How do you plan your week?")
    assert "🔒 @alice's clone talks to holders of at least 1 $ALICE; you hold 0." in locked.text
    assert [b.data for b in locked.all_buttons] == ["/buy alice 1"]
    assert llm_server.chat_requests == []

    await give_tokens(app, "bob", "alice", 5)
    llm_server.script(REPLY, chunks=[REPLY[:20], REPLY[20:45], REPLY[45:]])
    bob = chat.responder("bob")
    edits_before = len(bob.edits)
    answer = await chat("bob", "/ask alice How do you plan your week?")
    assert bob.sent[-1].text == REPLY[:20]  # the first piece is shown as soon as it comes
    assert len(bob.edits) > edits_before  # … and the rest by editing that message
    assert answer.text.startswith(REPLY)
    assert "📚 From: My weekly planning ritual happens on Sunday evening\n" in answer.text
    assert "🪙 +10 $ALICE for this chat" in answer.text
    assert [b.data for b in answer.all_buttons] == ["/chat alice"]

    request = llm_server.last_chat
    assert request is not None
    body = request.body
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert body["model"] == "local-chat"
    assert body["stream"] is True
    assert body["temperature"] == 0.4
    system, question = body["messages"]
    assert system["role"] == "system"
    assert "Upbeat coach; short sentences." in system["content"]
    assert question["role"] == "user"
    assert "Sunday evening: I write three goals" in question["content"]
    assert "<message>\nHow do you plan your week?\n</message>" in question["content"]
    embedded = [r.body["input"] for r in llm_server.embedding_requests]
    assert ["How do you plan your week?"] in embedded  # hybrid search asked for the question

    balance = await chat("bob", "/balance")
    assert "15 $ALICE of @alice" in balance.text


async def test_a_chat_session_remembers_earlier_turns_until_end(
    build: Build, llm_server: LocalLLMServer
) -> None:
    app = await build(llm_server)
    chat = Chat(app.router)
    await creator_alice(chat)
    await give_tokens(app, "bob", "alice", 1)
    not_chatting = await chat("bob", "hello there")
    assert not_chatting.text.startswith("I answer commands.")
    started = await chat("bob", "/chat @alice")
    assert started.text.startswith("💬 You're chatting with @alice's AI clone.")
    llm_server.script("First answer.")
    first = await chat("bob", "What should I read?")
    assert first.text.startswith("First answer.")
    assert [b.data for b in first.all_buttons] == ["/end"]
    llm_server.script("Second answer.")
    await chat("bob", "And after that?")
    messages = llm_server.last_chat.body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "What should I read?" in messages[1]["content"]
    assert messages[2]["content"] == "First answer."
    ended = await chat("bob", "/end")
    assert ended.text == "👋 Your chat with @alice's clone has ended."
    after = await chat("bob", "still there?")
    assert after.text.startswith("I answer commands.")
    assert len(llm_server.chat_requests) == 2


async def test_without_a_model_the_clone_quotes_the_knowledge_and_says_it_is_offline(
    build: Build,
) -> None:
    app = await build()
    chat = Chat(app.router)
    await creator_alice(chat)
    await chat("alice", NOTES)
    await give_tokens(app, "bob", "alice", 1)
    answer = await chat("bob", "/ask alice when is the weekly planning ritual?")
    assert answer.text.startswith(
        "📚 Offline answer: no AI model is connected, so here is what @alice wrote about it:"
    )
    assert "“My weekly planning ritual happens on Sunday evening:" in answer.text
    assert "🪙 +10 $ALICE" in answer.text
    shown = await chat("alice", "/clone")
    assert "🧠 No AI model connected" in shown.text
    assert "📊 1 answer · 0 tokens charged · 10 rewarded" in shown.text


async def test_an_unreachable_model_falls_back_to_the_knowledge(
    build: Build, llm_server: LocalLLMServer
) -> None:
    app = await build(llm_server, ONE_BOT__LLM__MAX_RETRIES="0")
    chat = Chat(app.router)
    await creator_alice(chat)
    await chat("alice", NOTES)
    await give_tokens(app, "bob", "alice", 1)
    llm_server.always(fail_first=10**6)
    answer = await chat("bob", "/ask alice when is the weekly planning ritual?")
    assert answer.text.startswith("📚 The AI model is unreachable right now")
    assert "Sunday evening" in answer.text


async def test_cost_is_charged_and_a_fan_who_cannot_pay_is_shown_how_to_get_more(
    build: Build, llm_server: LocalLLMServer
) -> None:
    app = await build(llm_server)
    chat = Chat(app.router)
    await creator_alice(chat)
    await chat("alice", "/clone cost 3")
    await chat("alice", "/clone reward 0")
    await give_tokens(app, "bob", "alice", 4)
    answer = await chat("bob", "/ask alice hi")
    assert "🪙 −3 $ALICE for this answer" in answer.text
    locked = await chat("bob", "/ask alice again")
    assert "at least 3 $ALICE; you hold 1." in locked.text
    assert [b.data for b in locked.all_buttons] == ["/buy alice 2"]


async def test_creator_commands_refuse_strangers_and_bad_values(build: Build) -> None:
    app = await build()
    chat = Chat(app.router)
    await creator_alice(chat)
    stranger = await chat("bob", "/clone gate 0")
    assert stranger.text.startswith("⚠️ This is for creators.")
    for line, expected in [
        ("/clone gate lots", "“lots” is not a whole number from 0 to 1,000,000."),
        ("/clone temperature 3", "“3” is not a temperature"),
        ("/clone colour blue", "ℹ️ How to use it:"),
        ("/clone persona", "ℹ️ How to use it:"),
        ("/knowledge remove 999", "There is no knowledge item #999 of yours."),
        ("/knowledge frobnicate", "ℹ️ How to use it:"),
        ("/ask alice", "ℹ️ How to use it:"),
        ("/ask nobody hi", "No creator @nobody"),
        ("/end", "You're not chatting with a clone."),
    ]:
        reply = await chat("alice", line)
        assert expected in reply.text, (line, reply.text)
    shown = await chat("alice", "/clone")
    assert "Fans need 1 $ALICE to talk to it · an answer costs 0 · earns 10" in shown.text


async def test_a_flood_of_messages_is_slowed_down(build: Build) -> None:
    app = await build(ONE_BOT__CLONES__RATE_LIMIT="2")
    chat = Chat(app.router)
    await creator_alice(chat)
    await give_tokens(app, "bob", "alice", 1)
    await chat("bob", "/ask alice one")
    await chat("bob", "/ask alice two")
    third = await chat("bob", "/ask alice three")
    assert "⏳ That's 2 messages in 60 seconds, the most clones take." in third.text
