"""Recovering webhooks that never arrived: the gateway lists what the provider recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.payments import stripe_gateway
from core.purchases import PaymentReceived, PaymentReversed
from tests.payments.conftest import Shop, eventually


def by_id(event: PaymentReceived | PaymentReversed) -> str:
    return event.event_id


async def test_recent_events_are_what_the_webhooks_delivered(shop: Shop) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    refunded = await shop.gateway.charge_test_card(31, 150, "visa")
    disputed = await shop.gateway.charge_test_card(32, 250, "visa")
    assert await shop.gateway.charge_test_card(33, 100, "declined") is None
    assert refunded is not None
    assert disputed is not None
    await shop.sandbox.refund(refunded)
    await shop.sandbox.dispute(disputed)
    await eventually(lambda: len(shop.received.paid) == 2 and len(shop.received.reversed) == 2)

    events = await shop.gateway.recent_events(since)
    delivered: list[PaymentReceived | PaymentReversed] = [
        *shop.received.paid,
        *shop.received.reversed,
    ]
    assert sorted(events, key=by_id) == sorted(delivered, key=by_id)
    paid = [e for e in events if isinstance(e, PaymentReceived)]
    assert sorted(e.purchase_id for e in paid) == [31, 32]
    # Payments come before the reversals of them, however close in time.
    assert events.index(paid[-1]) < min(
        events.index(e) for e in events if isinstance(e, PaymentReversed)
    )
    assert await shop.gateway.recent_events(datetime.now(UTC) + timedelta(minutes=1)) == []


async def test_every_page_of_events_is_read(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    for purchase_id in range(41, 46):
        assert await shop.gateway.charge_test_card(purchase_id, 150, "visa") is not None
    monkeypatch.setattr(stripe_gateway, "PAGE", 2)
    events = await shop.gateway.recent_events(since)
    assert sorted(e.purchase_id for e in events if isinstance(e, PaymentReceived)) == list(
        range(41, 46)
    )
