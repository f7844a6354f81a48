"""Fixtures for the end-to-end tests: the Bot API emulator and the real ``one-bot`` program.

Without Node.js and npm these tests skip, unless ``CI`` is set: CI must run them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import (
    EMULATOR_DIR,
    Emulator,
    Process,
    free_port,
    start_bot,
    start_emulator,
    wait_for,
)
from tests.node_packages import node_with

StartBot = Callable[..., Process]


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, with the emulator's npm packages installed."""
    return node_with(EMULATOR_DIR, "telegram-test-api", "Telegram emulator")


@pytest.fixture
def telegram(node: str, tmp_path: Path) -> Iterator[Emulator]:
    """A fresh emulator on a free 127.0.0.1 port, stopped after the test."""
    process, url = start_emulator(node, tmp_path / "emulator.log")
    watch = [process.check_running]
    try:
        with httpx.Client(base_url=url, timeout=10, trust_env=False) as http:
            yield Emulator(url, http, watch)
    finally:
        process.stop()


def _taking_updates(telegram: Emulator, webhook_port: int | None) -> bool:
    """Polling: the bot has asked for updates. Webhook: it is registered and its server answers."""
    state = telegram.state()
    if webhook_port is None:
        return bool(state["calls"].get("getUpdates"))
    if state["webhook"] is None:
        return False
    try:
        health = httpx.get(f"http://127.0.0.1:{webhook_port}/health", timeout=1, trust_env=False)
    except httpx.TransportError:
        return False
    return health.status_code == 200


@pytest.fixture
def one_bot(telegram: Emulator, tmp_path: Path) -> Iterator[StartBot]:
    """Starts ``one-bot run`` against the emulator; returns once it takes updates."""
    started: list[Process] = []

    def start(*, webhook_port: int | None = None, secret: str | None = None) -> Process:
        # The web server always runs now (payment webhooks, the checkout page): never 8080.
        settings: dict[str, str] = {"ONE_BOT__WEB__PORT": str(free_port())}
        if webhook_port is not None:
            settings = {
                "ONE_BOT__TELEGRAM__MODE": "webhook",
                "ONE_BOT__TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}",
                "ONE_BOT__WEB__PORT": str(webhook_port),
            }
        if secret is not None:
            settings["ONE_BOT__TELEGRAM__WEBHOOK_SECRET"] = secret
        bot = start_bot(tmp_path, telegram.url, settings)
        started.append(bot)
        telegram.watch(bot.check_running)
        wait_for(
            lambda: _taking_updates(telegram, webhook_port),
            "one-bot to take updates",
            watch=bot.check_running,
        )
        return bot

    yield start
    for bot in started:
        bot.stop()
