"""The whole conversation end to end: router → services → a real SQLite file."""

from __future__ import annotations

import logging

import pytest

from bot.conversation import Incoming, Reply, Router
from bot.conversation.context import Command, Context
from tests.snapshots import SnapshotFn
from tests.support import Chat, RecordingResponder

REGISTER_ALICE = "/register Alice Smith | alice@example.com | Fitness, cooking"


async def test_newcomer_journey_register_discover_follow_edit_unfollow(chat: Chat) -> None:
    welcome = await chat("bob", "/start")
    assert "Welcome to ONE, Bob" in welcome.text
    assert [b.data for b in welcome.all_buttons] == ["/creators", "/help"]

    done = await chat("alice", REGISTER_ALICE)
    assert "@alice" in done.text
    assert "/creator alice" in done.text

    listing = await chat("bob", "/creators fitness")
    assert "Alice Smith (@alice) — 0 followers · fitness, cooking" in listing.text
    profile = await chat.press("bob", "@alice")
    assert profile.text.startswith("Alice Smith (@alice)")
    assert [b.label for b in profile.all_buttons] == ["➕ Follow"]

    followed = await chat.press("bob", "Follow")
    assert "You now follow Alice Smith (@alice). They have 1 follower." in followed.text
    assert "✅ You follow this creator." in (await chat("bob", "/creator @Alice")).text
    assert "• Alice Smith (@alice) — 1 follower" in (await chat("bob", "/following")).text

    edited = await chat("alice", "/profile bio Coach. Runner. 🏃")
    assert "✅ Profile updated." in edited.text
    assert "Coach. Runner. 🏃" in edited.text
    edited = await chat("alice", "/profile niche Running,  fitness ,running")
    assert "Niches: running, fitness" in edited.text
    edited = await chat("alice", "/profile avatar https://example.com/a.png")
    assert "🖼 https://example.com/a.png" in edited.text
    assert "No creators in “cooking” yet" in (await chat("bob", "/creators cooking")).text

    activity = await chat("alice", "/events")
    assert "Bob followed you" in activity.text
    assert "profile updated (avatar_url)" in activity.text

    await chat("bob", "/creator alice")
    gone = await chat.press("bob", "Unfollow")
    assert "You no longer follow Alice Smith" in gone.text
    assert "0 followers" in (await chat("bob", "/creator alice")).text
    assert "You don't follow anyone yet" in (await chat("bob", "/following")).text


async def test_every_command_shows_the_working_state_then_one_reply(chat: Chat) -> None:
    for line in ("/start", "/help", "/creators", "/creator nobody", "/follow", "/following"):
        before = chat.responder("carol").typing_calls
        await chat("carol", line)
        assert chat.responder("carol").typing_calls == before + 1, line


async def test_help_lists_what_this_person_may_use(chat: Chat) -> None:
    fan_help = await chat("bob", "/help")
    assert "/follow HANDLE" in fan_help.text
    assert "/register NAME" in fan_help.text
    assert "/events" not in fan_help.text
    await chat("alice", REGISTER_ALICE)
    creator_help = await chat("alice", "/help")
    assert "For creators (@alice)" in creator_help.text
    assert "/events" in creator_help.text
    assert "/register NAME" not in creator_help.text


async def test_commands_accept_bot_suffix_and_case(chat: Chat) -> None:
    await chat("alice", REGISTER_ALICE)
    reply = await chat("bob", "/CREATOR@one_bot alice")
    assert reply.text.startswith("Alice Smith (@alice)")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/nope", "I don't know /nope. Send /help"),
        ("hello there", "I answer commands"),
        ("/", "I answer commands"),
        ("/creator", "How to use it:\n/creator HANDLE"),
        ("/follow", "How to use it:\n/follow HANDLE"),
        ("/unfollow", "How to use it:\n/unfollow HANDLE"),
        ("/register", "How to use it:\n/register NAME | EMAIL | NICHE, NICHE"),
        ("/register Alice | alice@example.com", "How to use it:\n/register"),
        ("/register Alice | a@x.io | fit | extra", "How to use it:\n/register"),
        ("/register  | alice@example.com | fitness", "Please give a name"),
        ("/register Alice |  | fitness", "Please give an email address"),
        ("/register Alice | alice@ | fitness", "“alice@” is not a valid email address"),
        ("/register Alice | alice.example.com | fitness", "not a valid email address"),
        ("/register Alice | a@b@c.com | fitness", "not a valid email address"),
        ("/register Alice | alice@example.com |  ,  ", "at least one niche"),
        ("/register Alice | a@x.io | " + ",".join(f"n{i}" for i in range(11)), "11 niches"),
        ("/register Alice | a@x.io | <script>", "is not a valid niche"),
        ("/register " + "A" * 5000 + " | a@x.io | fit", "The name is too long (5000 characters)"),
        ("/register Alice | " + "a" * 5000 + "@x.io | fit", "not a valid email address"),
        ("/creator " + "a" * 5000, "is not a handle"),
        ("/follow nobody", "No creator @nobody"),
        ("/follow 🙂", "is not a handle"),
        ("/creator robert'); DROP TABLE entities;--", "is not a handle"),
        ("/follow ' OR 1=1 --", "is not a handle"),
        ("/creators ' OR '1'='1", "is not a valid niche"),
        ("/creators " + "x" * 5000, "is not a valid niche"),
        ("/profile", "This is for creators"),
        ("/profile bio Hello", "This is for creators"),
        ("/events", "This is for creators"),
        ("/unfollow alice", "No creator @alice"),
    ],
)
async def test_bad_input_gets_a_clear_reply_and_writes_nothing(
    chat: Chat, line: str, expected: str, snapshot: SnapshotFn
) -> None:
    await chat("bob", "/start")
    before = await snapshot()
    reply = await chat("bob", line)
    assert expected in reply.text
    assert "Sorry, something went wrong" not in reply.text
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/register Alice | ALICE@example.COM | art", "You're already registered as @alice"),
        ("/register Alice | new@example.com | art", "You're already registered as @alice"),
        ("/follow alice", "you can't follow yourself"),
        ("/profile bio " + "b" * 5000, "The bio is too long (5000 characters); the limit is 500"),
        ("/profile niche", "How to use it:\n/profile"),
        ("/profile colour red", "How to use it:\n/profile"),
        ("/profile avatar javascript:alert(1)", "is not a web link"),
        ("/profile avatar https://exa mple.com/x.png", "is not a web link"),
        ("/profile niche " + ", ".join(f"n{i}" for i in range(11)), "11 niches"),
        ("/profile bio \x00\x07", "characters that can't be shown"),
    ],
)
async def test_bad_creator_input_is_refused_and_nothing_changes(
    chat: Chat, line: str, expected: str, snapshot: SnapshotFn
) -> None:
    await chat("alice", REGISTER_ALICE)
    before = await snapshot()
    reply = await chat("alice", line)
    assert expected in reply.text
    assert await snapshot() == before


async def test_duplicate_email_from_someone_else(chat: Chat, snapshot: SnapshotFn) -> None:
    await chat("alice", REGISTER_ALICE)
    await chat("mallory", "/start")
    before = await snapshot()
    reply = await chat("mallory", "/register Mallory | ALICE@Example.com | fitness")
    assert "The email alice@example.com is already registered. Use another one." in reply.text
    assert await snapshot() == before


async def test_unicode_and_sql_looking_text_is_stored_literally(chat: Chat) -> None:
    done = await chat("zoe", "/register Zoë 🎨 O'Brien; DROP TABLE x | zoe@example.com | art")
    assert "Zoë 🎨 O'Brien; DROP TABLE x (@zoe)" in done.text
    bio = "Robert'); DROP TABLE entities;-- 你好"
    await chat("zoe", f"/profile bio {bio}")
    profile = await chat("bob", "/creator zoe")
    assert bio in profile.text


async def test_unexpected_errors_are_logged_and_answered_with_an_apology(
    chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode(ctx: Context) -> Reply:
        raise RuntimeError("database password is hunter2")

    router = Router(chat.router._services, [Command("boom", explode)])
    responder = RecordingResponder()
    with caplog.at_level(logging.ERROR):
        await router.dispatch(Incoming("test", "u1", "c1", text="/boom"), responder)
    [reply] = responder.sent
    assert "Sorry, something went wrong" in reply.text
    assert "hunter2" not in reply.text
    assert "hunter2" in caplog.text
    assert "Traceback" in caplog.text


async def test_a_stale_button_is_answered(chat: Chat) -> None:
    reply = await chat.router.dispatch(
        Incoming("test", "bob", "bob", button="not-a-command"), chat.responder("bob")
    )
    assert reply is not None
    assert "no longer works" in chat.responder("bob").sent[-1].text


async def test_tokens_wallets_and_balance(chat: Chat) -> None:
    assert "This is for creators" in (await chat("alice", "/token ALICE 1.50")).text
    await chat("alice", REGISTER_ALICE)
    created = await chat("alice", "/token alice 1.50")
    assert "🪙 $ALICE is live: $1.50 a token." in created.text
    assert "Contract: 0x" in created.text
    assert "already have a token: $ALICE" in (await chat("alice", "/token MORE 2")).text
    assert "How to use it:\n/token SYMBOL PRICE_USD" in (await chat("alice", "/token X")).text
    assert "is not a price" in (await chat("alice", "/token ALICE -1")).text

    wallet = await chat("bob", "/wallet")
    assert wallet.text.startswith("👛 Your wallet (kept for you by ONE): 0x")
    assert "You hold no tokens yet" in (await chat("bob", "/balance")).text
    assert "is not a wallet address" in (await chat("bob", "/wallet 0x123")).text
    challenge = await chat("bob", "/wallet 0x" + "ab" * 20)
    assert "sign this exact message" in challenge.text
    refused = await chat("bob", f"/wallet 0x{'ab' * 20} 0xdeadbeef")
    assert "Nothing was linked" in refused.text


async def test_a_bio_may_start_on_a_new_line(chat: Chat) -> None:
    await chat("alice", REGISTER_ALICE)
    edited = await chat("alice", "/profile bio\nI coach runners.\nSince 2019.")
    assert "I coach runners.\nSince 2019." in edited.text
