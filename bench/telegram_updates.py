"""Updates per second of /creator on Telegram, beside a bare python-telegram-bot echo bot.

Both run in this process on the same recording request layer (no network): real Update JSON →
``Application.process_update`` → handlers → Bot API calls answered by the recorder.

* bare echo: one ``TypeHandler`` that replies with the message's text — PTB's own floor;
* one-bot: the real frontend (per-chat ordering, outbound limiter with Telegram's limits lifted
  so it measures cost, not pacing; typing action) → conversation → core → SQLite, for
  ``/creator alice`` sent by different seeded fans.

Prints both rates and the cost ratio (time per update, ours / echo). Target: ≤ 2.

    .venv/bin/python bench/telegram_updates.py [--updates N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from adapters.telegram_frontend.limiter import Limits
from bot import bootstrap
from bot.settings import load_settings
from tests.telegram.bot_api import RecordingBotApi, Updates

UNLIMITED = Limits(per_second=1e9, private_per_second=1e9, private_burst=10**6)
ROUNDS = 5
FANS = 500


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


async def rate(
    process: Callable[[Update], Awaitable[None]],
    app: Application[Any, Any, Any, Any, Any, Any],
    payloads: list[dict[str, Any]],
) -> float:
    updates = [Update.de_json(p, app.bot) for p in payloads]
    started = time.perf_counter()
    for update in updates:
        await process(update)
    return len(updates) / (time.perf_counter() - started)


async def main(count: int) -> int:
    factory = Updates()
    payloads = [factory.message(10_000 + i % FANS, "/creator alice") for i in range(count)]

    bare_api = RecordingBotApi()
    bare = ApplicationBuilder().token("1:BARE").request(bare_api).build()
    bare.add_handler(TypeHandler(Update, echo))

    ours_api = RecordingBotApi()
    with tempfile.TemporaryDirectory() as folder:
        environ = {
            "ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{folder}/bench.db",
            "ONE_BOT__TELEGRAM__TOKEN": "1:OURS",
            "ONE_BOT__LOGGING__LEVEL": "WARNING",
        }
        async with AsyncExitStack() as stack:
            app = await bootstrap.build(load_settings(environ=environ), stack)
            frontend = bootstrap.telegram_frontend(app, request=ours_api, limits=UNLIMITED)
            ours = frontend.application
            async with bare, ours:
                # A creator, and fans who have all met the bot before (not first contact).
                register = factory.message(1, "/register Alice | alice@example.com | fitness")
                await ours.process_update(Update.de_json(register, ours.bot))
                for fan in range(FANS):
                    hello = Update.de_json(factory.message(10_000 + fan, "/start"), ours.bot)
                    await ours.process_update(hello)
                warm = payloads[: min(300, count)]
                await rate(bare.process_update, bare, warm)
                await rate(ours.process_update, ours, warm)
                bare_rates, our_rates = [], []
                for _ in range(ROUNDS):  # alternate, so a slow spell hits both alike
                    bare_rates.append(await rate(bare.process_update, bare, payloads))
                    our_rates.append(await rate(ours.process_update, ours, payloads))
    replies = [c.params["text"] for c in ours_api.sent("sendMessage")[-count:]]
    if not all(text.startswith("Alice (@alice)") for text in replies):
        print("error: /creator did not answer with the profile", file=sys.stderr)
        return 2
    bare_rate, our_rate = statistics.median(bare_rates), statistics.median(our_rates)
    ratio = bare_rate / our_rate
    print(f"{count:,} updates per run, median of {ROUNDS} alternating runs")
    print(f"  bare PTB echo handler      {bare_rate:8.0f} updates/s")
    print(f"  one-bot /creator (SQLite)  {our_rate:8.0f} updates/s")
    print(f"  cost ratio (time per update, one-bot / echo): {ratio:.2f}")
    print(f"Target: within 2x of the bare echo: {'MET' if ratio <= 2 else 'MISSED'}")
    return 0 if ratio <= 2 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=2000, help="updates per run")
    raise SystemExit(asyncio.run(main(parser.parse_args().updates)))
