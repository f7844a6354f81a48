"""Production mode, where payments are Stripe Checkout Sessions.

localstripe has no Checkout Sessions, so the gateway talks to a small Stripe-compatible
endpoint on 127.0.0.1 that records what it receives and answers like Stripe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.payments.stripe_gateway import StripePaymentGateway
from core.errors import PaymentError
from core.purchases import Money, PaymentRequest, Purchase, PurchaseState
from tests.payments.conftest import serving

API_KEY = "sk_live_not_a_real_key_0123456789"
PUBLIC = "https://bot.example.com"


@dataclass
class FakeStripe:
    """Answers ``POST /v1/checkout/sessions``; ``answer`` sets the next status and body."""

    requests: list[tuple[dict[str, str], dict[str, str]]] = field(default_factory=list)
    status: int = 200
    url: str | None = "https://checkout.stripe.com/c/pay/cs_test_1"

    async def create_session(self, request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode()))
        self.requests.append((dict(request.headers), form))
        if self.status != 200:
            error = {"type": "invalid_request_error", "message": f"No such thing; key {API_KEY}"}
            return JSONResponse({"error": error}, status_code=self.status)
        session = {"id": "cs_test_1", "object": "checkout.session", "url": self.url}
        return JSONResponse(session)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeStripe, StripePaymentGateway]]:
    stripe_api = FakeStripe()
    app = Starlette(
        routes=[Route("/v1/checkout/sessions", stripe_api.create_session, methods=["POST"])]
    )
    async with serving(app) as base:
        gateway = StripePaymentGateway(API_KEY, PUBLIC, api_base=base)
        try:
            yield stripe_api, gateway
        finally:
            await gateway.aclose()


def purchase(purchase_id: int = 7, price_cents: int = 1250) -> Purchase:
    now = datetime.now(UTC)
    return Purchase(purchase_id, 1, 2, 10, price_cents, PurchaseState.PENDING, now, now)


async def test_a_checkout_session_is_created_once_per_purchase(
    fake: tuple[FakeStripe, StripePaymentGateway],
) -> None:
    stripe_api, gateway = fake
    request = await gateway.request_payment(purchase(), "10 ALICE from Alice Smith")
    assert request == PaymentRequest(
        rail="card",
        price=Money("usd", 1250),
        payload="purchase:7",
        url="https://checkout.stripe.com/c/pay/cs_test_1",
        sandbox=False,
    )
    await gateway.request_payment(purchase(), "10 ALICE from Alice Smith")
    (headers, form), (again, _) = stripe_api.requests
    assert headers["idempotency-key"] == again["idempotency-key"] == "purchase-7"
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert form == {
        "mode": "payment",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "1250",
        "line_items[0][price_data][product_data][name]": "10 ALICE from Alice Smith",
        "client_reference_id": "7",
        "metadata[purchase_id]": "7",
        "payment_intent_data[metadata][purchase_id]": "7",
        "success_url": f"{PUBLIC}/checkout/done",
        "cancel_url": f"{PUBLIC}/checkout/done?cancelled=1",
    }


async def test_a_refused_session_is_a_payment_error_without_secrets(
    fake: tuple[FakeStripe, StripePaymentGateway],
) -> None:
    stripe_api, gateway = fake
    stripe_api.status = 400
    with pytest.raises(PaymentError) as refused:
        await gateway.request_payment(purchase(), "10 ALICE")
    assert "InvalidRequestError" in str(refused.value)
    assert "HTTP 400" in str(refused.value)
    assert API_KEY not in str(refused.value)


async def test_a_session_without_a_page_is_a_payment_error(
    fake: tuple[FakeStripe, StripePaymentGateway],
) -> None:
    stripe_api, gateway = fake
    stripe_api.url = None
    with pytest.raises(PaymentError):
        await gateway.request_payment(purchase(), "10 ALICE")


async def test_cards_are_offered_everywhere_in_dollars() -> None:
    gateway = StripePaymentGateway(API_KEY, PUBLIC)
    try:
        assert gateway.rail == "card"
        assert not gateway.sandbox
        assert gateway.links is None
        assert all(gateway.available_on(p) for p in ("telegram", "discord", "console"))
        assert gateway.quote(1250) == Money("usd", 1250)
    finally:
        await gateway.aclose()
