"""Fakes of the payment ports: ``PaymentGateway`` (a rail) and ``Notifier``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.errors import PaymentError
from core.purchases import (
    Money,
    PaymentReceived,
    PaymentRequest,
    PaymentReversed,
    Purchase,
    purchase_payload,
)


@dataclass
class FakePaymentGateway:
    """A rail that records what it was asked. ``stars_per_cent`` > 0 quotes in Stars."""

    rail: str = "card"
    platforms: frozenset[str] | None = None  # None: every platform
    stars_per_usd: int = 0
    requested: list[int] = field(default_factory=list)
    refunds: dict[str, str] = field(default_factory=dict)  # payment_ref → refund id
    refund_calls: int = 0
    fail_refunds: int = 0  # the next N refunds raise PaymentError
    fail_requests: int = 0
    smallest_cents: int = 1
    largest_cents: int = 10**12
    # What the provider would list as recent events (webhooks that may never have arrived).
    events: list[PaymentReceived | PaymentReversed] = field(default_factory=list)

    def available_on(self, platform: str) -> bool:
        return self.platforms is None or platform in self.platforms

    def price_range(self) -> tuple[int, int]:
        return self.smallest_cents, self.largest_cents

    def quote(self, price_cents: int) -> Money:
        if self.stars_per_usd:
            return Money("XTR", max(1, -(-price_cents * self.stars_per_usd // 100)))
        return Money("usd", price_cents)

    async def request_payment(self, purchase: Purchase, title: str) -> PaymentRequest:
        if self.fail_requests:
            self.fail_requests -= 1
            raise PaymentError("provider down (scripted)")
        self.requested.append(purchase.id)
        url = None if self.stars_per_usd else f"https://pay.example/{purchase.id}"
        return PaymentRequest(
            self.rail, self.quote(purchase.price_cents), purchase_payload(purchase.id), url
        )

    async def recent_events(self, since: datetime) -> list[PaymentReceived | PaymentReversed]:
        return list(self.events)

    async def refund(self, payment_ref: str, payer: str | None) -> str:
        self.refund_calls += 1
        if self.fail_refunds:
            self.fail_refunds -= 1
            raise PaymentError("provider down (scripted)")
        return self.refunds.setdefault(payment_ref, f"re_{len(self.refunds) + 1}")


@dataclass
class FakeNotifier:
    """Records every notification; ``unreachable`` people are not reached."""

    sent: list[tuple[int, str, dict[str, object]]] = field(default_factory=list)
    unreachable: set[int] = field(default_factory=set)

    async def notify(self, person_id: int, key: str, params: Mapping[str, object]) -> bool:
        if person_id in self.unreachable:
            return False
        self.sent.append((person_id, key, dict(params)))
        return True

    def keys(self, person_id: int) -> list[str]:
        return [key for person, key, _ in self.sent if person == person_id]
