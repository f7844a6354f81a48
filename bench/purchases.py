"""Fulfilled token purchases per second with 50 fans at once (sandbox), beside raw mints per second.

The bot is built as ``one-bot run`` builds it (``bot.bootstrap.build``): SQLite, the embedded
EVM, the Stripe sandbox (localstripe in its child process) and the web server with the checkout
page and ``/webhooks/stripe``. Per round:

- **raw**: mint transactions straight to the chain adapter (``TokenChain.mint``, one reference
  each), 50 at a time — the chain's own cost;
- **saga**: 50 fans each buy ``--per-fan`` times: ``/buy alice 3`` through the router; each is
  paid from a *separate process* (fans and their browsers are not the bot's cost) the way
  Stripe's hosted Checkout pays in production: a PaymentIntent confirmed with the test card on
  the sandbox's Stripe API, carrying the purchase id; then localstripe's signed webhook to the
  bot, and the saga (mint, ledger credit, the fan told). Fulfilled = the fan was told.
  ``--via-page`` pays through the bot's own sandbox checkout page instead (GET + POST), which
  adds that page's cost (in production the page is Stripe's).
  Rate = purchases / (first /buy → last fulfilled); the steady rate
  counts the 10th→90th percentile of fulfilment times (the sandbox delays each webhook by 1 s as
  Stripe does, a latency that is not throughput).

Rounds alternate raw/saga; medians are printed with their ratio (target ≥ 0.8).
Run: .venv/bin/python bench/purchases.py [--rounds 3] [--per-fan 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import httpx

from adapters.web.server import serve, web_app
from bot.bootstrap import App, build
from bot.conversation import Incoming, MessageRef, Reply
from bot.settings import load_settings

FANS, PLATFORM, TARGET = 50, "bench", 0.8
MNEMONIC = "test test test test test test test test test test test junk"
PAYER = r"""
import asyncio, re, sys, httpx
api, key = sys.argv[1], sys.argv[2]
async def main():
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    queue = asyncio.Queue()
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)) as http:
        async def worker():
            while (job := await queue.get()) is not None:
                url, purchase_id, cents = job
                if api == "page":
                    page = await http.get(url)
                    form = dict(re.findall(r'name="(amount|sig)" value="([^"]*)"', page.text))
                    paid = await http.post(url.split("?")[0], data={**form, "card": "visa"})
                else:
                    paid = await http.post(f"{api}/v1/payment_intents", headers={
                        "Authorization": f"Bearer {key}"}, data={
                        "amount": cents, "currency": "usd", "payment_method": "pm_card_visa",
                        "confirm": "true", "metadata[purchase_id]": purchase_id})
                assert paid.status_code == 200, paid.text
        workers = [asyncio.create_task(worker()) for _ in range(50)]
        while line := await reader.readline():
            queue.put_nowait(line.decode().split())
        for _ in workers: queue.put_nowait(None)
        await asyncio.gather(*workers)
asyncio.run(main())
"""


class Keep:
    """A responder that keeps replies; a push target that timestamps completions."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.fulfilled: list[float] = []
        self.done = asyncio.Event()
        self.expected = 0

    async def typing(self) -> None:
        pass

    async def send(self, reply: Reply) -> MessageRef:
        self.replies.append(reply)
        return MessageRef("c", str(len(self.replies)))

    async def edit(self, ref: MessageRef, reply: Reply) -> None:
        pass

    async def answer_payment(self, ok: bool, error: str | None = None) -> None:
        pass

    async def push(self, chat_id: str, reply: Reply) -> MessageRef:
        if "are yours" in reply.text:
            self.fulfilled.append(time.perf_counter())
            if len(self.fulfilled) >= self.expected:
                self.done.set()
        return MessageRef(chat_id, "0")


async def say(app: App, keep: Keep, person: str, text: str) -> Reply:
    incoming = Incoming(PLATFORM, person, person, name=person.title(), text=text)
    await app.router.dispatch(incoming, keep)
    return keep.replies[-1]


async def raw_mints(app: App, token: str, count: int, round_no: int) -> float:
    gate = asyncio.Semaphore(FANS)

    async def one(i: int) -> None:
        async with gate:
            holder = "0x" + f"{(i % FANS) + 1:040x}"
            await app.chain.mint(token, holder, 3, f"bench:raw:{round_no}:{i}")

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.perf_counter() - start)


async def saga_round(
    app: App, keep: Keep, per_fan: int, round_no: int, via_page: bool
) -> tuple[float, float]:
    keep.fulfilled, keep.done = [], asyncio.Event()
    keep.expected = FANS * per_fan

    sandbox = app.payments.sandbox
    assert sandbox is not None
    api = ["page", "-"] if via_page else [sandbox.api_base, sandbox.api_key]
    payer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PAYER, *api, stdin=asyncio.subprocess.PIPE
    )
    assert payer.stdin is not None
    await asyncio.sleep(0.5)  # the payer's imports, before the clock matters
    start = time.perf_counter()

    async def fan(index: int) -> None:
        # A fan buys, is sent to pay (the payer pays at once), and buys again.
        for _ in range(per_fan):
            offer = await say(app, keep, f"fan{round_no}_{index}", "/buy alice 3")
            [url] = [b.url for b in offer.all_buttons if b.url]
            purchase_id = offer.text.split("(purchase #", 1)[1].split(")", 1)[0]
            payer.stdin.write(f"{url} {purchase_id} 450\n".encode())  # type: ignore[union-attr]
            await asyncio.sleep(0)

    await asyncio.gather(*(fan(i) for i in range(FANS)))
    payer.stdin.close()
    await payer.wait()
    if payer.returncode != 0:
        raise SystemExit("the paying fans failed")
    await asyncio.wait_for(keep.done.wait(), timeout=600)
    times = sorted(keep.fulfilled)
    overall = len(times) / (times[-1] - start)
    lo, hi = times[len(times) // 10], times[len(times) * 9 // 10]
    steady = (len(times) * 8 // 10) / (hi - lo)
    return overall, steady


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main(rounds: int, per_fan: int, via_page: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        os.environ.update(
            {
                "ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
                "ONE_BOT__CHAIN__MNEMONIC": MNEMONIC,
                "ONE_BOT__WEB__PORT": str(port),
                "ONE_BOT__LOGGING__LEVEL": "WARNING",
            }
        )
        settings = load_settings()
        stop = asyncio.Event()
        async with AsyncExitStack() as stack:
            app = await build(settings, stack)
            keep = Keep()
            app.notifier.register(PLATFORM, keep.push)
            web = asyncio.create_task(serve(web_app(app.routes), "127.0.0.1", port, stop))
            async with httpx.AsyncClient() as http:
                for _ in range(200):
                    try:
                        await http.get(f"http://127.0.0.1:{port}/health")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            await say(app, keep, "alice", "/register Alice | alice@example.com | fitness")
            created = await say(app, keep, "alice", "/token ALICE 1.50")
            token = created.text.rsplit("Contract: ", 1)[1].strip()
            # Warm-up: a holder's first mint costs more gas.
            await saga_round(app, keep, 1, 0, via_page)
            raws, overall, steady = [], [], []
            for r in range(1, rounds + 1):
                raws.append(await raw_mints(app, token, FANS * per_fan, r))
                o, s = await saga_round(app, keep, per_fan, r, via_page)
                overall.append(o)
                steady.append(s)
                print(
                    f"round {r}: raw {raws[-1]:.1f} mints/s · saga {o:.1f}/s overall, "
                    f"{s:.1f}/s steady",
                    flush=True,
                )
            report = await app.services.tokens.reconcile()
            stop.set()
            await web
    raw, saga, saga_steady = (statistics.median(x) for x in (raws, overall, steady))
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "fans": FANS,
                "paid_via": "the bot's checkout page" if via_page else "the Stripe API (hosted)",
                "purchases_per_round": FANS * per_fan,
                "raw_mints_per_s": round(raw, 1),
                "fulfilled_per_s_overall": round(saga, 1),
                "fulfilled_per_s_steady": round(saga_steady, 1),
                "ratio_overall": round(saga / raw, 2),
                "ratio_steady": round(saga_steady / raw, 2),
                "ledger_balances_checked": report.checked,
                "drifts": len(report.drifts),
            },
            indent=2,
        )
    )
    ok = saga_steady / raw >= TARGET and not report.drifts
    print(f"target: steady ratio ≥ {TARGET} → {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-fan", type=int, default=8)
    parser.add_argument("--via-page", action="store_true", help="pay on the sandbox page")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.rounds, args.per_fan, args.via_page)))
