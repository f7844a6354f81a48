"""Journeys through the router on SQLite: /journey for fans and creators, /stop, /rate, a
reply to the hook's question, and a share link that rewards the fan who shared it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import bootstrap
from tests.support import Chat

NOW = datetime.now(UTC)


async def alice_with_follower(chat: Chat, app: bootstrap.App) -> None:
    await chat("alice", "/register Alice | alice@example.com | fitness")
    await chat("alice", "/token ALICE 1")
    await chat("bob", "/follow alice")
    assert await app.services.journey_engine.tick() == 1  # the hook is due at once


async def test_a_fan_sees_where_the_journey_stands_and_can_stop_it(
    chat: Chat, sqlite_app: bootstrap.App
) -> None:
    assert (await chat("bob", "/journey")).text.startswith("You have no journeys yet")
    await alice_with_follower(chat, sqlite_app)
    shown = await chat("bob", "/journey")
    assert shown.text.startswith(
        "🧭 Your journeys:\n• @alice: step 2 of 9 — next: your insights report"
    )
    stopped = await chat("bob", "/stop alice")
    assert stopped.text == "🔕 No more journey messages from @alice. You still follow them."
    assert "@alice: stopped (you opted out)" in (await chat("bob", "/journey")).text
    assert (await chat("bob", "/stop")).text == "You have no journey running. Nothing to stop."
    assert "No creator @nobody" in (await chat("bob", "/stop nobody")).text


async def test_a_reply_to_the_hook_gets_an_analysis_and_lands_in_the_report(
    chat: Chat, sqlite_app: bootstrap.App
) -> None:
    await alice_with_follower(chat, sqlite_app)
    await chat("alice", "/knowledge add For a first marathon, build mileage slowly: 10% a week.")
    reply = await chat("bob", "I want to run my first marathon")
    assert reply.text.startswith("🔎 Here is what @alice wrote that fits your goals:")
    assert "build mileage slowly" in reply.text
    again = await chat("bob", "and something else")
    assert again.text.startswith("I answer commands.")  # the question was answered once


async def test_a_creator_shows_and_adjusts_the_journey(chat: Chat) -> None:
    await chat("alice", "/register Alice | alice@example.com | fitness")
    shown = await chat("alice", "/journey")
    assert shown.text.startswith("🧭 The journey of @alice")
    assert "2. gift — after 24 h" in shown.text
    assert (await chat("alice", "/journey gift wait 12")).text.startswith("✅ The wait of “gift”")
    assert "2. gift — after 12 h" in (await chat("alice", "/journey")).text
    changed = await chat("alice", "/journey hook text What brings you here, {name}-fan?")
    assert changed.text.startswith("✅ The text of “hook”")
    assert "What brings you here, {name}-fan?" in (await chat("alice", "/journey")).text
    for line, expected in [
        ("/journey party wait 2", "“party” is not a step."),
        ("/journey gift wait forever", "“forever” is not a wait"),
        ("/journey gift wait -1", "“-1” is not a wait"),
        ("/journey gift colour red", "ℹ️ How to use it:"),
    ]:
        assert expected in (await chat("alice", line)).text, line
    assert (await chat("alice", "/journey off")).text.startswith("✅ Your journey no longer")
    assert "Off: new followers" in (await chat("alice", "/journey")).text


async def test_ratings_are_checked_and_recorded(chat: Chat, sqlite_app: bootstrap.App) -> None:
    await alice_with_follower(chat, sqlite_app)
    early = await chat("bob", "/rate alice 5")
    assert "You can rate @alice once their journey asks you to" in early.text
    async with sqlite_app.services.journeys._uow() as uow:
        found = await uow.identities.find("test", "bob")
        assert found is not None
        [run] = await uow.journeys.of_fan(found.user_id)
        await uow.journeys.update(run.id, {"step": 8}, NOW)  # the understand step asked
        await uow.commit()
    rated = await chat("bob", "/rate alice 5")
    assert rated.text.startswith("🙏 Thanks! You rated @alice ⭐⭐⭐⭐⭐.")
    assert "is not a whole number from 1 to 5" in (await chat("bob", "/rate alice 9")).text


async def test_a_share_link_rewards_the_fan_who_shared_it_once_they_follow(
    chat: Chat, sqlite_app: bootstrap.App
) -> None:
    await alice_with_follower(chat, sqlite_app)
    async with sqlite_app.services.journeys._uow() as uow:
        found = await uow.identities.find("test", "bob")
        assert found is not None
        [run] = await uow.journeys.of_fan(found.user_id)
        # Bob reached the share step: his link carries the code it made.
        await uow.journeys.update(run.id, {"data": {"ref": "c0ffee"}}, run.created_at or NOW)
        await uow.commit()
    guessed = await chat("erin", f"/start ref-{run.id}")  # no code: a guessed link pays nothing
    assert guessed.text.startswith("👋 Welcome to ONE")
    await chat("erin", "/follow alice")
    welcome = await chat("carol", f"/start ref-{run.id}-c0ffee")
    assert "Alice (@alice)" in welcome.text
    assert "25 $ALICE" not in (await chat("bob", "/balance")).text  # a visit alone pays nothing
    await chat("carol", f"/start ref-{run.id}-c0ffee")  # again: not a new person any more
    await chat("bob", f"/start ref-{run.id}-c0ffee")  # the sharer themself: nothing
    await chat("carol", "/follow alice")  # the new fan follows: Bob is rewarded
    assert "25 $ALICE of @alice" in (await chat("bob", "/balance")).text
    await chat("carol", "/unfollow alice")
    await chat("carol", "/follow alice")  # following again pays nothing more
    await chat("bob", "/follow alice")
    balance = await chat("bob", "/balance")
    assert "25 $ALICE of @alice" in balance.text
    unknown = await chat("dave", "/start ref-999999-abc")
    assert unknown.text.startswith("👋 Welcome to ONE")
