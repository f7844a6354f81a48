"""Fulfilled token purchases per second with 50 fans at once, beside raw mints per second.

The bot is built as ``one-bot run`` builds it (``bot.bootstrap.build``): SQLite, the embedded
EVM, the Stripe sandbox (localstripe in its child process) and the web server with the checkout
page and ``/webhooks/stripe``. 50 fans each buy ``--per-fan`` times (``/buy alice 3`` through
the router); a *separate process* plays their side (fans, browsers and Stripe are not the
bot's cost). Per round, in the same run on the same chain:

- **raw**: mint transactions straight to the chain adapter (``TokenChain.mint``, one reference
  each), 50 at a time: the chain's own cost;
- **saga**: each purchase is paid by Stripe's signed ``payment_intent.succeeded`` webhook,
  posted at full speed to ``/webhooks/stripe``; then the saga: mint, ledger credit, the fan
  told (fulfilled = told). Everything the bot does for a purchase, nothing it waits for;
- **sandbox end to end**: paid the way Stripe's hosted Checkout pays, a PaymentIntent confirmed
  with the test card on the sandbox's Stripe API; localstripe then sends its webhook (1 s
  later, as Stripe's are asynchronous). ``--via-page`` pays on the bot's own sandbox checkout
  page instead (GET + POST: that page's cost too).

Rate = purchases / (first /buy → last fulfilled). Also printed: the bot process's CPU time per
purchase (all its threads). Medians over the rounds; the target: saga / raw ≥ 0.8.
Run: .venv/bin/python bench/purchases.py [--rounds 3] [--per-fan 8] [--via-page]
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
from bot.conversation import Attachment, Incoming, MessageRef, Reply
from bot.settings import load_settings

FANS, PLATFORM, TARGET = 50, "bench", 0.8
MNEMONIC = "test test test test test test test test test test test junk"
PAYER = r"""
import asyncio, hashlib, hmac, json, re, sys, time, httpx
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
                if api.startswith("webhook:"):
                    # Stripe's signed payment_intent.succeeded, sent as Stripe would send it.
                    payload = json.dumps({"id": f"evt_bench_{purchase_id}", "object": "event",
                        "type": "payment_intent.succeeded", "created": int(time.time()),
                        "data": {"object": {"id": f"pi_bench_{purchase_id}",
                        "object": "payment_intent", "amount": int(cents),
                        "amount_received": int(cents), "currency": "usd",
                        "status": "succeeded", "metadata": {"purchase_id": purchase_id}}}})
                    stamp = int(time.time())
                    mac = hmac.new(key.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256)
                    paid = await http.post(api.removeprefix("webhook:"), content=payload,
                        headers={"Stripe-Signature": f"t={stamp},v1={mac.hexdigest()}",
                                 "Content-Type": "application/json"})
                elif api == "page":
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

    stream_every = 0.0

    async def download(self, attachment: Attachment) -> bytes:
        raise AssertionError("unexpected download")

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


async def saga_round(app: App, keep: Keep, per_fan: int, round_no: int, mode: str) -> float:
    keep.fulfilled, keep.done = [], asyncio.Event()
    keep.expected = FANS * per_fan

    sandbox, port = app.payments.sandbox, app.settings.web.port
    assert sandbox is not None
    assert app.payments.webhook_secret is not None
    api = {
        "page": ["page", "-"],
        "hosted": [sandbox.api_base, sandbox.api_key],
        "webhook": [
            f"webhook:http://127.0.0.1:{port}/webhooks/stripe",
            app.payments.webhook_secret,
        ],
    }[mode]
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
    return len(keep.fulfilled) / (max(keep.fulfilled) - start)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main(rounds: int, per_fan: int, end_to_end: str) -> int:
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
            await saga_round(app, keep, 1, 0, "webhook")
            rates: dict[str, list[float]] = {"raw": [], "saga": [], "sandbox": []}
            n = FANS * per_fan
            for r in range(1, rounds + 1):
                cpu = time.process_time()
                rates["raw"].append(await raw_mints(app, token, n, r))
                cpu_raw, cpu = (time.process_time() - cpu) / n * 1000, time.process_time()
                rates["saga"].append(await saga_round(app, keep, per_fan, 2 * r - 1, "webhook"))
                cpu_saga, cpu = (time.process_time() - cpu) / n * 1000, time.process_time()
                rates["sandbox"].append(await saga_round(app, keep, per_fan, 2 * r, end_to_end))
                cpu_sandbox = (time.process_time() - cpu) / n * 1000
                print(
                    f"  bot CPU per purchase: raw mint {cpu_raw:.1f} ms, saga {cpu_saga:.1f} ms, "
                    f"sandbox end to end {cpu_sandbox:.1f} ms",
                    flush=True,
                )
                print(
                    f"round {r}: raw {rates['raw'][-1]:.1f} mints/s · saga "
                    f"{rates['saga'][-1]:.1f}/s · sandbox end to end {rates['sandbox'][-1]:.1f}/s",
                    flush=True,
                )
            report = await app.services.tokens.reconcile()
            stop.set()
            await web
    raw, saga, sandbox = (statistics.median(rates[k]) for k in ("raw", "saga", "sandbox"))
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "fans": FANS,
                "purchases_per_round": FANS * per_fan,
                "raw_mints_per_s": round(raw, 1),
                "saga_fulfilled_per_s": round(saga, 1),
                "saga_ratio": round(saga / raw, 2),
                "sandbox_paid_via": end_to_end,
                "sandbox_fulfilled_per_s": round(sandbox, 1),
                "sandbox_ratio": round(sandbox / raw, 2),
                "ledger_balances_checked": report.checked,
                "drifts": len(report.drifts),
            },
            indent=2,
        )
    )
    ok = saga / raw >= TARGET and not report.drifts
    print(f"target: saga ratio ≥ {TARGET} → {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-fan", type=int, default=8)
    parser.add_argument("--via-page", action="store_true", help="pay on the sandbox page")
    args = parser.parse_args()
    end_to_end = "page" if args.via_page else "hosted"
    sys.exit(asyncio.run(main(args.rounds, args.per_fan, end_to_end)))
