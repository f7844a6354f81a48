"""/buy and Telegram Stars payments through the router, on SQLite and PostgreSQL.

The payment rails and the chain are fakes here; tests/test_buying_end_to_end.py runs the real
sandbox (localstripe), the checkout page and the embedded EVM.
"""

from __future__ import annotations

import asyncio

from adapters.db.unit_of_work import SqlUnitOfWork
from bot import bootstrap
from bot.conversation import Incoming, Payment
from core.purchases import PurchaseState
from tests.support import Chat, RecordingResponder


async def alice_with_token(chat: Chat) -> None:
    await chat("alice", "/register Alice | alice@example.com | fitness")
    await chat("alice", "/token ALICE 1.50")


def stars_update(person: str, stage: str, payload: str, amount: int, charge: str = "") -> Incoming:
    payment = Payment(stage, payload, "XTR", amount, charge or None)  # type: ignore[arg-type]
    return Incoming("telegram", person, person, name=person.title(), payment=payment)


async def purchase_state(app: bootstrap.App, purchase_id: int) -> PurchaseState:
    assert app.database is not None
    async with SqlUnitOfWork(app.database) as uow:
        purchase = await uow.purchases.get(purchase_id)
    assert purchase is not None
    return purchase.state


async def test_buy_offers_card_and_stars_and_refuses_bad_input(app: bootstrap.App) -> None:
    chat = Chat(app.router, platform="telegram")
    await alice_with_token(chat)
    offer = await chat("bob", "/buy alice 100")
    assert "100 $ALICE of @alice for $150.00 (purchase #1)" in offer.text
    card, stars = offer.all_buttons
    assert (card.label, card.url) == ("💳 Pay $150.00 by card", "https://pay.example/1")
    assert (stars.label, stars.data) == ("⭐ Pay 7,500 Stars", "/pay 1 stars")
    invoice = await chat.press("bob", "Stars")
    assert invoice.invoice is not None
    assert (invoice.invoice.currency, invoice.invoice.amount) == ("XTR", 7500)
    assert invoice.invoice.payload == "purchase:1"

    for text, expected in [
        ("/buy alice 0", "whole number from 1 to 10,000"),
        ("/buy alice -3", "whole number from 1 to 10,000"),
        ("/buy alice 2.5", "whole number from 1 to 10,000"),
        ("/buy alice 10001", "whole number from 1 to 10,000"),
        ("/buy alice lots", "whole number from 1 to 10,000"),
        ("/buy nobody 5", "No creator @nobody"),
        ("/buy alice", "/buy HANDLE AMOUNT"),
        ("/buy", "/buy HANDLE AMOUNT"),
        ("/pay 1 bitcoin", "not available here"),
        ("/pay 99 stars", "no such purchase"),
    ]:
        assert expected in (await chat("bob", text)).text, text
    assert "can't be paid now" in (await chat("carol", "/pay 1 stars")).text  # not hers
    await chat("carol", "/register Carol | carol@example.com | cooking")
    assert "@carol has no token yet" in (await chat("bob", "/buy carol 5")).text


async def test_a_stars_payment_mints_and_tells_the_fan(app: bootstrap.App) -> None:
    chat = Chat(app.router, platform="telegram")
    await alice_with_token(chat)
    await chat("bob", "/buy alice 2")
    bob = chat.responder("bob")
    await app.router.dispatch(stars_update("bob", "pre_checkout", "purchase:1", 150), bob)
    await app.router.dispatch(stars_update("bob", "pre_checkout", "purchase:1", 149), bob)
    assert bob.payment_answers[0] == (True, None)
    assert bob.payment_answers[1][0] is False
    assert "can't be paid now" in (bob.payment_answers[1][1] or "")
    for _ in range(3):  # Telegram repeats nothing, but a retried update must not double
        await app.router.dispatch(stars_update("bob", "successful", "purchase:1", 150, "ch_1"), bob)
    assert [r.text for r in bob.sent[-3:]] == [
        "✅ Payment received. Minting your tokens now…",
        "This payment was already received. Nothing more to do.",
        "This payment was already received. Nothing more to do.",
    ]
    assert await purchase_state(app, 1) is PurchaseState.COMPLETED
    balance = await chat("bob", "/balance")
    assert "2 $ALICE of @alice — $3.00 · on chain ✓" in balance.text
    # Telegram reports a refund of the Stars: the tokens go back.
    await app.router.dispatch(stars_update("bob", "refunded", "purchase:1", 150, "ch_1"), bob)
    assert await purchase_state(app, 1) is PurchaseState.CLAWED_BACK
    assert "You hold no tokens yet" in (await chat("bob", "/balance")).text


async def test_many_fans_pay_at_once(app: bootstrap.App) -> None:
    chat = Chat(app.router, platform="telegram")
    await alice_with_token(chat)
    fans = [f"fan{i}" for i in range(20)]
    for fan in fans:
        await chat(fan, "/buy alice 3")

    async def pay(index: int, fan: str) -> None:
        update = stars_update(fan, "successful", f"purchase:{index + 1}", 225, f"ch_{fan}")
        await app.router.dispatch(update, RecordingResponder(chat_id=fan))

    await asyncio.gather(*(pay(i, fan) for i, fan in enumerate(fans)))
    report = await app.services.tokens.reconcile()
    assert (report.checked, report.drifts) == (20, [])
    states = {await purchase_state(app, i + 1) for i in range(20)}
    assert states == {PurchaseState.COMPLETED}


async def test_a_payment_for_nothing_is_returned(app: bootstrap.App) -> None:
    chat = Chat(app.router, platform="telegram")
    bob = chat.responder("bob")
    await app.router.dispatch(stars_update("bob", "successful", "purchase:42", 10, "ch_x"), bob)
    assert "refunded in full" in bob.sent[-1].text
