"""What the core needs to take payments, named by role: the purchase saga's storage, payment
rails (``PaymentGateway``) and telling people (``Notifier``). Re-exported by :mod:`core.ports`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from core.purchases import (
    Money,
    PaymentReceived,
    PaymentRequest,
    PaymentReversed,
    Purchase,
    PurchaseState,
)


class PurchaseRepository(Protocol):
    """The ``purchases`` table: the state of every token purchase (the saga's memory)."""

    async def add(
        self, fan_id: int, token_id: int, amount: int, price_cents: int, now: datetime
    ) -> Purchase:
        """Record a new purchase, pending payment."""
        ...

    async def get(self, purchase_id: int, *, for_update: bool = False) -> Purchase | None:
        """One purchase; ``for_update`` locks its row until the transaction ends."""
        ...

    async def by_payment(self, rail: str, payment_ref: str) -> Purchase | None:
        """The purchase a provider's payment paid, if any."""
        ...

    async def update(
        self,
        purchase_id: int,
        changes: Mapping[str, Any],
        now: datetime,
        *,
        expected: PurchaseState | None = None,
    ) -> bool:
        """Change fields of a purchase (names as on :class:`Purchase`).

        With ``expected``, only while the purchase is in that state: False (and nothing
        changed) otherwise, so two workers cannot both take the same step.
        """
        ...

    async def any_of_fan(self, fan_id: int) -> bool:
        """Whether this person ever started a purchase."""
        ...

    async def unfinished(self, limit: int) -> list[int]:
        """Ids of purchases a step is still owed to (paid and not settled, or not yet told)."""
        ...

    async def completed_since(self, fan_id: int, token_id: int, since: datetime) -> int:
        """Tokens of ``token_id`` this fan bought and received in purchases started at or
        after ``since`` (a journey's payment gate asks this)."""
        ...


class WebhookRepository(Protocol):
    """Provider event ids already processed (``processed_webhooks``), and reversals that
    arrived before their payment (``held_reversals``)."""

    async def first_time(self, provider: str, event_id: str, now: datetime) -> bool:
        """Record the event; False if it was recorded before (a duplicate delivery)."""
        ...

    async def hold_reversal(self, rail: str, payment_ref: str, reason: str, now: datetime) -> None:
        """Keep a refund or dispute of a payment not recorded yet (webhooks come in any order)."""
        ...

    async def held_reversal(self, rail: str, payment_ref: str) -> str | None:
        """The reason of a reversal held for this payment, if one arrived before it."""
        ...


class PaymentGateway(Protocol):
    """A way to take money: cards through Stripe, Telegram Stars, a sandbox."""

    @property
    def rail(self) -> str:
        """The rail's name (``card``, ``stars``), stored with each payment."""
        ...

    def available_on(self, platform: str) -> bool:
        """Whether a person on this chat platform can pay on this rail."""
        ...

    def quote(self, price_cents: int) -> Money:
        """What a purchase of ``price_cents`` costs on this rail, in the rail's currency."""
        ...

    def price_range(self) -> tuple[int, int]:
        """The smallest and the largest price (US cents) this rail takes in one payment."""
        ...

    async def request_payment(self, purchase: Purchase, title: str) -> PaymentRequest:
        """How the fan pays ``purchase`` (a checkout URL, or an invoice to show).

        Idempotent per purchase: asking twice gives the same checkout, never two charges.
        """
        ...

    async def recent_events(self, since: datetime) -> list[PaymentReceived | PaymentReversed]:
        """Payments and reversals the provider reported since ``since``, oldest first.

        How a webhook that never arrived is recovered: each is processed like a delivery
        (and, by its event id, at most once). Rails whose platform delivers reliably
        (Telegram Stars) return nothing.
        """
        ...

    async def refund(self, payment_ref: str, payer: str | None) -> str:
        """Give a payment back in full; the provider's refund id.

        Idempotent: when the payment was refunded already, that refund's id is returned.
        Raises ``PaymentError`` when the provider refuses or cannot be reached.
        """
        ...


class Notifier(Protocol):
    """Tells a person something outside a conversation (a purchase finished, a refund)."""

    async def notify(self, person_id: int, key: str, params: Mapping[str, object]) -> bool:
        """Send the catalogue text ``key``; False when no chat can reach the person.

        Raises when the message could not be sent now (a network error, no chat frontend in
        this process): the caller tries again later.
        """
        ...
