"""Fakes of the purchase saga's repositories: ``purchases`` and ``processed_webhooks``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from core.purchases import Purchase, PurchaseState
from tests.fakes.store import FakeStore, to_millis

_FIXED = {"id", "fan_id", "token_id", "amount", "price_cents", "created_at", "updated_at"}
_MUTABLE = {f.name for f in fields(Purchase)} - _FIXED


def _due(p: Purchase) -> bool:
    return p.notified != p.state or (p.state is PurchaseState.COMPLETED and p.reversal is not None)


class FakePurchaseRepository:
    def __init__(self, db: FakeStore) -> None:
        self._db = db

    async def any_of_fan(self, fan_id: int) -> bool:
        return any(p.fan_id == fan_id for p in self._db.purchases.values())

    async def add(
        self, fan_id: int, token_id: int, amount: int, price_cents: int, now: datetime
    ) -> Purchase:
        self._db.require(fan_id, token_id)
        if amount <= 0 or price_cents <= 0:
            raise ValueError("ck_purchases_positive")
        at = to_millis(now)
        purchase = Purchase(
            id=self._db.next_id("purchases"),
            fan_id=fan_id,
            token_id=token_id,
            amount=amount,
            price_cents=price_cents,
            state=PurchaseState.PENDING,
            created_at=at,
            updated_at=at,
            notified=PurchaseState.PENDING.value,
        )
        self._db.purchases[purchase.id] = purchase
        return purchase

    async def get(self, purchase_id: int, *, for_update: bool = False) -> Purchase | None:
        return self._db.purchases.get(purchase_id)

    async def by_payment(self, rail: str, payment_ref: str) -> Purchase | None:
        for purchase in self._db.purchases.values():
            if purchase.rail == rail and purchase.payment_ref == payment_ref:
                return purchase
        return None

    async def update(
        self,
        purchase_id: int,
        changes: Mapping[str, Any],
        now: datetime,
        *,
        expected: PurchaseState | None = None,
    ) -> bool:
        unknown = set(changes) - _MUTABLE
        if unknown:
            raise ValueError(f"purchases: cannot change {sorted(unknown)}")
        purchase = self._db.purchases.get(purchase_id)
        if purchase is None or (expected is not None and purchase.state is not expected):
            return False
        values = dict(changes)
        if "state" in values:
            values["state"] = PurchaseState(values["state"])
        updated = replace(purchase, **values, updated_at=to_millis(now))
        if updated.payment_ref is not None:
            taken = await self.by_payment(updated.rail or "", updated.payment_ref)
            if taken is not None and taken.id != purchase_id:
                raise ValueError("uq_purchases_payment")
        self._db.purchases[purchase_id] = updated
        return True

    async def unfinished(self, limit: int) -> list[int]:
        return sorted(i for i, p in self._db.purchases.items() if _due(p))[:limit]

    async def completed_since(self, fan_id: int, token_id: int, since: datetime) -> int:
        return sum(
            p.amount
            for p in self._db.purchases.values()
            if p.fan_id == fan_id
            and p.token_id == token_id
            and p.state is PurchaseState.COMPLETED
            and p.created_at >= to_millis(since)
        )


class FakeWebhookRepository:
    def __init__(self, db: FakeStore) -> None:
        self._db = db

    async def hold_reversal(self, rail: str, payment_ref: str, reason: str, now: datetime) -> None:
        self._db.held_reversals.setdefault((rail, payment_ref), reason)

    async def held_reversal(self, rail: str, payment_ref: str) -> str | None:
        return self._db.held_reversals.get((rail, payment_ref))

    async def first_time(self, provider: str, event_id: str, now: datetime) -> bool:
        if (provider, event_id) in self._db.webhooks:
            return False
        self._db.webhooks.add((provider, event_id))
        return True
