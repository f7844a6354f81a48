"""Composition of the payment rails: Stripe (or its sandbox), Telegram Stars, their web routes."""

from __future__ import annotations

import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta

from starlette.routing import BaseRoute

from adapters.payments.checkout_page import checkout_routes
from adapters.payments.sandbox_server import Sandbox, open_sandbox
from adapters.payments.stripe_gateway import StripePaymentGateway
from adapters.payments.stripe_webhook import WEBHOOK_PATH as STRIPE_WEBHOOK_PATH
from adapters.payments.stripe_webhook import stripe_webhook_route
from adapters.telegram_frontend.stars import StarsPaymentGateway
from bot.background import Background
from bot.conversation.context import Services
from bot.conversation.texts import dollars
from bot.settings import Settings, public_url
from core.ports import PaymentGateway
from core.purchases import PaymentReceived, PaymentReversed, PurchaseState


@dataclass(slots=True)
class Payments:
    """The rails ``open_payments`` opened, and what the web server serves for them."""

    gateways: list[PaymentGateway]
    card: StripePaymentGateway | None = None
    stars: StarsPaymentGateway | None = None
    webhook_secret: str | None = None
    sandbox: Sandbox | None = None


async def open_payments(settings: Settings, stack: AsyncExitStack) -> Payments:
    """The configured rails: cards (Stripe, or its local sandbox) and Telegram Stars."""
    stripe_settings = settings.payments.stripe
    url = public_url(settings)
    sandbox: Sandbox | None = None
    if stripe_settings.api_key is not None:
        assert stripe_settings.webhook_secret is not None  # settings require both
        secret = stripe_settings.webhook_secret.get_secret_value()
        card = StripePaymentGateway(
            stripe_settings.api_key.get_secret_value(), url, api_base=stripe_settings.api_base
        )
    else:
        # The sandbox signs its webhooks with a secret only this process knows.
        secret = "whsec_" + secrets.token_hex(24)
        local = f"http://127.0.0.1:{settings.web.port}{STRIPE_WEBHOOK_PATH}"
        sandbox = await stack.enter_async_context(open_sandbox(local, secret))
        card = StripePaymentGateway.for_sandbox(sandbox, url)
    stack.push_async_callback(card.aclose)
    payments = Payments([card], card=card, webhook_secret=secret, sandbox=sandbox)
    if settings.payments.stars.enabled and settings.telegram.token is not None:
        stars = settings.payments.stars
        payments.stars = StarsPaymentGateway(stars.stars_per_usd, max_stars=stars.max_per_invoice)
        payments.gateways.append(payments.stars)
    return payments


def payment_routes(
    payments: Payments, services: Services, background: Background
) -> list[BaseRoute]:
    """Stripe's webhook (record, then advance in the background) and the checkout pages."""
    if payments.card is None or payments.webhook_secret is None:
        return []

    async def on_paid(event: PaymentReceived) -> None:
        outcome = await services.purchases.payment_received(event)
        if outcome.purchase_id is not None and outcome.outcome == "recorded":
            work = services.saga.advance(outcome.purchase_id, outcome.purchase)
            background.spawn(work, "purchase saga")

    async def on_reversed(event: PaymentReversed) -> None:
        purchase_id = await services.purchases.payment_reversed(event)
        if purchase_id is not None:
            background.spawn(services.saga.advance(purchase_id), "purchase clawback")

    async def describe(purchase_id: int) -> tuple[str, str, bool] | None:
        checkout = await services.purchases.describe(purchase_id)
        if checkout is None:
            return None
        purchase = checkout.purchase
        payable = purchase.state is PurchaseState.PENDING
        return checkout.title, dollars(purchase.price_cents), payable

    return [
        stripe_webhook_route(payments.webhook_secret, on_paid, on_reversed),
        *checkout_routes(payments.card, describe),
    ]


# Stripe retries a webhook for three days (its event list keeps thirty): at start-up the bot
# looks back that far; while it runs, each tick only needs the last hour.
RECOVERY_WINDOW = timedelta(days=3)
RECOVERY_TICK_WINDOW = timedelta(hours=1)


async def recover_and_advance(services: Services, window: timedelta = RECOVERY_WINDOW) -> int:
    """Process payment events no webhook delivered, then advance their purchases."""
    due = await services.purchases.recover(window)
    for purchase_id in due:
        await services.saga.advance(purchase_id)
    return len(due)
