"""/buy HANDLE AMOUNT and /pay PURCHASE RAIL: start a purchase and offer the ways to pay it."""

from __future__ import annotations

from bot.conversation.context import Command, Context, UsageError
from bot.conversation.messages import Button, Invoice, Reply
from bot.conversation.texts import dollars, t
from core.purchases import Checkout, PaymentRequest


async def buy(ctx: Context) -> Reply:
    parts = ctx.require_args().split()
    if len(parts) != 2:
        raise UsageError()
    checkout = await ctx.services.purchases.start(
        ctx.who, parts[0], parts[1], ctx.incoming.platform
    )
    return offer(checkout)


async def pay(ctx: Context) -> Reply:
    parts = ctx.require_args().split()
    if len(parts) != 2 or not parts[0].isascii() or not parts[0].isdigit() or len(parts[0]) > 18:
        raise UsageError()
    checkout = await ctx.services.purchases.request(
        ctx.who, int(parts[0]), parts[1].lower(), ctx.incoming.platform
    )
    request = checkout.requests[0]
    if request.url is not None:
        return offer(checkout)
    return invoice(checkout, request)


def offer(checkout: Checkout) -> Reply:
    """The purchase, one button per way to pay, and the sandbox warning where it applies."""
    purchase = checkout.purchase
    price = dollars(purchase.price_cents)
    lines = [
        t(
            "buy.checkout",
            amount=purchase.amount,
            symbol=checkout.symbol,
            handle=checkout.creator_handle,
            price=price,
            purchase_id=purchase.id,
        )
    ]
    if any(request.sandbox for request in checkout.requests):
        lines.append(t("buy.sandbox"))
    lines += [t("buy.choose"), t("buy.after")]
    buttons = tuple((_button(checkout, request, price),) for request in checkout.requests)
    # Private: its pay buttons are this person's own checkout.
    return Reply("\n".join(lines), buttons=buttons, private=True)


def _button(checkout: Checkout, request: PaymentRequest, price: str) -> Button:
    if request.url is not None:
        return Button(t("buy.pay_card", price=price), url=request.url)
    label = t("buy.pay_stars", stars=f"{request.price.amount:,}")
    return Button(label, data=f"/pay {checkout.purchase.id} {request.rail}")


def invoice(checkout: Checkout, request: PaymentRequest) -> Reply:
    """An invoice the platform collects itself (Telegram Stars)."""
    purchase = checkout.purchase
    params = {
        "amount": purchase.amount,
        "symbol": checkout.symbol,
        "handle": checkout.creator_handle,
        "purchase_id": purchase.id,
        "stars": f"{request.price.amount:,}",
    }
    return Reply(
        t("buy.invoice_fallback", **params),
        invoice=Invoice(
            title=checkout.title,
            description=t("buy.invoice_description", **params),
            payload=request.payload,
            currency=request.price.currency,
            amount=request.price.amount,
            label=f"{purchase.amount} ${checkout.symbol}",
        ),
    )


COMMANDS = (
    Command("buy", buy),
    Command("pay", pay),
)
