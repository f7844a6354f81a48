"""``POST /webhooks/stripe``: only signed, recent events are read, and translated right."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from adapters.payments.stripe_webhook import WEBHOOK_PATH, stripe_webhook_route
from adapters.web.server import web_app
from core.purchases import Money, PaymentReceived, PaymentReversed
from tests.payments.conftest import Received

SECRET = "whsec_test_secret_of_the_endpoint"


def signature(body: bytes, secret: str = SECRET, at: int | None = None) -> str:
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), b"%d.%s" % (stamp, body), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def event(type_: str, obj: dict[str, Any], event_id: str = "evt_1") -> bytes:
    return json.dumps(
        {"id": event_id, "object": "event", "type": type_, "data": {"object": obj}}
    ).encode()


def intent(**changes: Any) -> dict[str, Any]:
    return {
        "id": "pi_1",
        "object": "payment_intent",
        "amount": 150,
        "amount_received": 150,
        "currency": "usd",
        "status": "succeeded",
        "metadata": {"purchase_id": "7"},
    } | changes


def charge(**changes: Any) -> dict[str, Any]:
    return {
        "id": "ch_1",
        "object": "charge",
        "amount": 150,
        "amount_refunded": 150,
        "refunded": True,
        "payment_intent": "pi_1",
    } | changes


@pytest.fixture
def received() -> Received:
    return Received()


@pytest.fixture
async def post(received: Received) -> AsyncIterator[Any]:
    app = web_app([stripe_webhook_route(SECRET, received.on_paid, received.on_reversed)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:

        async def send(body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
            return await client.post(WEBHOOK_PATH, content=body, headers=headers or {})

        yield send


def signed(body: bytes) -> dict[str, str]:
    return {"Stripe-Signature": signature(body)}


async def test_a_payment_is_received(post: Any, received: Received) -> None:
    body = event("payment_intent.succeeded", intent(amount=200, amount_received=150))
    response = await post(body, signed(body))
    assert response.status_code == 200
    assert received.paid == [
        PaymentReceived(
            rail="card",
            event_id="evt_1",
            purchase_id=7,
            payment_ref="pi_1",
            paid=Money("usd", 150),
            payer=None,
        )
    ]


@pytest.mark.parametrize(
    ("type_", "obj", "reason"),
    [
        ("charge.refunded", charge(), "refund"),
        (
            "charge.dispute.created",
            {"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1"},
            "dispute",
        ),
    ],
)
async def test_a_refund_or_dispute_is_a_reversal(
    post: Any, received: Received, type_: str, obj: dict[str, Any], reason: str
) -> None:
    body = event(type_, obj, event_id="evt_9")
    assert (await post(body, signed(body))).status_code == 200
    assert received.reversed == [
        PaymentReversed(rail="card", event_id="evt_9", payment_ref="pi_1", reason=reason)
    ]
    assert received.paid == []


@pytest.mark.parametrize(
    ("type_", "obj"),
    [
        ("customer.created", {"id": "cus_1", "object": "customer"}),
        ("payment_intent.payment_failed", intent()),
        ("payment_intent.succeeded", intent(metadata={})),  # not one of ours
        ("payment_intent.succeeded", intent(metadata={"purchase_id": "7; drop"})),
        ("charge.refunded", charge(refunded=False, amount_refunded=50)),  # a partial refund
        ("charge.refunded", charge(payment_intent=None)),
    ],
)
async def test_other_events_are_acknowledged_and_ignored(
    post: Any, received: Received, type_: str, obj: dict[str, Any]
) -> None:
    body = event(type_, obj)
    assert (await post(body, signed(body))).status_code == 200
    assert received.paid == []
    assert received.reversed == []


GOOD = event("payment_intent.succeeded", intent())


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param(GOOD, {}, id="no signature"),
        pytest.param(GOOD, {"Stripe-Signature": signature(GOOD, "whsec_other")}, id="wrong secret"),
        pytest.param(
            GOOD.replace(b'"amount": 150', b'"amount": 1'),
            {"Stripe-Signature": signature(GOOD)},
            id="tampered body",
        ),
        pytest.param(
            GOOD, {"Stripe-Signature": signature(GOOD, at=int(time.time()) - 301)}, id="stale"
        ),
        pytest.param(GOOD, {"Stripe-Signature": "t=abc,v1=zz"}, id="garbage header"),
        pytest.param(b"not json {", {"Stripe-Signature": signature(b"not json {")}, id="not JSON"),
        pytest.param(b"\xff\xfe", {"Stripe-Signature": signature(b"\xff\xfe")}, id="not UTF-8"),
    ],
)
async def test_a_forged_or_stale_webhook_is_refused(
    post: Any, received: Received, body: bytes, headers: dict[str, str]
) -> None:
    response = await post(body, headers)
    assert response.status_code == 400
    assert received.paid == []
    assert received.reversed == []


async def test_a_huge_body_is_refused_unread(post: Any, received: Received) -> None:
    body = b"x" * (2 << 20)
    assert (await post(body, signed(body))).status_code == 413
    assert received.paid == []


async def test_a_failing_callback_answers_500_so_the_provider_retries(
    post: Any, received: Received, caplog: pytest.LogCaptureFixture
) -> None:
    received.failures_left = 1
    caplog.set_level(logging.ERROR, logger="adapters.payments.stripe_webhook")
    body = event("payment_intent.succeeded", intent(), event_id="evt_retry")
    assert (await post(body, signed(body))).status_code == 500
    [record] = caplog.records
    assert "evt_retry" in record.getMessage()
    assert record.exc_info is not None
    assert SECRET not in caplog.text
    assert received.paid == []
    assert (await post(body, signed(body))).status_code == 200  # the retry
    assert [p.event_id for p in received.paid] == ["evt_retry"]
