"""The sandbox's Stripe-compatible server itself: localstripe's aiohttp app, adapted.

It runs in its own process (``python -m adapters.payments.sandbox_server``, started by
:func:`adapters.payments.sandbox_server.open_sandbox`), so it has its own interpreter lock and
its own copy of localstripe's module-level state. What is changed from localstripe 1.15.10:

- its store never touches the disk (it pickled everything to ``/tmp`` on every write);
- it listens on 127.0.0.1 only, without an access log;
- webhooks are delivered like Stripe's: signed when sent, retried with backoff until the
  receiver answers 2xx (localstripe tried once), over one shared HTTP session;
- a refund created through the API emits ``charge.refunded``, as Stripe does;
- sandbox-only routes stand in for what a real provider does on its own:
  ``POST /_sandbox/payment_intents/{id}/refund`` (a refund from the dashboard) and
  ``POST /_sandbox/payment_intents/{id}/dispute`` (a chargeback: ``charge.dispute.created``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import socket
import string
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import localstripe.resources as resources  # type: ignore[import-untyped]
import localstripe.server as server  # type: ignore[import-untyped]
import localstripe.webhooks as webhooks  # type: ignore[import-untyped]
from aiohttp import web

log = logging.getLogger("sandbox-stripe")

HOST = "127.0.0.1"
# Pauses between delivery attempts of one webhook (Stripe retries for days; a sandbox, minutes).
RETRY_PAUSES = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0, 60.0, 60.0)
DELIVERY_TIMEOUT = aiohttp.ClientTimeout(total=30)


class _Deliveries:
    """Sends each event to every registered webhook that wants it, until it is accepted."""

    def __init__(self, delay: float) -> None:
        self._delay = delay
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, event: Any) -> None:
        """Replaces ``localstripe.webhooks.schedule_webhook`` (keeps a reference to its task)."""
        payload = json.dumps(event._export(), indent=2, sort_keys=True).encode()
        task = asyncio.ensure_future(self._send(event.id, event.type, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, event_id: str, event_type: str, payload: bytes) -> None:
        await asyncio.sleep(self._delay)  # like Stripe: after the API call has answered
        hooks = [
            hook
            for hook in list(webhooks._webhooks.values())
            if hook.events is None or event_type in hook.events
        ]
        await asyncio.gather(*(self._deliver(hook, event_id, payload) for hook in hooks))

    async def _deliver(self, hook: Any, event_id: str, payload: bytes) -> None:
        for pause in (*RETRY_PAUSES, None):
            reason = await self._attempt(hook, payload)
            if reason is None:
                return
            if pause is None:
                log.error("gave up delivering %s to %s: %s", event_id, hook.url, reason)
                return
            log.warning(
                "%s not accepted by %s (%s); again in %g s", event_id, hook.url, reason, pause
            )
            await asyncio.sleep(pause)

    async def _attempt(self, hook: Any, payload: bytes) -> str | None:
        """One signed POST; None when accepted, else why not."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=DELIVERY_TIMEOUT)
        stamp = int(time.time())
        signature = hmac.new(
            hook.secret.encode(), b"%d.%s" % (stamp, payload), hashlib.sha256
        ).hexdigest()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": f"t={stamp},v1={signature}",
        }
        try:
            async with self._session.post(hook.url, data=payload, headers=headers) as response:
                await response.read()
                return None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return type(exc).__name__

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()


def _random_id(prefix: str) -> str:
    return prefix + "".join(random.choices(string.ascii_letters + string.digits, k=14))


class _Dispute:
    """A dispute-shaped object for ``charge.dispute.created`` (localstripe has no disputes)."""

    def __init__(self, charge: Any) -> None:
        self.id = _random_id("dp_")
        self.charge = charge.id
        self.payment_intent = charge.payment_intent
        self.amount = charge.amount
        self.currency = charge.currency
        self.reason = "fraudulent"
        self.status = "needs_response"
        self.created = int(time.time())

    def _export(self, expand: object = None) -> dict[str, Any]:
        return {"object": "dispute", "livemode": False, **vars(self)}


def _emit_refunds(schedule: Callable[[Any], None]) -> None:
    """Make every refund created through the API emit ``charge.refunded``, as Stripe does."""
    create = resources.StripeObject._api_create.__func__

    def create_and_emit(cls: Any, /, **data: Any) -> Any:
        refund = create(cls, **data)
        charge = resources.Charge._api_retrieve(refund.charge)
        schedule(resources.Event("charge.refunded", charge))
        return refund

    resources.Refund._api_create = classmethod(create_and_emit)


def _sandbox_routes(app: web.Application, schedule: Callable[[Any], None]) -> None:
    disputes: dict[str, Any] = {}

    def succeeded_charge(payment_intent_id: str) -> Any:
        intent = resources.PaymentIntent._api_retrieve(payment_intent_id)
        if intent.status != "succeeded":
            raise resources.UserError(400, "This PaymentIntent has not succeeded.")
        return intent.latest_charge

    async def refund(request: web.Request) -> web.Response:
        intent_id = request.match_info["id"]
        succeeded_charge(intent_id)
        created = resources.Refund._api_create(payment_intent=intent_id)
        return web.json_response(created._export())

    async def dispute(request: web.Request) -> web.Response:
        charge = succeeded_charge(request.match_info["id"])
        if charge.id not in disputes:  # one dispute per charge, as at Stripe
            disputes[charge.id] = _Dispute(charge)
            schedule(resources.Event("charge.dispute.created", disputes[charge.id]))
        return web.json_response(disputes[charge.id]._export())

    app.router.add_post("/_sandbox/payment_intents/{id}/refund", refund)
    app.router.add_post("/_sandbox/payment_intents/{id}/dispute", dispute)


def build_app(webhook_delay: float) -> tuple[web.Application, _Deliveries]:
    """localstripe's app with the changes above; call once per process (its state is global)."""
    store = resources.store
    store.dump_to_disk = lambda: None
    store.try_load_from_disk = lambda: None
    deliveries = _Deliveries(webhook_delay)
    # resources.py imported the function by name; patch both references.
    webhooks.schedule_webhook = resources.schedule_webhook = deliveries.schedule
    _emit_refunds(deliveries.schedule)
    app: web.Application = server.app
    _sandbox_routes(app, deliveries.schedule)
    return app, deliveries


@contextlib.asynccontextmanager
async def serving(port: int, webhook_delay: float) -> AsyncIterator[int]:
    """Serve the sandbox on 127.0.0.1:``port`` (0: any free port); yields the bound port."""
    app, deliveries = build_app(webhook_delay)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield sock.getsockname()[1]
    finally:
        await deliveries.aclose()
        await runner.cleanup()
        sock.close()
