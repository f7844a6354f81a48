"""Records of the token-purchase saga: a purchase, the payments that reach it, its states.

A purchase moves through these states; each arrow is one step the saga (``core/services/saga.py``)
takes, and every step can be repeated after a crash without doing anything twice::

    pending ──paid──▶ paid ──mint + credit──▶ completed ──reversed──▶ clawing_back ─▶ clawed_back
                        │                                       (burn, then debit)
                        └─ mint failed for good ─▶ refunding ──refund──▶ refunded

A refund or dispute reported before the mint still goes through mint and credit, then the
clawback: "nothing was minted yet" cannot be known while another worker may be minting it.

Amounts are integers: ``amount`` in token units, ``price_cents`` in US cents, a payment in the
smallest unit of its own currency (cents, or Telegram Stars).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PurchaseState(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    COMPLETED = "completed"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    CLAWING_BACK = "clawing_back"
    CLAWED_BACK = "clawed_back"

    @property
    def settled(self) -> bool:
        """No money or token will move for this purchase any more."""
        return self in _SETTLED


_SETTLED = frozenset({PurchaseState.REFUNDED, PurchaseState.CLAWED_BACK})

# What the fan has been told last, so a resumed saga tells each outcome once.
NOTICE_NONE = ""


@dataclass(frozen=True, slots=True)
class Purchase:
    id: int
    fan_id: int
    token_id: int
    amount: int
    price_cents: int
    state: PurchaseState
    created_at: datetime
    updated_at: datetime
    # Set when a payment arrives: the rail ("card", "stars"), the provider's id of the payment
    # (a Stripe PaymentIntent, a Telegram Stars charge), who paid (a platform user id, which
    # Stars refunds need) and what was paid, in the rail's own currency.
    rail: str | None = None
    payment_ref: str | None = None
    payer: str | None = None
    paid_currency: str | None = None
    paid_amount: int | None = None
    # The provider refunded or disputed the payment (a reason), to be clawed back.
    reversal: str | None = None
    clawback_amount: int | None = None
    attempts: int = 0
    last_error: str | None = None
    # The last outcome the fan was told about (a state), so each is told once.
    notified: str = NOTICE_NONE

    @property
    def reference(self) -> str:
        """The ledger and on-chain reference of this purchase's credit (and mint)."""
        return f"purchase:{self.id}"

    @property
    def clawback_reference(self) -> str:
        return f"clawback:{self.id}"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in the smallest unit of ``currency`` (``usd`` cents, ``XTR`` Stars)."""

    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """How a fan can pay one purchase on one rail.

    ``url``: a checkout page to open (cards). Without a url, the platform shows an invoice for
    ``price`` carrying ``payload`` (Telegram Stars). ``sandbox``: no real money moves.
    """

    rail: str
    price: Money
    payload: str
    url: str | None = None
    sandbox: bool = False


@dataclass(frozen=True, slots=True)
class Checkout:
    """A purchase with what it buys, and the ways to pay it (one request per rail)."""

    purchase: Purchase
    symbol: str
    creator_handle: str
    requests: tuple[PaymentRequest, ...] = ()

    @property
    def title(self) -> str:
        """Language-neutral: ``100 $ALICE · @alice`` (shown on invoices and card statements)."""
        return f"{self.purchase.amount} ${self.symbol} · @{self.creator_handle}"


@dataclass(frozen=True, slots=True)
class PaymentReceived:
    """A provider reports money received for a purchase (a webhook, ``successful_payment``).

    ``event_id`` is the provider's id of this notification: each is processed once.
    """

    rail: str
    event_id: str
    purchase_id: int
    payment_ref: str
    paid: Money
    payer: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentReversed:
    """A provider reports that a payment was refunded or disputed: its tokens go back."""

    rail: str
    event_id: str
    payment_ref: str
    reason: str


def purchase_payload(purchase_id: int) -> str:
    """What an invoice or checkout carries so the payment finds its purchase again."""
    return f"purchase:{purchase_id}"


def purchase_id_of(payload: str) -> int | None:
    """The purchase id in ``purchase:ID``, or None when ``payload`` is anything else."""
    prefix, _, number = payload.partition(":")
    if prefix != "purchase" or not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    return int(number)
