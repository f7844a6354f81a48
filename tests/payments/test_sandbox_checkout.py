"""The sandbox as a fan meets it: a checkout link, the page, a test card, the signed webhook."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from core.purchases import Money, PaymentReceived, Purchase, PurchaseState
from tests.payments.conftest import WEBHOOK_DELAY, Shop, eventually

PICKLE = Path("/tmp/localstripe.pickle")  # where the localstripe CLI would keep its store


def pickle_mtime() -> float | None:
    return PICKLE.stat().st_mtime if PICKLE.exists() else None


def purchase(purchase_id: int, price_cents: int) -> Purchase:
    now = datetime.now(UTC)
    return Purchase(
        id=purchase_id,
        fan_id=1,
        token_id=2,
        amount=10,
        price_cents=price_cents,
        state=PurchaseState.PENDING,
        created_at=now,
        updated_at=now,
    )


async def checkout_url(shop: Shop, purchase_id: int, cents: int, title: str = "10 ALICE") -> str:
    shop.catalogue.items[purchase_id] = (title, f"${cents / 100:.2f}", True)
    request = await shop.gateway.request_payment(purchase(purchase_id, cents), title)
    assert request.url is not None
    return request.url


def form_of(url: str, card: str) -> dict[str, str]:
    query = parse_qs(urlsplit(url).query)
    return {"amount": query["amount"][0], "sig": query["sig"][0], "card": card}


async def settle() -> None:
    """Long enough for any webhook of what happened so far to have arrived."""
    await asyncio.sleep(WEBHOOK_DELAY + 0.5)


async def test_the_sandbox_request_is_a_signed_link_to_our_page(shop: Shop) -> None:
    request = await shop.gateway.request_payment(purchase(7, 150), "10 ALICE")
    again = await shop.gateway.request_payment(purchase(7, 150), "10 ALICE")
    assert request.sandbox
    assert request.rail == "card"
    assert request.price == Money("usd", 150)
    assert request.payload == "purchase:7"
    assert request.url == again.url
    assert request.url is not None
    assert re.fullmatch(rf"{shop.url}/checkout/7\?amount=150&sig=[0-9a-f]{{64}}", request.url)
    assert await shop.intents() == []  # asking for a link charges nothing


async def test_paying_on_the_page_reaches_the_bot_as_a_signed_webhook(shop: Shop) -> None:
    pickle_before = pickle_mtime()
    url = await checkout_url(shop, 7, 150, title="10 ALICE from Alice Smith")

    page = await shop.http.get(url)
    assert page.status_code == 200
    assert "Sandbox: no real money" in page.text
    assert "10 ALICE from Alice Smith" in page.text
    assert "$1.50" in page.text
    assert 'value="visa"' in page.text
    assert 'value="declined"' in page.text

    paid = await shop.http.post(url, data=form_of(url, "visa"))
    assert paid.status_code == 200
    assert "Paid — go back to the chat" in paid.text

    await eventually(lambda: len(shop.received.paid) == 1)
    payment = shop.received.paid[0]
    assert isinstance(payment, PaymentReceived)
    assert payment.rail == "card"
    assert payment.purchase_id == 7
    assert payment.paid == Money("usd", 150)
    assert payment.payment_ref.startswith("pi_")
    assert payment.event_id.startswith("evt_")
    assert payment.payer is None
    [intent] = await shop.intents()
    assert intent["id"] == payment.payment_ref
    assert intent["status"] == "succeeded"
    assert intent["metadata"] == {"purchase_id": "7"}
    # The sandbox server keeps its store in memory only.
    assert pickle_mtime() == pickle_before


async def test_a_declined_card_pays_nothing_and_another_card_may_follow(shop: Shop) -> None:
    url = await checkout_url(shop, 8, 300)
    declined = await shop.http.post(url, data=form_of(url, "declined"))
    assert declined.status_code == 402
    assert "The card was declined and nothing was charged." in declined.text
    assert 'href="/checkout/8?amount=300&amp;sig=' in declined.text
    await settle()
    assert shop.received.paid == []

    paid = await shop.http.post(url, data=form_of(url, "visa"))
    assert paid.status_code == 200
    await eventually(lambda: len(shop.received.paid) == 1)
    assert shop.received.paid[0].paid == Money("usd", 300)


async def test_a_link_without_our_signature_is_not_found(shop: Shop) -> None:
    url = await checkout_url(shop, 9, 150)
    sig = parse_qs(urlsplit(url).query)["sig"][0]
    forged = [
        f"{shop.url}/checkout/9",
        f"{shop.url}/checkout/9?amount=150",
        f"{shop.url}/checkout/9?amount=150&sig={'0' * 64}",
        f"{shop.url}/checkout/9?amount=1&sig={sig}",  # a cheaper price, the same signature
        f"{shop.url}/checkout/10?amount=150&sig={sig}",  # another purchase
    ]
    for link in forged:
        page = await shop.http.get(link)
        assert page.status_code == 404, link
        assert "This checkout link is not valid" in page.text
    for amount, signature in (("1", sig), ("150", "0" * 64), ("150", "")):
        data = {"amount": amount, "sig": signature, "card": "visa"}
        posted = await shop.http.post(f"{shop.url}/checkout/9", data=data)
        assert posted.status_code == 404
    unknown = await checkout_url(shop, 11, 150)
    del shop.catalogue.items[11]  # a signed link, but the purchase does not exist
    assert (await shop.http.get(unknown)).status_code == 404
    assert (await shop.http.post(unknown, data=form_of(unknown, "visa"))).status_code == 404
    await settle()
    assert await shop.intents() == []
    assert shop.received.paid == []


async def test_a_purchase_that_is_not_payable_is_never_charged(shop: Shop) -> None:
    url = await checkout_url(shop, 12, 150)
    shop.catalogue.items[12] = ("10 ALICE", "$1.50", False)  # paid already (another way)
    page = await shop.http.get(url)
    assert page.status_code == 200
    assert "paid already or no longer open" in page.text
    assert "<form" not in page.text
    posted = await shop.http.post(url, data=form_of(url, "visa"))
    assert "paid already or no longer open" in posted.text
    assert await shop.intents() == []


async def test_a_double_submitted_form_charges_once(shop: Shop) -> None:
    url = await checkout_url(shop, 13, 150)
    form = form_of(url, "visa")
    answers = await asyncio.gather(*(shop.http.post(url, data=form) for _ in range(5)))
    assert sum("Paid — go back to the chat" in a.text for a in answers) == 1
    later = await shop.http.post(url, data=form)  # before the webhook has marked it paid
    assert "paid already or no longer open" in later.text
    await settle()
    assert len(shop.received.paid) == 1
    assert len(await shop.intents()) == 1
    assert "paid already" in (await shop.http.get(url)).text


async def test_what_is_shown_is_escaped(shop: Shop) -> None:
    url = await checkout_url(shop, 14, 150, title='<script>alert("x")</script> & co')
    page = await shop.http.get(url)
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page.text


async def test_the_production_return_page_points_back_to_the_chat(shop: Shop) -> None:
    done = await shop.http.get(f"{shop.url}/checkout/done")
    assert done.status_code == 200
    assert "Thank you! Go back to the chat" in done.text
    assert "Sandbox" not in done.text  # Stripe Checkout is real money
    cancelled = await shop.http.get(f"{shop.url}/checkout/done?cancelled=1")
    assert "The payment was cancelled and nothing was charged." in cancelled.text
