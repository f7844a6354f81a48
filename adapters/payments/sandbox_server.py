"""The sandbox's Stripe-compatible server, as a child process of the bot.

Without Stripe keys the bot takes card payments in a sandbox: localstripe (a stateful Stripe
emulator, adapted in :mod:`adapters.payments.sandbox_app`) serves the Stripe API on 127.0.0.1
and sends signed webhooks to the bot, so the bot's code path is the same as with Stripe.

It runs in a child process (``python -m adapters.payments.sandbox_server``) rather than in the
bot's event loop: with its own interpreter lock it keeps answering while the bot's loop and the
embedded EVM's thread are busy, and localstripe's module-level state stays out of the bot. The
child listens on a free port, reports it on its standard output and exits when its standard
input closes — when the bot stops it, and also when the bot dies without stopping it.

Usage::

    async with open_sandbox("http://127.0.0.1:8080/webhooks/stripe", secret) as sandbox:
        client = stripe.StripeClient(sandbox.api_key, base_addresses={"api": sandbox.api_base})
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from adapters.payments.stripe_events import EVENT_TYPES
from core.errors import PaymentError

log = logging.getLogger(__name__)

MODULE = "adapters.payments.sandbox_server"
WEBHOOK_ID = "one-bot"
READY = "ready "
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
# The directory that holds the ``adapters`` package, for the child's import path.
SOURCE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Sandbox:
    """A running sandbox server: where its Stripe API is, and a key it accepts."""

    api_base: str
    api_key: str
    _http: httpx.AsyncClient

    async def refund(self, payment_intent: str) -> dict[str, Any]:
        """Refund a payment as if from Stripe's dashboard: ``charge.refunded`` follows."""
        return await self._post(f"/_sandbox/payment_intents/{payment_intent}/refund")

    async def dispute(self, payment_intent: str) -> dict[str, Any]:
        """The fan's bank disputes a payment: ``charge.dispute.created`` follows."""
        return await self._post(f"/_sandbox/payment_intents/{payment_intent}/dispute")

    async def _post(self, path: str) -> dict[str, Any]:
        try:
            response = await self._http.post(self.api_base + path)
        except httpx.HTTPError as exc:
            raise PaymentError(f"the sandbox payment server is unreachable ({exc!r})") from exc
        if response.status_code != 200:
            raise PaymentError(f"the sandbox payment server refused {path}: {response.text}")
        body: dict[str, Any] = response.json()
        return body


@contextlib.asynccontextmanager
async def open_sandbox(
    webhook_url: str, webhook_secret: str, *, webhook_delay: float = 1.0
) -> AsyncIterator[Sandbox]:
    """Start the sandbox server, send its webhooks to ``webhook_url``; stop it on exit.

    ``webhook_delay``: seconds between an API call and its webhook (Stripe's are asynchronous).
    Raises ``PaymentError`` when the server does not start.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_ROOT), env.get("PYTHONPATH")]))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        MODULE,
        "--port",
        "0",
        "--webhook-delay",
        str(webhook_delay),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        port = await _ready_port(process)
        api_base = f"http://127.0.0.1:{port}"
        # localstripe accepts any secret key; a fresh one marks these requests as ours.
        api_key = "sk_test_sandbox_" + secrets.token_hex(8)
        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {api_key}"}, timeout=10
        ) as http:
            config = {"url": webhook_url, "secret": webhook_secret, "events": list(EVENT_TYPES)}
            response = await http.post(f"{api_base}/_config/webhooks/{WEBHOOK_ID}", json=config)
            if response.status_code != 200:
                raise PaymentError(f"the sandbox payment server refused its webhook ({response})")
            log.info("sandbox payment server (no real money) on %s", api_base)
            yield Sandbox(api_base, api_key, http)
    finally:
        await _stop(process)


async def _ready_port(process: asyncio.subprocess.Process) -> int:
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
    except TimeoutError:
        line = b""
    text = line.decode(errors="replace").strip()
    if not text.startswith(READY.strip()):
        raise PaymentError("the sandbox payment server did not start (its messages are above)")
    return int(text.split()[-1])


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Close the child's standard input (it exits on that), and make sure it is gone."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        await asyncio.wait_for(process.communicate(), STOP_TIMEOUT)
    except TimeoutError:
        log.warning("the sandbox payment server did not stop in time; killing it")
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.communicate()


# --- the child process ---------------------------------------------------------------------


def _exit_when_input_closes(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """In a thread: read standard input until it ends (the parent closed it, or died)."""
    with contextlib.suppress(OSError, ValueError):
        while os.read(sys.stdin.fileno(), 4096):
            pass
    with contextlib.suppress(RuntimeError):  # the loop has ended already
        loop.call_soon_threadsafe(stop.set)


async def _serve(port: int, webhook_delay: float) -> None:
    from adapters.payments.sandbox_app import serving

    stop = asyncio.Event()
    watcher = threading.Thread(
        target=_exit_when_input_closes, args=(asyncio.get_running_loop(), stop), daemon=True
    )
    watcher.start()
    async with serving(port, webhook_delay) as bound:
        print(f"{READY}{bound}", flush=True)  # the only line ever written to standard output
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    """The child: serve the sandbox until standard input closes."""
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0: any free port (reported)")
    parser.add_argument("--webhook-delay", type=float, default=1.0)
    args = parser.parse_args(argv)
    # Ctrl-C in a terminal reaches the whole process group: the parent stops this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s"
    )
    asyncio.run(_serve(args.port, args.webhook_delay))


if __name__ == "__main__":
    main()
