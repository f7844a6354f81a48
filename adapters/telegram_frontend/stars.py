"""Telegram Stars (currency ``XTR``) as a payment rail: quotes, invoices' payloads, refunds.

Taking the money needs no call here: the conversation sends the invoice as a ``Reply``, the fan
pays in Telegram, and the payment arrives as a ``successful_payment`` message. Only refunds
call the Bot API, through the running frontend's bot.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Bot
from telegram.error import TelegramError

from adapters.telegram_frontend.translate import PLATFORM
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

RAIL = "stars"
CURRENCY = "XTR"
# The most Stars one invoice may ask for (Telegram refuses larger invoices).
MAX_STARS = 10_000
# What the Bot API answers (400) when the charge was refunded before: the refund is done.
ALREADY_REFUNDED = "charge_already_refunded"


class StarsPaymentGateway:
    """``PaymentGateway`` for Telegram Stars; available to people on Telegram only.

    ``bot`` may come later through :meth:`attach` (the Telegram frontend is built after the
    services that use this gateway); until then a refund fails with ``PaymentError``.
    """

    def __init__(
        self, stars_per_usd: int, bot: Bot | None = None, *, max_stars: int = MAX_STARS
    ) -> None:
        if stars_per_usd < 1:
            raise ValueError("stars_per_usd must be at least 1")
        self._stars_per_usd = stars_per_usd
        self._max_stars = max_stars
        self._bot = bot

    def attach(self, bot: Bot) -> None:
        """Use ``bot`` (``TelegramFrontend.bot``) for refunds."""
        self._bot = bot

    @property
    def rail(self) -> str:
        return RAIL

    def available_on(self, platform: str) -> bool:
        return platform == PLATFORM

    def price_range(self) -> tuple[int, int]:
        # Telegram's most Stars per invoice, in the cents they stand for here.
        return 1, self._max_stars * 100 // self._stars_per_usd

    def quote(self, price_cents: int) -> Money:
        """Whole Stars, rounded up, never less than one."""
        stars = -(-price_cents * self._stars_per_usd // 100)  # ceil, in integers
        return Money(CURRENCY, max(1, stars))

    async def request_payment(self, purchase: Purchase, title: str) -> PaymentRequest:
        # Same purchase, same payload and price: asking twice shows the same invoice again.
        return PaymentRequest(
            rail=RAIL, price=self.quote(purchase.price_cents), payload=purchase_payload(purchase.id)
        )

    async def recent_events(self, since: datetime) -> list[PaymentReceived | PaymentReversed]:
        # Telegram keeps a successful_payment update until the bot has fetched it; the Bot
        # API has no list of past payments to recover from.
        return []

    async def refund(self, payment_ref: str, payer: str | None) -> str:
        """Give the Stars back; Telegram has no refund id, so the charge id is returned."""
        if self._bot is None:
            raise PaymentError("Telegram Stars refund: the Telegram frontend is not running")
        if payer is None or not payer.isascii() or not payer.isdigit():
            raise PaymentError(f"Telegram Stars refund needs the payer's user id, got {payer!r}")
        try:
            await self._bot.refund_star_payment(
                user_id=int(payer), telegram_payment_charge_id=payment_ref
            )
        except TelegramError as error:
            if ALREADY_REFUNDED in str(error).lower():
                log.info("Stars charge %s was refunded already", payment_ref)
                return payment_ref
            raise PaymentError(f"Telegram Stars refund of {payment_ref} failed: {error}") from error
        return payment_ref
