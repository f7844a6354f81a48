"""A /chat session on Discord: the slash command opens it, plain DMs go to the clone (here
without a model: it quotes the creator's knowledge), /end closes it."""

from __future__ import annotations

import pytest

from bot import bootstrap
from core.model import UserRef
from core.purchases import Money, PaymentReceived
from tests.discord_frontend.conftest import answers, gateway_for
from tests.discord_frontend.gateway import Gateway, Person
from tests.support import Chat

BOB = Person(1_000_000_000_000_041, "bob")
NOTES = (
    "/knowledge add My weekly planning ritual happens on Sunday evening: I write three goals "
    "and block two deep-work mornings."
)


async def test_plain_dms_go_to_the_clone_during_a_chat(
    sqlite_app: bootstrap.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, chat = sqlite_app, Chat(sqlite_app.router)
    await chat("alice", "/register Alice Smith | alice@example.com | fitness")
    await chat("alice", "/token ALICE 0.50")
    await chat("alice", NOTES)
    # Bob, on Discord, holds a token of Alice's: bought and paid by card.
    bob = UserRef("discord", str(BOB.id), name="Bob", chat_id=str(BOB.id))
    checkout = await app.services.purchases.start(bob, "alice", "1", "discord")
    purchase = checkout.purchase
    paid = PaymentReceived("card", "evt_1", purchase.id, "pi_1", Money("usd", purchase.price_cents))
    outcome = await app.services.purchases.payment_received(paid)
    await app.services.saga.advance(purchase.id, outcome.purchase)

    gateway = await gateway_for(app.router, app, monkeypatch)
    try:
        gateway.feed(gateway.command(BOB, "chat", handle="alice"))
        [opened] = await answers(gateway)
        assert "Write to me in a direct message" in opened.text  # opened in a server
        gateway.dm(BOB, "when is the weekly planning ritual?")
        await gateway.until(lambda: any("Sunday evening" in m for m in _dm_texts(gateway)))
        gateway.feed(gateway.command(BOB, "end"))
        [ended] = await answers(gateway)
        before = len(gateway.dms)
        gateway.dm(BOB, "and on Fridays?")  # no session any more: a hint, not the clone
        await gateway.until(lambda: len(gateway.dms) > before)
        assert "/help" in gateway.dms[-1][1]["content"]
        assert ended.text == "👋 Your chat with @alice's clone has ended."
    finally:
        await gateway.frontend.client.close()


def _dm_texts(gateway: Gateway) -> list[str]:
    """What reached Bob's DMs, sent or edited in place (a streamed answer grows by edits)."""
    return [str(p.get("content") or "") for _, p in [*gateway.dms, *gateway.dm_edits]]
