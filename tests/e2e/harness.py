"""Drives the Bot API emulator (``emulator/server.js``) and the real ``one-bot`` program over HTTP.

Everything listens on 127.0.0.1; every wait is bounded; every child process is reaped.
"""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

EMULATOR_DIR = Path(__file__).resolve().parent / "emulator"
ONE_BOT = Path(sys.executable).with_name("one-bot")
TOKEN = "123456:E2E-TEST-TOKEN"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WAIT_S = 15.0
READY = re.compile(r"telegram-test-api ready on (http://127\.0\.0\.1:\d+)")
LOCAL = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(
    condition: Callable[[], T | None],
    what: str,
    *,
    timeout: float = WAIT_S,
    watch: Callable[[], None] | None = None,
) -> T:
    """Poll ``condition`` until it returns something truthy; ``watch`` raises if a child died."""
    deadline = time.monotonic() + timeout
    while True:
        if watch is not None:
            watch()
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


class Process:
    """A child process writing to a log file; ``stop`` always reaps it."""

    def __init__(self, name: str, args: list[str], *, cwd: Path, env: Mapping[str, str], log: Path):
        self.name = name
        self.log_path = log
        self.killed = False  # by the test, on purpose: not a failure
        self._log = log.open("wb")
        self.popen = subprocess.Popen(
            args,
            cwd=cwd,
            env={**env, **LOCAL},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def check_running(self) -> None:
        code = self.popen.poll()
        if code is not None and not self.killed:
            raise AssertionError(f"{self.name} exited with {code}:\n{self.output[-4000:]}")

    def kill(self) -> None:
        """SIGKILL (a crash, a power cut): nothing of the process runs after it."""
        self.killed = True
        self.popen.kill()
        self.popen.wait()
        self._log.close()

    def stop(self, timeout: float = WAIT_S) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()
        return self.popen.returncode


def start_emulator(node: str, log: Path) -> tuple[Process, str]:
    """``node server.js 0``: the emulator on a free port; its process and base URL."""
    process = Process(
        "the emulator", [node, "server.js", "0"], cwd=EMULATOR_DIR, env=os.environ, log=log
    )
    try:
        found = wait_for(
            lambda: READY.search(process.output),
            "the emulator to listen",
            watch=process.check_running,
        )
    except BaseException:
        process.stop()
        raise
    return process, found.group(1)


def start_bot(tmp_path: Path, emulator_url: str, settings: Mapping[str, str]) -> Process:
    """``one-bot run`` against the emulator, with ``ONE_BOT__…`` ``settings`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONE_BOT__")}
    env.update(
        {
            "ONE_BOT__TELEGRAM__TOKEN": TOKEN,
            "ONE_BOT__TELEGRAM__BASE_URL": f"{emulator_url}/bot",
            "ONE_BOT__TELEGRAM__BASE_FILE_URL": f"{emulator_url}/file/bot",
            "ONE_BOT__TELEGRAM__POLL_INTERVAL": "0.02",
            "ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
            "ONE_BOT__CHAIN__MNEMONIC_FILE": str(tmp_path / "mnemonic"),
            "ONE_BOT__LOGGING__LEVEL": "INFO",
            **settings,
        }
    )
    return Process(
        "one-bot", [str(ONE_BOT), "run"], cwd=tmp_path, env=env, log=tmp_path / "bot.log"
    )


@dataclass(frozen=True, slots=True)
class User:
    """A Telegram user in a private chat with the bot (chat id = user id)."""

    id: int
    first_name: str

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name}

    def chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}

    def update(self, update_id: int, text: str) -> dict[str, Any]:
        """The Update JSON Telegram would post for this user sending ``text``."""
        message = {"message_id": update_id, "date": int(time.time()), "text": text}
        return {
            "update_id": update_id,
            "message": {**message, "from": self.json(), "chat": self.chat()},
        }


@dataclass(frozen=True, slots=True)
class Received:
    """A message the bot sent, as the user sees it (HTML rendered to plain text)."""

    message_id: int
    text: str
    buttons: tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)
    links: dict[str, str] = field(default_factory=dict)  # label → URL of the URL buttons
    # An invoice as sent (title, description, currency, total_amount, and its payload).
    invoice: dict[str, Any] | None = None
    document: str | None = None  # the file name of an attached document

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> Received:
        message = stored["message"]
        markup = message.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        rows = markup.get("inline_keyboard", [])
        buttons = tuple(tuple((b["text"], b.get("callback_data", "")) for b in row) for row in rows)
        links = {b["text"]: b["url"] for row in rows for b in row if b.get("url")}
        text = message.get("text") or message.get("caption") or ""
        if message.get("parse_mode") == "HTML":
            text = html.unescape(text)
        invoice = message.get("invoice")
        if invoice is not None:
            invoice = {**invoice, "payload": message.get("payload")}
        document = (message.get("document") or {}).get("file_name")
        return cls(stored["messageId"], text, buttons, links, invoice, document)

    @property
    def labels(self) -> list[list[str]]:
        return [[label for label, _ in row] for row in self.buttons]


class Emulator:
    """The user's side of the emulator: send as a user, read what the bot sent to a chat."""

    def __init__(self, url: str, http: httpx.Client, watch: list[Callable[[], None]]) -> None:
        self.url = url
        self._http = http
        self._watch = watch
        self._inbox: dict[int, list[Received]] = {}

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._http.post(path, json=body)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return response.json()["result"]

    def watch(self, check: Callable[[], None]) -> None:
        """Also fail waits at once when ``check`` raises (a child process has died)."""
        self._watch.append(check)

    def _check_processes(self) -> None:
        for check in self._watch:
            check()

    def state(self) -> dict[str, Any]:
        """What the bot did: Bot API method counts, its webhook, its command menu."""
        result: dict[str, Any] = self._http.get(f"/_e2e/bots/{TOKEN}").json()["result"]
        return result

    def say(self, user: User, text: str) -> Received:
        """The user sends ``text``; the bot's one reply."""
        body: dict[str, Any] = {"botToken": TOKEN, "from": user.json(), "chat": user.chat()}
        body |= {"text": text, "date": int(time.time())}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            body["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
        self._post("/sendCommand" if text.startswith("/") else "/sendMessage", body)
        return self.reply(user)

    def press(self, user: User, message: Received, label: str) -> Received:
        """The user presses the button ``label`` on ``message``; the bot's one reply."""
        data = next((d for row in message.buttons for lab, d in row if lab == label), None)
        assert data is not None, f"no button {label!r} in {message.labels}"
        pressed = {"message_id": message.message_id, "chat": user.chat()}
        body = {"botToken": TOKEN, "from": user.json(), "message": pressed, "data": data}
        self._post("/sendCallback", body)
        return self.reply(user)

    def send_update(self, update: dict[str, Any]) -> None:
        """Any raw Update (a pre-checkout query, a successful payment …), queued for the bot."""
        self._post("/sendUpdate", {"botToken": TOKEN, "update": update})

    def _fetch(self, user: User) -> list[Received]:
        stored = self._post("/getUpdates", {"token": TOKEN, "chatId": user.id})
        inbox = self._inbox.setdefault(user.id, [])
        inbox.extend(Received.from_stored(item) for item in stored)
        return inbox

    def reply(self, user: User, timeout: float = WAIT_S) -> Received:
        """The next message the bot sends to ``user``."""
        wait_for(
            lambda: self._fetch(user),
            f"a reply to {user.first_name}",
            timeout=timeout,
            watch=self._check_processes,
        )
        return self._inbox[user.id].pop(0)

    def silent(self, user: User, seconds: float = 1.0) -> None:
        """Nothing reaches ``user`` within ``seconds``."""
        time.sleep(seconds)
        self._check_processes()
        assert self._fetch(user) == [], f"unexpected message to {user.first_name}"


def pay_on_checkout_page(http: httpx.Client, url: str, card: str = "visa") -> httpx.Response:
    """Open the sandbox checkout page at ``url`` and submit its form with the test ``card``."""
    page = http.get(url)
    assert page.status_code == 200, f"{url}: {page.status_code} {page.text[:500]}"
    assert "Sandbox: no real money" in page.text
    fields = re.findall(r'name="(amount|sig)" value="([^"]*)"', page.text)
    form = {name: html.unescape(value) for name, value in fields}
    assert set(form) == {"amount", "sig"}, page.text[:2000]
    return http.post(url.split("?")[0], data={**form, "card": card})
