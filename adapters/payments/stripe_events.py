"""Stripe's events, as the purchase saga's records of payments and reversals.

Shared by the webhook (:mod:`adapters.payments.stripe_webhook`) and the gateway's recovery of
events no webhook delivered (:meth:`StripePaymentGateway.recent_events`):

- ``payment_intent.succeeded`` carrying our ``purchase_id`` metadata → :class:`PaymentReceived`;
- ``charge.refunded`` once the charge is refunded in full → :class:`PaymentReversed` ("refund");
  a partial refund is the operator's choice and takes no tokens back;
- ``charge.dispute.created`` → :class:`PaymentReversed` ("dispute").

Anything else is none of the saga's business (None).
"""

from __future__ import annotations

import logging
from typing import Any

from core.purchases import Money, PaymentReceived, PaymentReversed, purchase_id_of

log = logging.getLogger(__name__)

RAIL = "card"
# The event types the saga needs (the sandbox server and a Stripe endpoint send only these).
EVENT_TYPES = ("payment_intent.succeeded", "charge.refunded", "charge.dispute.created")


def translate(
    event_id: str, event_type: str, obj: dict[str, Any]
) -> PaymentReceived | PaymentReversed | None:
    """The saga's record of one verified event, or None when it is none of the saga's business."""
    if event_type == "payment_intent.succeeded":
        return _received(event_id, obj)
    if event_type == "charge.refunded":
        if obj.get("refunded") is not True:
            log.debug(
                "Stripe event %s: a partial refund of %s; tokens stay", event_id, obj.get("id")
            )
            return None
        return _reversed(event_id, obj, "refund")
    if event_type == "charge.dispute.created":
        return _reversed(event_id, obj, "dispute")
    return None


def _received(event_id: str, intent: dict[str, Any]) -> PaymentReceived | None:
    metadata = intent.get("metadata")
    raw = metadata.get("purchase_id") if isinstance(metadata, dict) else None
    purchase_id = purchase_id_of(f"purchase:{raw}") if isinstance(raw, str) else None
    if purchase_id is None:
        return None  # a payment of something else on the same Stripe account
    ref, currency = intent.get("id"), intent.get("currency")
    amount = intent.get("amount_received") or intent.get("amount")
    if not (isinstance(ref, str) and isinstance(currency, str) and isinstance(amount, int)):
        log.warning("Stripe event %s: a PaymentIntent without id, currency or amount", event_id)
        return None
    return PaymentReceived(
        rail=RAIL,
        event_id=event_id,
        purchase_id=purchase_id,
        payment_ref=ref,
        paid=Money(currency, amount),
        payer=None,
    )


def _reversed(event_id: str, obj: dict[str, Any], reason: str) -> PaymentReversed | None:
    ref = obj.get("payment_intent")
    if not isinstance(ref, str) or not ref:
        log.warning(
            "Stripe event %s: a %s of %s without a PaymentIntent", event_id, reason, obj.get("id")
        )
        return None
    return PaymentReversed(rail=RAIL, event_id=event_id, payment_ref=ref, reason=reason)
