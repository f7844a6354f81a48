"""Card payments through Stripe: the ``card`` rail of :class:`core.ports.PaymentGateway`.

In production (a Stripe secret key) a purchase is paid on a Stripe Checkout page; in the sandbox
(no key) on our own checkout page (:mod:`adapters.payments.checkout_page`), which charges a test
card on the sandbox's Stripe-compatible server (:mod:`adapters.payments.sandbox_server`). Either
way the payment reaches the bot as a signed ``payment_intent.succeeded`` webhook carrying the
purchase id in its metadata (:mod:`adapters.payments.stripe_webhook`).

Every request uses the SDK's async methods over httpx, so the event loop never waits on Stripe.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import stripe
from stripe.params import EventListParams, PaymentIntentCreateParams
from stripe.params.checkout import SessionCreateParams

from adapters.payments.checkout_links import CHECKOUT_PATH, CheckoutLinks
from adapters.payments.sandbox_server import Sandbox
from adapters.payments.stripe_events import EVENT_TYPES, RAIL, translate
from core.errors import PaymentError
from core.purchases import (
    Money,
    PaymentReceived,
    PaymentRequest,
    PaymentReversed,
    Purchase,
    purchase_payload,
)

log = logging.getLogger(__name__)

CURRENCY = "usd"
DONE_PATH = f"{CHECKOUT_PATH}/done"
# Test cards of the sandbox checkout page: Stripe's test PaymentMethods, which localstripe knows.
TEST_CARDS = {"visa": "pm_card_visa", "declined": "pm_card_chargeCustomerFail"}
PAGE = 100  # events per listed page (Stripe's most)
_UNFINISHED_REFUND = frozenset({"failed", "canceled"})


class _HTTPXClient(stripe.HTTPXClient):
    """stripe's httpx client, sending its encoded body as ``content=``: httpx deprecates raw
    bodies in ``data=`` with a DeprecationWarning on every request (stripe 16.1, httpx 0.28)."""

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> list[Any]:
        args: list[Any] = super()._get_request_args_kwargs(method, url, headers, post_data)
        options = args[1]
        options["content"] = options.pop("data", None) or None
        return args


class StripePaymentGateway:
    """Cards via Stripe Checkout, or via the sandbox checkout page when ``links`` is given.

    ``api_key`` is Stripe's secret key, or the sandbox server's; ``api_base`` another
    Stripe-compatible API server. Close with :meth:`aclose`.
    """

    def __init__(
        self,
        api_key: str,
        public_url: str,
        *,
        api_base: str | None = None,
        links: CheckoutLinks | None = None,
        timeout: float = 20.0,
    ) -> None:
        self._public_url = public_url.rstrip("/")
        self._links = links
        self._http = _HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else {},
            http_client=self._http,
            max_network_retries=2,
        )

    @classmethod
    def for_sandbox(cls, sandbox: Sandbox, public_url: str) -> StripePaymentGateway:
        """The sandbox: our checkout page (no real money), the sandbox server's Stripe API."""
        return cls(
            sandbox.api_key, public_url, api_base=sandbox.api_base, links=CheckoutLinks(public_url)
        )

    @property
    def rail(self) -> str:
        return RAIL

    @property
    def sandbox(self) -> bool:
        return self._links is not None

    @property
    def links(self) -> CheckoutLinks | None:
        """The sandbox checkout page's link signer; None in production."""
        return self._links

    def available_on(self, platform: str) -> bool:
        return True

    def quote(self, price_cents: int) -> Money:
        return Money(CURRENCY, price_cents)

    def price_range(self) -> tuple[int, int]:
        # Stripe's smallest US-dollar charge, and the largest amount it accepts.
        return 50, 99_999_999

    async def request_payment(self, purchase: Purchase, title: str) -> PaymentRequest:
        """A checkout page for ``purchase``; the same one when asked again."""
        price = self.quote(purchase.price_cents)
        payload = purchase_payload(purchase.id)
        if self._links is not None:
            url = self._links.url(purchase.id, purchase.price_cents)
            return PaymentRequest(RAIL, price, payload, url=url, sandbox=True)
        reference = str(purchase.id)
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": CURRENCY,
                        "unit_amount": purchase.price_cents,
                        "product_data": {"name": title},
                    },
                }
            ],
            "client_reference_id": reference,
            "metadata": {"purchase_id": reference},
            "payment_intent_data": {"metadata": {"purchase_id": reference}},
            "success_url": f"{self._public_url}{DONE_PATH}",
            "cancel_url": f"{self._public_url}{DONE_PATH}?cancelled=1",
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": f"purchase-{purchase.id}"}
            )
        except stripe.StripeError as exc:
            raise PaymentError(_why("a Checkout Session", exc)) from exc
        if not session.url:
            raise PaymentError(f"Stripe returned Checkout Session {session.id} without a url")
        return PaymentRequest(RAIL, price, payload, url=session.url, sandbox=False)

    async def recent_events(self, since: datetime) -> list[PaymentReceived | PaymentReversed]:
        """The saga's events Stripe recorded since ``since`` (it keeps 30 days), oldest first.

        How a webhook that never arrived is recovered. One listing per event type (Stripe's
        ``types`` filter is not in localstripe), every page of it.
        """
        found: list[tuple[int, PaymentReceived | PaymentReversed]] = []
        try:
            for event_type in EVENT_TYPES:
                params: EventListParams = {
                    "type": event_type,
                    "created": {"gte": int(since.timestamp())},
                    "limit": PAGE,
                }
                while True:
                    page = await self._client.v1.events.list_async(params)
                    for event in page.data:
                        record = translate(event.id, event.type, event.data.object.to_dict())
                        if record is not None:
                            found.append((event.created, record))
                    if not page.has_more or not page.data:
                        break
                    params["starting_after"] = page.data[-1].id
        except stripe.StripeError as exc:
            raise PaymentError(_why("the list of recent events", exc)) from exc
        found.sort(key=lambda item: item[0])  # stable: one second's events keep their order
        return [record for _, record in found]

    async def refund(self, payment_ref: str, payer: str | None) -> str:
        """Refund the PaymentIntent ``payment_ref`` in full, or return its existing refund."""
        try:
            found = await self._client.v1.refunds.list_async(
                {"payment_intent": payment_ref, "limit": 100}
            )
            refunds = list(found.data)
            for refund in refunds:
                if refund.status not in _UNFINISHED_REFUND:
                    return refund.id
            # The key makes two concurrent calls one refund, and still allows a new attempt
            # after a refund failed.
            key = f"refund-{payment_ref}-{len(refunds)}"
            created = await self._client.v1.refunds.create_async(
                {"payment_intent": payment_ref}, {"idempotency_key": key}
            )
        except stripe.StripeError as exc:
            raise PaymentError(_why(f"a refund of {payment_ref}", exc)) from exc
        if created.status in _UNFINISHED_REFUND:
            raise PaymentError(f"Stripe's refund {created.id} of {payment_ref} {created.status}")
        log.info("refunded %s: %s", payment_ref, created.id)
        return created.id

    async def charge_test_card(self, purchase_id: int, amount_cents: int, card: str) -> str | None:
        """Sandbox only: pay with a test card; the PaymentIntent's id, or None if declined.

        The sandbox server then sends ``payment_intent.succeeded``, as Stripe would.
        """
        if self._links is None:
            raise RuntimeError("test cards are only for the sandbox")
        params: PaymentIntentCreateParams = {
            "amount": amount_cents,
            "currency": CURRENCY,
            "payment_method": TEST_CARDS[card],
            "confirm": True,
            "metadata": {"purchase_id": str(purchase_id)},
        }
        try:
            intent = await self._client.v1.payment_intents.create_async(params)
        except stripe.CardError:
            return None
        except stripe.StripeError as exc:
            raise PaymentError(_why("a sandbox payment", exc)) from exc
        return intent.id if intent.status == "succeeded" else None

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _why(what: str, exc: stripe.StripeError) -> str:
    """Why Stripe failed, without its message (which may quote keys, even masked)."""
    status = f"HTTP {exc.http_status}" if exc.http_status else "no answer"
    code = f", {exc.code}" if exc.code else ""
    return f"Stripe refused or failed {what}: {type(exc).__name__} ({status}{code})"
