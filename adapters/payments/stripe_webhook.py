"""``POST /webhooks/stripe``: Stripe's signed events, translated into the saga's payment records.

Only a request whose ``Stripe-Signature`` verifies with the endpoint's secret, and is at most
five minutes old, is read; anything else is answered 400 and nothing is called. The events the
saga needs are translated by :mod:`adapters.payments.stripe_events` and handed to ``on_paid`` or
``on_reversed``; everything else is acknowledged (200) and ignored. When the callback fails the
answer is 500, so Stripe (and the sandbox server) sends the event again; each event id is
processed once by the saga, so a repeated event changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

import stripe
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from adapters.payments.stripe_events import translate
from core.purchases import PaymentReceived, PaymentReversed

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/stripe"
MAX_BODY = 1 << 20  # Stripe's events are a few kilobytes

OnPaid = Callable[[PaymentReceived], Awaitable[None]]
OnReversed = Callable[[PaymentReversed], Awaitable[None]]


def stripe_webhook_route(secret: str, on_paid: OnPaid, on_reversed: OnReversed) -> Route:
    """The route; ``secret`` is the endpoint's signing secret (``whsec_…``)."""

    async def receive(request: Request) -> Response:
        body = await _body(request)
        if body is None:
            return PlainTextResponse("payload too large", status_code=413)
        try:
            # Verified, then read as plain JSON: building the SDK's event object costs more
            # than the rest of the webhook (a third of it, measured by bench/purchases.py).
            stripe.WebhookSignature.verify_header(
                body,
                request.headers.get("stripe-signature"),
                secret,
                stripe.Webhook.DEFAULT_TOLERANCE,
            )
            event = json.loads(body)
            event_id, event_type = str(event["id"]), str(event["type"])
            data = event.get("data")
            obj = data.get("object") if isinstance(data, dict) else None
        except stripe.SignatureVerificationError:
            log.warning("refused a Stripe webhook without a valid, recent signature")
            return PlainTextResponse("bad signature", status_code=400)
        except (ValueError, TypeError, AttributeError, KeyError):
            log.warning("refused a Stripe webhook that is not an event")
            return PlainTextResponse("not an event", status_code=400)
        if not isinstance(obj, dict):
            log.warning("Stripe event %s (%s) has no object; ignored", event_id, event_type)
            return PlainTextResponse("ignored")
        record = translate(event_id, event_type, obj)
        try:
            if isinstance(record, PaymentReceived):
                await on_paid(record)
            elif isinstance(record, PaymentReversed):
                await on_reversed(record)
            else:
                return PlainTextResponse("ignored")
        except Exception:
            log.exception(
                "Stripe event %s (%s) failed; Stripe sends it again", event_id, event_type
            )
            return PlainTextResponse("failed", status_code=500)
        return PlainTextResponse("ok")

    return Route(WEBHOOK_PATH, receive, methods=["POST"])


async def _body(request: Request) -> bytes | None:
    """The request body, or None when it is larger than :data:`MAX_BODY`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
