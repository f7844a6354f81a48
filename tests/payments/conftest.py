"""Fixtures for the card payments: the bot's web routes on uvicorn, the sandbox server beside it.

``shop`` is the sandbox as the bot runs it: the webhook and checkout routes served over HTTP on
127.0.0.1, the sandbox's Stripe-compatible server (a child process) sending its signed webhooks
there, the gateway, and a fake catalogue of purchases answering ``describe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from adapters.payments.checkout_page import checkout_routes
from adapters.payments.sandbox_server import Sandbox, open_sandbox
from adapters.payments.stripe_gateway import StripePaymentGateway
from adapters.payments.stripe_webhook import WEBHOOK_PATH, stripe_webhook_route
from adapters.web.server import web_app
from core.purchases import PaymentReceived, PaymentReversed

# Seconds between an API call and its webhook in these tests (the bot uses Stripe-like 1 s).
WEBHOOK_DELAY = 0.2


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # pytest owns the signals


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serving(app: Starlette, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (a free port unless ``sock``); yield its URL."""
    sock = sock or free_socket()
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), "the test web server did not start"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``check()`` holds (webhooks arrive a moment after the API call)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


@dataclass
class Received:
    """The saga's side of the webhook route: what arrived, and failures to simulate."""

    paid: list[PaymentReceived] = field(default_factory=list)
    reversed: list[PaymentReversed] = field(default_factory=list)
    failures_left: int = 0

    async def on_paid(self, payment: PaymentReceived) -> None:
        self._maybe_fail()
        self.paid.append(payment)

    async def on_reversed(self, reversal: PaymentReversed) -> None:
        self._maybe_fail()
        self.reversed.append(reversal)

    def _maybe_fail(self) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("the database is locked (simulated)")


@dataclass
class Catalogue:
    """``describe`` of the checkout page, over purchases the test sets up."""

    items: dict[int, tuple[str, str, bool]] = field(default_factory=dict)
    calls: int = 0

    async def describe(self, purchase_id: int) -> tuple[str, str, bool] | None:
        self.calls += 1
        return self.items.get(purchase_id)


@dataclass
class Shop:
    url: str
    secret: str
    sandbox: Sandbox
    gateway: StripePaymentGateway
    received: Received
    catalogue: Catalogue
    http: httpx.AsyncClient

    async def intents(self) -> list[dict[str, object]]:
        """Every PaymentIntent the sandbox server holds."""
        response = await self.http.get(
            f"{self.sandbox.api_base}/v1/payment_intents",
            params={"limit": 1000},
            headers={"Authorization": f"Bearer {self.sandbox.api_key}"},
        )
        response.raise_for_status()
        data: list[dict[str, object]] = response.json()["data"]
        return data


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    received, catalogue = Received(), Catalogue()
    secret = "whsec_" + secrets.token_hex(16)
    sock = free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with contextlib.AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(
            open_sandbox(url + WEBHOOK_PATH, secret, webhook_delay=WEBHOOK_DELAY)
        )
        gateway = StripePaymentGateway.for_sandbox(sandbox, url)
        stack.push_async_callback(gateway.aclose)
        routes = [
            stripe_webhook_route(secret, received.on_paid, received.on_reversed),
            *checkout_routes(gateway, catalogue.describe),
        ]
        await stack.enter_async_context(serving(web_app(routes), sock))
        http = await stack.enter_async_context(httpx.AsyncClient(trust_env=False, timeout=10))
        yield Shop(url, secret, sandbox, gateway, received, catalogue, http)
