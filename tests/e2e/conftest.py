"""Fixtures for the end-to-end tests: the Bot API emulator and the real ``one-bot`` program.

Without Node.js and npm these tests skip, unless ``CI`` is set: CI must run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import (
    EMULATOR_DIR,
    Emulator,
    Process,
    start_bot,
    start_emulator,
    wait_for,
)

StartBot = Callable[..., Process]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the Telegram emulator tests must run there)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, with the emulator's npm packages installed."""
    found = {tool: shutil.which(tool) for tool in ("node", "npm")}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        _unavailable(f"{' and '.join(missing)} not found: the Telegram emulator needs Node.js")
    if not (EMULATOR_DIR / "node_modules" / "telegram-test-api" / "package.json").exists():
        # `make test` installs them first; a bare `pytest` does it here.
        done = subprocess.run(
            [str(found["npm"]), "ci", "--no-audit", "--no-fund"],
            cwd=EMULATOR_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            _unavailable(f"`npm ci` in {EMULATOR_DIR} failed:\n{done.stderr[-2000:]}")
    node = found["node"]
    assert node is not None
    return node


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
        settings: dict[str, str] = {}
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
