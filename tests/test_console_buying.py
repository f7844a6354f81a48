"""Buying tokens in the console: the real `one-bot chat` program, typed at line by line.

The console runs the bot's web server beside it (the sandbox checkout page, Stripe's webhook):
a fan asks to buy, opens the checkout link the console prints, pays it over HTTP with the test
card, and is told in the console once the tokens are minted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import LOCAL, free_port, pay_on_checkout_page, wait_for

ONE_BOT = Path(sys.executable).with_name("one-bot")
MNEMONIC = "test test test test test test test test test test test junk"
WAIT_S = 20.0
CHECKOUT_URL = re.compile(r"^(http://127\.0\.0\.1:\d+/checkout/\d+\?\S+)$", re.MULTILINE)


class Console:
    """`one-bot chat` on pipes: type a line, wait for what it prints (never all input at once)."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self._stderr_path = tmp_path / "stderr.log"
        self._stderr = self._stderr_path.open("wb")
        self.popen = subprocess.Popen(
            [str(ONE_BOT), "chat"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._out = bytearray()
        self._lock = threading.Lock()
        self._seen = 0  # what `expect` has consumed of the output
        self._reader = threading.Thread(target=self._read, name="console-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        while chunk := os.read(fd, 65536):
            with self._lock:
                self._out += chunk

    @property
    def output(self) -> str:
        with self._lock:
            return self._out.decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")

    def _check_running(self) -> None:
        code = self.popen.poll()
        if code is not None:
            raise AssertionError(
                f"one-bot chat exited with {code}:\n{self.output[-3000:]}\n{self.stderr[-3000:]}"
            )

    def type(self, line: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(line.encode() + b"\n")
        self.popen.stdin.flush()

    def expect(self, pattern: str | re.Pattern[str], timeout: float = WAIT_S) -> str:
        """Wait until the output not yet consumed matches ``pattern``; everything up to the
        match's end (consumed). A string is matched literally."""
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))

        def found() -> re.Match[str] | None:
            return regex.search(self.output, self._seen)

        what = f"{regex.pattern!r} in the console"
        match = wait_for(found, what, timeout=timeout, watch=self._check_running)
        text = match.string[self._seen : match.end()]
        self._seen = match.end()
        return text

    def say(self, person: str, line: str, until: str) -> str:
        """Type ``line`` as ``person`` (already chosen with /as); the output up to ``until``."""
        self.type(line)
        self.expect(f"{person}> {line}\n")
        return self.expect(until)

    def close(self, timeout: float = WAIT_S) -> int:
        """End of input: the console stops its web server and exits; its exit code."""
        try:
            if self.popen.stdin is not None and not self.popen.stdin.closed:
                self.popen.stdin.close()
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        finally:
            self._reader.join(5)
            if self.popen.stdout is not None:
                self.popen.stdout.close()
            self._stderr.close()
        return self.popen.returncode


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[Console, str]]:
    """`one-bot chat` on a fresh SQLite file, its web server on a free port; and that URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONE_BOT__")}
    env |= {
        **LOCAL,
        "ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        "ONE_BOT__CHAIN__MNEMONIC": MNEMONIC,
        "ONE_BOT__WEB__PORT": str(port),
        "ONE_BOT__LOGGING__LEVEL": "WARNING",
    }
    running = Console(tmp_path, env)
    try:
        running.expect("one-bot console — you are “guest”.")
        yield running, f"http://127.0.0.1:{port}"
    finally:
        running.close()


def test_a_fan_buys_100_in_the_console_through_the_checkout_page(
    console: tuple[Console, str],
) -> None:
    chat, web = console
    chat.say("guest", "/as Alice", "\n\n")
    done = chat.say("Alice", "/register Alice | alice@example.com | fitness", "\n\n")
    assert "🎉 You're a creator now: Alice (@alice)." in done
    issued = chat.say("Alice", "/token ALICE 1.50", "\n\n")
    assert "🪙 $ALICE is live: $1.50 a token." in issued

    chat.say("Alice", "/as Bob", "\n\n")
    offer = chat.say("Bob", "/buy alice 100", "\n\n")
    assert "🛒 100 $ALICE of @alice for $150.00 (purchase #1)." in offer
    assert "Sandbox: no real money" in offer
    assert "[1] 💳 Pay $150.00 by card → http://127.0.0.1:" in offer
    assert "Stars" not in offer  # Telegram Stars are for Telegram only
    # Pressing the URL button prints its link (a terminal cannot open it).
    chat.type("1")
    chat.expect("Bob> 1\n")
    url = chat.expect(CHECKOUT_URL).strip()
    assert url.startswith(f"{web}/checkout/1?"), url
    assert url in offer  # the same link the button showed

    with httpx.Client(timeout=10, trust_env=False) as http:
        paid = pay_on_checkout_page(http, url)
    assert paid.status_code == 200, paid.text
    assert "Paid" in paid.text

    # The notification is printed for Bob, whoever is typing.
    chat.expect("🔔 For bob:\n")
    told = chat.expect("\n")
    assert told.startswith("🎉 100 $ALICE are yours (purchase #1)"), told

    balance = chat.say("Bob", "/balance", "\n\n")
    assert "100 $ALICE of @alice — $150.00 · on chain ✓" in balance, balance

    assert chat.close() == 0, chat.stderr[-4000:]
    assert "Traceback" not in chat.stderr, chat.stderr[-4000:]
