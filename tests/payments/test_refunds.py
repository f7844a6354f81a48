"""Money going back: the gateway's refunds, and refunds and disputes by the provider."""

from __future__ import annotations

import pytest

from adapters.payments.stripe_gateway import StripePaymentGateway
from core.errors import PaymentError
from core.purchases import PaymentReversed
from tests.payments.conftest import Shop, eventually


async def paid_intent(shop: Shop, purchase_id: int, cents: int = 150) -> str:
    intent = await shop.gateway.charge_test_card(purchase_id, cents, "visa")
    assert intent is not None
    await eventually(lambda: any(p.purchase_id == purchase_id for p in shop.received.paid))
    return intent


async def refunds_of(shop: Shop, intent: str) -> list[dict[str, object]]:
    response = await shop.http.get(
        f"{shop.sandbox.api_base}/v1/refunds",
        params={"payment_intent": intent},
        headers={"Authorization": f"Bearer {shop.sandbox.api_key}"},
    )
    response.raise_for_status()
    data: list[dict[str, object]] = response.json()["data"]
    return data


async def test_the_gateway_refunds_a_payment_once_however_often_asked(shop: Shop) -> None:
    intent = await paid_intent(shop, 21)
    first = await shop.gateway.refund(intent, None)
    second = await shop.gateway.refund(intent, None)
    assert first == second
    assert first.startswith("re_")
    [refund] = await refunds_of(shop, intent)
    assert refund["id"] == first
    assert refund["amount"] == 150
    # Like Stripe, the refund is announced by ``charge.refunded``: once, since there is one.
    await eventually(lambda: len(shop.received.reversed) == 1)
    assert shop.received.reversed[0].payment_ref == intent
    assert shop.received.reversed[0].reason == "refund"


async def test_a_refund_the_provider_refuses_is_a_payment_error(shop: Shop) -> None:
    with pytest.raises(PaymentError) as refused:
        await shop.gateway.refund("pi_doesnotexist000", None)
    assert shop.sandbox.api_key not in str(refused.value)
    assert "HTTP 404" in str(refused.value)


async def test_an_unreachable_provider_is_a_payment_error() -> None:
    gateway = StripePaymentGateway(
        "sk_test_unreachable", "http://127.0.0.1:9", api_base="http://127.0.0.1:9"
    )
    try:
        with pytest.raises(PaymentError) as failed:
            await gateway.refund("pi_x", None)
    finally:
        await gateway.aclose()
    assert "APIConnectionError" in str(failed.value)
    assert "sk_test_unreachable" not in str(failed.value)


async def test_a_refund_by_the_provider_reaches_the_bot(shop: Shop) -> None:
    intent = await paid_intent(shop, 22, 500)
    refund = await shop.sandbox.refund(intent)
    assert refund["object"] == "refund"
    assert refund["amount"] == 500
    await eventually(lambda: len(shop.received.reversed) == 1)
    [reversal] = shop.received.reversed
    assert reversal == PaymentReversed(
        rail="card", event_id=reversal.event_id, payment_ref=intent, reason="refund"
    )
    assert reversal.event_id.startswith("evt_")
    # The gateway finds that refund rather than making another.
    assert await shop.gateway.refund(intent, None) == refund["id"]
    assert len(await refunds_of(shop, intent)) == 1


async def test_a_dispute_reaches_the_bot(shop: Shop) -> None:
    intent = await paid_intent(shop, 23)
    dispute = await shop.sandbox.dispute(intent)
    assert dispute["id"].startswith("dp_")
    assert dispute["payment_intent"] == intent
    assert dispute["amount"] == 150
    assert await shop.sandbox.dispute(intent) == dispute  # one dispute per charge
    await eventually(lambda: len(shop.received.reversed) == 1)
    [reversal] = shop.received.reversed
    assert (reversal.payment_ref, reversal.reason, reversal.rail) == (intent, "dispute", "card")


async def test_an_unpaid_intent_cannot_be_refunded_or_disputed(shop: Shop) -> None:
    assert await shop.gateway.charge_test_card(24, 150, "declined") is None
    [intent] = await shop.intents()
    assert intent["status"] == "requires_payment_method"
    with pytest.raises(PaymentError):
        await shop.gateway.refund(str(intent["id"]), None)
    with pytest.raises(PaymentError):
        await shop.sandbox.dispute(str(intent["id"]))
    with pytest.raises(PaymentError):
        await shop.sandbox.refund(str(intent["id"]))


async def test_a_webhook_the_bot_fails_is_sent_again(shop: Shop) -> None:
    shop.received.failures_left = 1  # the first delivery is answered 500
    intent = await shop.gateway.charge_test_card(25, 150, "visa")
    await eventually(lambda: len(shop.received.paid) == 1)
    assert shop.received.paid[0].payment_ref == intent
    assert shop.received.failures_left == 0
