"""The checkout pages the bot serves itself.

- ``GET /checkout/done`` — where Stripe Checkout sends the fan back (``?cancelled=1`` when they
  gave up): a short page pointing back to the chat, where the bot tells them the outcome.
- Sandbox only: ``GET /checkout/{id}?amount=…&sig=…`` shows what is bought, clearly labelled
  as a sandbox, with a choice of test cards; ``POST`` to it charges the card on the sandbox's
  Stripe-compatible server, which then sends the signed ``payment_intent.succeeded`` webhook
  that completes the purchase — the same path as a real payment.

A link without this process's signature is answered 404. A purchase is charged once: a second
submission while the first is under way, or after it succeeded, charges nothing, and a purchase
that ``describe`` reports as not payable (already paid) is never charged.

Every sentence is in :data:`TEXTS` (for translation); everything inserted is escaped.
"""

from __future__ import annotations

import html
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adapters.payments.checkout_links import CHECKOUT_PATH, CheckoutLinks
from adapters.payments.stripe_gateway import DONE_PATH, TEST_CARDS, StripePaymentGateway
from core.errors import PaymentError

log = logging.getLogger(__name__)

# (title, price text, payable) of a purchase, or None when there is no such purchase.
Describe = Callable[[int], Awaitable[tuple[str, str, bool] | None]]

TEXTS = {
    "lang": "en",
    "checkout_title": "Checkout",
    "sandbox_banner": "Sandbox: no real money",
    "sandbox_note": "This is a test checkout: no card is charged. Choose a test card below.",
    "buying": "You are buying",
    "price": "Price",
    "card": "Test card",
    "card_visa": "Visa 4242 4242 4242 4242 (the payment succeeds)",
    "card_declined": "Declined card 4000 0000 0000 0341 (the payment is declined)",
    "pay": "Pay {price}",
    "paid_title": "Paid",
    "paid": "Paid — go back to the chat. The bot tells you there when your tokens arrive.",
    "declined_title": "Payment declined",
    "declined": "The card was declined and nothing was charged.",
    "try_again": "Try another card",
    "in_progress_title": "Payment under way",
    "in_progress": "This payment is being processed already. Go back to the chat.",
    "not_payable_title": "Nothing to pay",
    "not_payable": "This purchase is paid already or no longer open. Go back to the chat.",
    "not_found_title": "Link not valid",
    "not_found": "This checkout link is not valid (any more). Ask the bot again with /buy.",
    "unavailable_title": "Try again",
    "unavailable": "The sandbox payment server did not answer. Try again in a moment.",
    "done_title": "Thank you",
    "done": "Thank you! Go back to the chat: the bot tells you there when your tokens arrive.",
    "cancelled_title": "Payment cancelled",
    "cancelled": "The payment was cancelled and nothing was charged. Go back to the chat.",
}

CARD_LABELS = {"visa": "card_visa", "declined": "card_declined"}
MAX_FORM = 4096
REMEMBERED = 10_000  # paid purchases remembered until the webhook has marked them paid
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
    ".sandbox{background:#fff3cd;border:2px solid #e0a800;padding:.5rem 1rem;font-weight:bold}"
    "label{display:block;margin:.5rem 0}button{font-size:1.1rem;padding:.5rem 1.5rem}"
)


def checkout_routes(gateway: StripePaymentGateway, describe: Describe) -> list[Route]:
    """``/checkout/done``, and with a sandbox gateway the sandbox checkout page."""
    routes = [Route(DONE_PATH, done, methods=["GET"])]
    if gateway.links is not None:
        page = _SandboxCheckout(gateway, gateway.links, describe)
        path = CHECKOUT_PATH + "/{purchase_id:int}"
        routes.append(Route(path, page.show, methods=["GET"]))
        routes.append(Route(path, page.pay, methods=["POST"]))
    return routes


async def done(request: Request) -> Response:
    if request.query_params.get("cancelled"):
        return _page("cancelled_title", _p(TEXTS["cancelled"]), sandbox=False)
    return _page("done_title", _p(TEXTS["done"]), sandbox=False)


class _SandboxCheckout:
    def __init__(
        self, gateway: StripePaymentGateway, links: CheckoutLinks, describe: Describe
    ) -> None:
        self._gateway = gateway
        self._links = links
        self._describe = describe
        self._in_progress: set[int] = set()
        self._paid: OrderedDict[int, str] = OrderedDict()

    async def show(self, request: Request) -> Response:
        purchase_id = request.path_params["purchase_id"]
        query = request.query_params
        amount, sig = query.get("amount", ""), query.get("sig", "")
        cents = self._links.verify(purchase_id, amount, sig)
        described = await self._describe(purchase_id) if cents is not None else None
        if cents is None or described is None:
            return _not_found()
        title, price, payable = described
        if not payable or purchase_id in self._paid:
            return _page("not_payable_title", _p(TEXTS["not_payable"]))
        cards = "".join(
            f'<label><input type="radio" name="card" value="{value}"'
            f"{' checked' if value == 'visa' else ''}> {_e(TEXTS[label])}</label>"
            for value, label in CARD_LABELS.items()
        )
        body = (
            f"<h2>{_e(TEXTS['buying'])}</h2><p><strong>{_e(title)}</strong></p>"
            f"<p>{_e(TEXTS['price'])}: {_e(price)}</p>"
            f'<form method="post"><fieldset><legend>{_e(TEXTS["card"])}</legend>{cards}'
            f"</fieldset>"
            f'<input type="hidden" name="amount" value="{_e(amount)}">'
            f'<input type="hidden" name="sig" value="{_e(sig)}">'
            f"<p><button>{_e(TEXTS['pay'].format(price=price))}</button></p></form>"
        )
        return _page("checkout_title", body)

    async def pay(self, request: Request) -> Response:
        purchase_id = request.path_params["purchase_id"]
        form = await _form(request)
        cents = self._links.verify(purchase_id, form.get("amount", ""), form.get("sig", ""))
        card = form.get("card", "")
        if cents is None or card not in TEST_CARDS:
            return _not_found()
        if purchase_id in self._paid:
            return _page("not_payable_title", _p(TEXTS["not_payable"]))
        if purchase_id in self._in_progress:
            return _page("in_progress_title", _p(TEXTS["in_progress"]))
        self._in_progress.add(purchase_id)  # no await between the check and here
        try:
            return await self._charge(request, purchase_id, cents, card)
        finally:
            self._in_progress.discard(purchase_id)

    async def _charge(self, request: Request, purchase_id: int, cents: int, card: str) -> Response:
        described = await self._describe(purchase_id)
        if described is None:
            return _not_found()
        if not described[2]:
            return _page("not_payable_title", _p(TEXTS["not_payable"]))
        try:
            intent = await self._gateway.charge_test_card(purchase_id, cents, card)
        except PaymentError:
            log.exception("the sandbox checkout could not charge purchase %s", purchase_id)
            return _page("unavailable_title", _p(TEXTS["unavailable"]), status=503)
        if intent is None:
            link = f"{request.url.path}?{request.url.query}"
            again = f'<p><a href="{_e(link)}">{_e(TEXTS["try_again"])}</a></p>'
            return _page("declined_title", _p(TEXTS["declined"]) + again, status=402)
        self._paid[purchase_id] = intent
        while len(self._paid) > REMEMBERED:
            self._paid.popitem(last=False)
        log.info("sandbox checkout: purchase %s paid (%s)", purchase_id, intent)
        return _page("paid_title", _p(TEXTS["paid"]))


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form (the page's own); anything larger or odd reads as empty."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return {}
    try:
        fields = parse_qs(body.decode(), max_num_fields=10)
    except ValueError:
        return {}
    return {name: values[0] for name, values in fields.items()}


def _not_found() -> Response:
    return _page("not_found_title", _p(TEXTS["not_found"]), status=404)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _p(text: str) -> str:
    return f"<p>{_e(text)}</p>"


def _page(title_key: str, body: str, status: int = 200, *, sandbox: bool = True) -> HTMLResponse:
    title = _e(TEXTS[title_key])
    banner = (
        f'<p class="sandbox">{_e(TEXTS["sandbox_banner"])}</p><p>{_e(TEXTS["sandbox_note"])}</p>'
        if sandbox
        else ""
    )
    document = (
        f'<!doctype html><html lang="{_e(TEXTS["lang"])}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>"
        f"{banner}<h1>{title}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=HEADERS)
