"""Buying creator tokens: a purchase is recorded, then paid on a rail (cards, Telegram Stars).

This module takes purchases and the payments that reach them; :mod:`core.services.saga` then
moves each paid purchase on (mint, credit, tell the fan; or refund, or claw back).

Payments arrive from outside (a signed webhook, Telegram's ``successful_payment``) and may
come twice, late, or for a purchase paid already. Each provider event is processed once
(``processed_webhooks``); a second payment of one purchase is given back; a payment whose
amount differs from the quote is refunded rather than fulfilled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Literal

from core.errors import (
    AmountNotPayable,
    InvalidInput,
    NoToken,
    PaymentError,
    PaymentUnavailable,
    PurchaseNotFound,
    PurchaseNotPayable,
    Reason,
)
from core.model import EventType, Relation, UserRef
from core.ports import Clock, PaymentGateway, UnitOfWork, UnitOfWorkFactory
from core.purchases import (
    Checkout,
    Money,
    PaymentReceived,
    PaymentReversed,
    Purchase,
    PurchaseState,
    purchase_id_of,
)
from core.services.creators import load_creator
from core.services.event_log import log_event
from core.services.identities import resolve_user
from core.services.tokens import token_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """What became of a reported payment: ``recorded`` (it paid ``purchase_id``),
    ``duplicate`` (seen before) or ``returned`` (it paid nothing and was refunded)."""

    outcome: Literal["recorded", "duplicate", "returned"]
    purchase_id: int | None
    # The purchase as recorded (for the saga, so it need not read it again).
    purchase: Purchase | None = None


MISMATCH = "paid amount differs from the quote"
_GIVEN_BACK = frozenset({PurchaseState.REFUNDING, PurchaseState.REFUNDED})


def parse_amount(value: str, maximum: int) -> int:
    """A whole number of tokens from 1 to ``maximum``, as typed (``100``, ``1,000``)."""
    text = value.strip().replace(",", "").replace("_", "")
    if not (text.isascii() and text.isdigit() and len(text) <= 12) or not (
        1 <= int(text) <= maximum
    ):
        raise InvalidInput(Reason.AMOUNT_INVALID, value=value.strip()[:20], maximum=maximum)
    return int(text)


class PurchaseService:
    """Starts purchases and records the payments (and reversals) providers report."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        gateways: Sequence[PaymentGateway],
        *,
        max_tokens: int,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._gateways = {gateway.rail: gateway for gateway in gateways}
        self._max_tokens = max_tokens

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def rails(self, platform: str) -> list[str]:
        """The rails a person on ``platform`` can pay with, in the configured order."""
        return [rail for rail, g in self._gateways.items() if g.available_on(platform)]

    async def start(self, who: UserRef, handle: str, amount: str, platform: str) -> Checkout:
        """Record ``amount`` tokens of ``handle``'s token, pending, and the ways to pay it.

        Refused (nothing recorded) with InvalidInput, CreatorNotFound, NoToken or
        PaymentUnavailable. A rail whose provider fails now is left out; if all do,
        PaymentUnavailable (the pending purchase stays, harmless, never paid).
        """
        count = parse_amount(amount, self._max_tokens)
        rails = self.rails(platform)
        if not rails:
            raise PaymentUnavailable()
        async with self._uow() as uow:
            fan_id = await resolve_user(uow, self._clock, who)
            creator = await load_creator(uow, handle)
            token = await token_of(uow, creator.id)
            if token is None:
                raise NoToken(handle=creator.handle)
            rails = self._payable(rails, token.price_cents, count)
            purchase = await uow.purchases.add(
                fan_id, token.id, count, token.price_cents * count, self._clock.now()
            )
            await log_event(
                uow,
                self._clock,
                token.id,
                EventType.PURCHASE_STARTED,
                actor_id=fan_id,
                metadata={"purchase_id": purchase.id, "amount": count},
            )
            await uow.commit()
        checkout = Checkout(purchase, token.symbol, creator.handle or "")
        requests = []
        for rail in rails:
            try:
                requests.append(
                    await self._gateways[rail].request_payment(purchase, checkout.title)
                )
            except PaymentError:
                log.exception("rail %s cannot take purchase %d now", rail, purchase.id)
        if not requests:
            raise PaymentUnavailable()
        return Checkout(purchase, token.symbol, checkout.creator_handle, tuple(requests))

    async def request(self, who: UserRef, purchase_id: int, rail: str, platform: str) -> Checkout:
        """A payment request on ``rail`` for a pending purchase of ``who`` (an invoice button)."""
        gateway = self._gateways.get(rail)
        if gateway is None or not gateway.available_on(platform):
            raise PaymentUnavailable()
        async with self._uow() as uow:
            fan_id = await resolve_user(uow, self._clock, who)
            checkout = await self._describe(uow, purchase_id)
            await uow.commit()
        if checkout is None:
            raise PurchaseNotFound()
        purchase = checkout.purchase
        if purchase.fan_id != fan_id or purchase.state != PurchaseState.PENDING:
            raise PurchaseNotPayable()
        self._payable([rail], purchase.price_cents // purchase.amount, purchase.amount)
        request = await gateway.request_payment(checkout.purchase, checkout.title)
        return Checkout(checkout.purchase, checkout.symbol, checkout.creator_handle, (request,))

    def _payable(self, rails: list[str], unit_cents: int, count: int) -> list[str]:
        """The rails that take ``count`` tokens at ``unit_cents`` in one payment.

        AmountNotPayable (with the fewest and the most tokens one payment can buy) if none.
        """
        total = unit_cents * count
        ranges = {rail: self._gateways[rail].price_range() for rail in rails}
        payable = [rail for rail, (lo, hi) in ranges.items() if lo <= total <= hi]
        if not payable:
            least = min(-(-lo // unit_cents) for lo, _ in ranges.values())
            most = max(hi // unit_cents for _, hi in ranges.values())
            raise AmountNotPayable(least=least, most=min(most, self._max_tokens))
        return payable

    async def describe(self, purchase_id: int) -> Checkout | None:
        """A purchase and what it buys (for a checkout page), or None if there is none."""
        async with self._uow() as uow:
            checkout = await self._describe(uow, purchase_id)
            await uow.commit()
        return checkout

    async def check_payable(self, who: UserRef, rail: str, payload: str, offered: Money) -> None:
        """Before money moves (Telegram's pre-checkout): may ``who`` pay ``offered`` for this?

        Raises PurchaseNotFound or PurchaseNotPayable (paid already, not theirs, price changed).
        """
        purchase_id = purchase_id_of(payload)
        gateway = self._gateways.get(rail)
        if purchase_id is None or gateway is None:
            raise PurchaseNotFound()
        async with self._uow() as uow:
            fan_id = await resolve_user(uow, self._clock, who)
            purchase = await uow.purchases.get(purchase_id)
            await uow.commit()
        if purchase is None:
            raise PurchaseNotFound()
        if (
            purchase.fan_id != fan_id
            or purchase.state != PurchaseState.PENDING
            or gateway.quote(purchase.price_cents) != offered
        ):
            raise PurchaseNotPayable()

    async def payment_received(self, event: PaymentReceived) -> PaymentOutcome:
        """Record a payment: what became of it, and the purchase the saga should now advance.

        Idempotent per ``event.event_id`` and per payment. Money that pays nothing (an unknown
        purchase, or one paid already) is given back before the event counts as processed, so
        a crash in between means the provider delivers it again and it is given back then.
        """
        gateway = self._gateways[event.rail]
        async with self._uow() as uow:
            if not await uow.webhooks.first_time(event.rail, event.event_id, self._clock.now()):
                return PaymentOutcome("duplicate", None)
            purchase = await uow.purchases.get(event.purchase_id, for_update=True)
            same = await uow.purchases.by_payment(event.rail, event.payment_ref)
            if same is not None:
                await uow.commit()  # the same payment, reported again under another event
                return PaymentOutcome("duplicate", same.id)
            if purchase is None or purchase.state != PurchaseState.PENDING:
                await self._return_payment(uow, gateway, event, purchase)
                await uow.commit()
                return PaymentOutcome("returned", None)
            matches = gateway.quote(purchase.price_cents) == event.paid
            # Refunded or disputed already (that webhook came first): nothing is minted.
            held = await uow.webhooks.held_reversal(event.rail, event.payment_ref)
            changes = {
                "reversal": held,
                "state": PurchaseState.PAID if matches else PurchaseState.REFUNDING,
                "rail": event.rail,
                "payment_ref": event.payment_ref,
                "payer": event.payer,
                "paid_currency": event.paid.currency,
                "paid_amount": event.paid.amount,
                "last_error": None if matches else MISMATCH,
            }
            await uow.purchases.update(
                purchase.id, changes, self._clock.now(), expected=PurchaseState.PENDING
            )
            await log_event(
                uow,
                self._clock,
                purchase.token_id,
                EventType.PURCHASE_PAID,
                actor_id=purchase.fan_id,
                metadata={
                    "purchase_id": purchase.id,
                    "rail": event.rail,
                    "currency": event.paid.currency,
                    "amount": event.paid.amount,
                    "matches_quote": matches,
                },
            )
            await uow.commit()
        recorded = replace(
            purchase,
            state=PurchaseState.PAID if matches else PurchaseState.REFUNDING,
            rail=event.rail,
            payment_ref=event.payment_ref,
            payer=event.payer,
            paid_currency=event.paid.currency,
            paid_amount=event.paid.amount,
            last_error=None if matches else MISMATCH,
            reversal=held,
        )
        if held is None:
            # A reversal committed while this ran (PostgreSQL runs both at once) held itself
            # for this payment after we looked: look again, now that ours is committed.
            late = await self._apply_held(event.rail, event.payment_ref, purchase.id)
            recorded = replace(recorded, reversal=late or None)
        return PaymentOutcome("recorded", purchase.id, recorded)

    async def _reverse_late(self, event: PaymentReversed) -> int | None:
        async with self._uow() as uow:
            purchase = await uow.purchases.by_payment(event.rail, event.payment_ref)
            if purchase is None or purchase.reversal is not None or purchase.state in _GIVEN_BACK:
                return None
            await uow.purchases.update(purchase.id, {"reversal": event.reason}, self._clock.now())
            await uow.commit()
        return purchase.id

    async def _apply_held(self, rail: str, payment_ref: str, purchase_id: int) -> str | None:
        async with self._uow() as uow:
            late = await uow.webhooks.held_reversal(rail, payment_ref)
            if late is not None:
                await uow.purchases.update(purchase_id, {"reversal": late}, self._clock.now())
                await uow.commit()
        return late

    async def payment_reversed(self, event: PaymentReversed) -> int | None:
        """Record a provider refund or dispute; the purchase to advance (claw back), if any."""
        async with self._uow() as uow:
            if not await uow.webhooks.first_time(event.rail, event.event_id, self._clock.now()):
                return None
            purchase = await uow.purchases.by_payment(event.rail, event.payment_ref)
            if purchase is None:
                # Its payment is not recorded yet (webhooks come in any order), or it is a
                # refund of money that paid nothing, or not ours: kept for when it comes.
                log.info("reversal of an unrecorded %s payment (%s)", event.rail, event.reason)
                await uow.webhooks.hold_reversal(
                    event.rail, event.payment_ref, event.reason, self._clock.now()
                )
            elif purchase.state not in _GIVEN_BACK and purchase.reversal is None:
                # (Given back already: our own refund, reported back to us.)
                await uow.purchases.update(
                    purchase.id, {"reversal": event.reason}, self._clock.now()
                )
                await log_event(
                    uow,
                    self._clock,
                    purchase.token_id,
                    EventType.PURCHASE_REVERSED,
                    metadata={"purchase_id": purchase.id, "reason": event.reason},
                )
            await uow.commit()
        if purchase is None:
            # Its payment may have committed meanwhile, having looked for this too early.
            return await self._reverse_late(event)
        return None if purchase.state in _GIVEN_BACK else purchase.id

    async def recover(self, window: timedelta) -> list[int]:
        """Process what providers reported in the last ``window`` that never reached us.

        A webhook lost on the way (the bot down, a network cut) is found again in the
        provider's event list; events processed before are skipped by their id. Returns the
        purchases the saga should now advance.
        """
        since = self._clock.now() - window
        due: list[int] = []
        for gateway in self._gateways.values():
            try:
                events = await gateway.recent_events(since)
            except PaymentError:
                log.exception("rail %s: cannot list recent events now", gateway.rail)
                continue
            for event in events:
                if isinstance(event, PaymentReceived):
                    outcome = await self.payment_received(event)
                    if outcome.outcome == "recorded" and outcome.purchase_id is not None:
                        due.append(outcome.purchase_id)
                elif (purchase_id := await self.payment_reversed(event)) is not None:
                    due.append(purchase_id)
        if due:
            log.warning("recovered %d payment events that no webhook delivered", len(due))
        return due

    async def _describe(self, uow: UnitOfWork, purchase_id: int) -> Checkout | None:
        purchase = await uow.purchases.get(purchase_id)
        if purchase is None:
            return None
        token = await uow.entities.get(purchase.token_id)
        issuers = await uow.connections.sources(purchase.token_id, Relation.ISSUED, 1)
        creator = await uow.entities.get(issuers[0]) if issuers else None
        symbol = str(token.properties.get("symbol", "")) if token else ""
        return Checkout(purchase, symbol, (creator.handle or "") if creator else "")

    async def _return_payment(
        self,
        uow: UnitOfWork,
        gateway: PaymentGateway,
        event: PaymentReceived,
        purchase: Purchase | None,
    ) -> None:
        refund = await gateway.refund(event.payment_ref, event.payer)
        log.warning(
            "returned a %s payment that paid nothing (purchase %s, %s)",
            event.rail,
            event.purchase_id,
            "unknown" if purchase is None else purchase.state,
        )
        if purchase is not None:
            await log_event(
                uow,
                self._clock,
                purchase.token_id,
                EventType.PAYMENT_RETURNED,
                actor_id=purchase.fan_id,
                metadata={"purchase_id": purchase.id, "rail": event.rail, "refund": refund},
            )
