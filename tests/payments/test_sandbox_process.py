"""The sandbox server's process: it answers while open, and never outlives the bot."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx

from adapters.payments.sandbox_server import open_sandbox

ROOT = Path(__file__).resolve().parents[2]
BOT = """
import asyncio
from adapters.payments.sandbox_server import open_sandbox

async def main():
    async with open_sandbox("http://127.0.0.1:9/webhooks/stripe", "whsec_x") as sandbox:
        print(sandbox.api_base, flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


async def answers(http: httpx.AsyncClient, api_base: str) -> bool:
    try:
        await http.get(f"{api_base}/v1/payment_intents")
    except httpx.TransportError:
        return False
    return True


async def test_the_server_answers_on_localhost_until_closed() -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
        async with open_sandbox("http://127.0.0.1:9/webhooks/stripe", "whsec_x") as sandbox:
            assert sandbox.api_base.startswith("http://127.0.0.1:")
            listed = await http.get(
                f"{sandbox.api_base}/v1/payment_intents",
                headers={"Authorization": f"Bearer {sandbox.api_key}"},
            )
            assert listed.status_code == 200
            assert listed.json()["data"] == []
            anonymous = await http.get(f"{sandbox.api_base}/v1/payment_intents")
            assert anonymous.status_code == 401
        assert not await answers(http, sandbox.api_base)


async def test_the_server_exits_when_the_bot_is_killed() -> None:
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BOT,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert bot.stdout is not None
    api_base = (await asyncio.wait_for(bot.stdout.readline(), 30)).decode().strip()
    async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
        try:
            assert await answers(http, api_base)
        finally:
            bot.send_signal(signal.SIGKILL)  # no chance to clean up
            await bot.communicate()
        # The orphaned server sees its standard input close, and exits.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while await answers(http, api_base):
            assert loop.time() < deadline, "the sandbox server outlived the bot"
            await asyncio.sleep(0.05)
