"""/link on fakes: one person's accounts on two platforms joined by a one-time code."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.conversation.context import Services
from core.errors import (
    LinkAlreadyLinked,
    LinkCodeExpired,
    LinkCodeInvalid,
    LinkOwnCode,
    LinkSamePlatform,
    LinkWouldLoseData,
)
from core.model import EventType, UserRef
from tests.fakes import FakeClock, FakeStore
from tests.services.test_purchases import alice_token
from tests.services_support import BOB, CAROL, user_id_of

BOB_ON_DISCORD = UserRef("discord", "4242", name="Bob", chat_id="4242")


async def test_a_code_joins_the_other_account_once(services: Services, store: FakeStore) -> None:
    await alice_token(services)
    await services.follows.follow(BOB, "alice")
    made = await services.links.code(BOB)
    linked = await services.links.link(BOB_ON_DISCORD, made.code[:4] + "-" + made.code[4:].lower())
    assert linked.platform == "test"
    bob = user_id_of(store, BOB)
    assert store.identities["discord", "4242"].user_id == bob
    following = await services.follows.following(BOB_ON_DISCORD)
    assert [creator.handle for creator in following] == ["alice"]
    [event] = [e for e in store.events.values() if e.type == EventType.IDENTITY_LINKED]
    assert (event.entity_id, event.metadata["platform"]) == (bob, "discord")

    carol_on_discord = UserRef("discord", "4343", name="Carol", chat_id="4343")
    with pytest.raises(LinkCodeInvalid):  # used: it works once
        await services.links.link(carol_on_discord, made.code)


async def test_wrong_expired_and_misplaced_codes_change_nothing(
    services: Services, store: FakeStore, clock: FakeClock
) -> None:
    made = await services.links.code(BOB)
    for wrong in ("", "nope", "ABCD-EFG0", "ZZZZ-ZZZZ"):  # 0 is not in codes
        with pytest.raises(LinkCodeInvalid):
            await services.links.link(BOB_ON_DISCORD, wrong)
    with pytest.raises(LinkOwnCode):
        await services.links.link(BOB, made.code)
    with pytest.raises(LinkSamePlatform):
        await services.links.link(CAROL, made.code)
    clock.advance(timedelta(minutes=10))
    with pytest.raises(LinkCodeExpired):
        await services.links.link(BOB_ON_DISCORD, made.code)
    assert ("discord", "4242") not in store.identities  # each refusal rolled back
    assert not [e for e in store.events.values() if e.type == EventType.IDENTITY_LINKED]


async def test_an_account_with_its_own_follows_is_not_merged_away(
    services: Services, store: FakeStore
) -> None:
    await alice_token(services)
    await services.follows.follow(BOB_ON_DISCORD, "alice")
    made = await services.links.code(BOB)
    with pytest.raises(LinkWouldLoseData):
        await services.links.link(BOB_ON_DISCORD, made.code)
    # The other way round works: Bob on Telegram has nothing of his own yet.
    other_way = await services.links.code(BOB_ON_DISCORD)
    assert (await services.links.link(BOB, other_way.code)).platform == "discord"
    assert store.identities["test", "bob"].user_id == store.identities["discord", "4242"].user_id


async def test_a_new_code_ends_the_earlier_one_and_one_account_per_platform(
    services: Services,
) -> None:
    first = await services.links.code(BOB)
    second = await services.links.code(BOB)
    with pytest.raises(LinkCodeInvalid):
        await services.links.link(BOB_ON_DISCORD, first.code)
    await services.links.link(BOB_ON_DISCORD, second.code)
    another_discord = UserRef("discord", "4444", name="Bob too", chat_id="4444")
    third = await services.links.code(BOB)
    with pytest.raises(LinkAlreadyLinked):  # Bob has a Discord account joined already
        await services.links.link(another_discord, third.code)


async def test_a_purchase_started_is_not_merged_away(services: Services) -> None:
    await alice_token(services)
    await services.purchases.start(BOB_ON_DISCORD, "alice", "10", "discord")
    made = await services.links.code(BOB)
    with pytest.raises(LinkWouldLoseData):
        await services.links.link(BOB_ON_DISCORD, made.code)
