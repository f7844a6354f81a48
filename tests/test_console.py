"""The console frontend as a newcomer uses it: the real `one-bot` program, piped."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from adapters.console.frontend import ConsoleFrontend
from adapters.db.migrate import head_revision
from bot.conversation import Button, Incoming, Invoice, MessageRef, Reply, Responder, Router
from tests.e2e.harness import free_port

ONE_BOT = Path(sys.executable).with_name("one-bot")
BASE_ENV = {
    "ONE_BOT__LOGGING__LEVEL": "WARNING",
    "ONE_BOT__CHAIN__MNEMONIC": "test test test test test test test test test test test junk",
}


def run(
    args: list[str], stdin: str, tmp_path: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        # The console serves the checkout page and payment webhooks: never on 8080 in tests.
        "ONE_BOT__WEB__PORT": str(free_port()),
        **BASE_ENV,
        **env,
    }
    environ.pop("ONE_BOT__TELEGRAM__TOKEN", None)
    environ.pop("ONE_BOT__DISCORD__TOKEN", None)
    return subprocess.run(
        [str(ONE_BOT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=environ,
        check=False,
    )


SESSION = """\
/as Alice
/register Alice Smith | alice@example.com | fitness, cooking
/profile bio I coach runners.
/as Bob
/creators fitness
1
1
/following
/follow alice
/as Alice
/events
/as Bob
/creator alice
1
7
/frobnicate
"""


def test_a_piped_session_registers_discovers_follows_and_unfollows(tmp_path: Path) -> None:
    done = run(["chat"], SESSION, tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("one-bot console — you are “guest”.")
    assert "Alice> /register Alice Smith" in out
    assert "🎉 You're a creator now: Alice Smith (@alice)." in out
    assert "  [1] @alice · 0 followers" in out
    assert "  [1] ➕ Follow" in out
    assert "✅ You now follow Alice Smith (@alice). They have 1 follower." in out
    assert "⚠️ You already follow @alice." in out
    assert "Bob followed you" in out
    assert "👋 You no longer follow Alice Smith (@alice)." in out
    assert "There is no button 7 on the last message." in out
    assert "I don't know /frobnicate" in out
    assert "Traceback" not in done.stderr


def test_state_survives_a_restart(tmp_path: Path) -> None:
    run(["chat"], "/as Alice\n/register Alice | alice@example.com | art\n", tmp_path)
    again = run(["chat"], "/as Bob\n/follow alice\n", tmp_path)
    assert "They have 1 follower." in again.stdout


def test_run_without_a_chat_token_opens_the_console(tmp_path: Path) -> None:
    done = run(["run"], "/help\n", tmp_path)
    assert done.returncode == 0
    assert "guest> /help" in done.stdout
    assert "/creators [NICHE]" in done.stdout


def test_without_a_mnemonic_one_is_generated_once_outside_the_repo(tmp_path: Path) -> None:
    kept = tmp_path / "keys" / "mnemonic"
    env = {"ONE_BOT__CHAIN__MNEMONIC": "", "ONE_BOT__CHAIN__MNEMONIC_FILE": str(kept)}
    first = run(["chat"], "/wallet\n", tmp_path, **env)
    assert "no chain.mnemonic configured" in first.stderr
    assert str(kept) in first.stderr
    assert kept.stat().st_mode & 0o777 == 0o600
    assert kept.read_text().strip() not in first.stderr + first.stdout
    again = run(["chat"], "/wallet\n", tmp_path, **env)
    assert "no chain.mnemonic configured" not in again.stderr
    address = first.stdout.split("kept for you by ONE): ")[1].split()[0]
    assert address in again.stdout  # the same keys, so the same wallet


def test_odd_input_never_ends_the_chat(tmp_path: Path) -> None:
    odd = "²\n" + "9" * 5000 + "\n"
    done = subprocess.run(
        [str(ONE_BOT), "chat"],
        input=odd.encode() + b"\xff\xfe broken bytes\n/help\n",
        capture_output=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, **BASE_ENV, "ONE_BOT__DATABASE__URL": f"sqlite:///{tmp_path}/odd.db"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr
    assert b"Here is what you can do" in done.stdout


def test_empty_input_exits_cleanly(tmp_path: Path) -> None:
    done = run(["chat"], "", tmp_path)
    assert done.returncode == 0
    assert done.stderr == ""


def test_reconcile_checks_the_ledger_against_the_chain(tmp_path: Path) -> None:
    run(
        ["chat"], "/as Alice\n/register Alice | alice@example.com | art\n/token ALICE 1\n", tmp_path
    )
    done = run(["reconcile"], "", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0 balances checked, 0 drifting"


def test_migrate_brings_the_schema_to_head(tmp_path: Path) -> None:
    done = run(["migrate"], "", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"database at revision {head_revision()}"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ONE_BOT__WEB__PORT": "not-a-port"}, "web.port"),
        ({"ONE_BOT__DATABASE__URL": "oracle://x"}, "database.url"),
    ],
)
def test_a_bad_setting_stops_the_bot_naming_the_key(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    done = run(["run"], "/help\n", tmp_path, **env)
    assert done.returncode == 2
    assert named in done.stderr
    assert done.stdout == ""


def test_config_file_option(tmp_path: Path) -> None:
    config = tmp_path / "mine.yaml"
    config.write_text("console:\n  default_person: Dana\n")
    done = run(["--config", str(config), "chat"], "/start\n", tmp_path)
    assert "you are “Dana”" in done.stdout
    assert "Welcome to ONE, Dana!" in done.stdout


# --- in process: notifications pushed to a person, and invoices --------------------------------

STARS = Invoice("10 ALICE tokens", "Tokens of @alice", "purchase:7", "XTR", 250, "10 ALICE")


class StubRouter:
    def __init__(self) -> None:
        self.commands: list[Any] = []
        self.seen: list[Incoming] = []

    async def dispatch(self, incoming: Incoming, responder: Responder) -> MessageRef | None:
        self.seen.append(incoming)
        if incoming.text == "/buy":
            return await responder.send(Reply("💳 Pay for 10 ALICE.", invoice=STARS))
        return await responder.send(Reply(f"done {incoming.button or incoming.text}"))


def console(router: StubRouter, stdin: Any = None, interactive: bool = False) -> ConsoleFrontend:
    return ConsoleFrontend(
        cast(Router, router),
        stdin or io.StringIO(),
        io.StringIO(),
        person="Bob",
        interactive=interactive,
    )


def screen(frontend: ConsoleFrontend) -> str:
    out = frontend._out  # the StringIO the console writes to
    assert isinstance(out, io.StringIO)
    return out.getvalue()


async def test_a_pushed_notification_shows_for_its_person_with_its_buttons() -> None:
    router = StubRouter()
    frontend = console(router)
    ref = await frontend.push(
        "Alice", Reply("Bob followed you", ((Button("Thank", "/thank bob"),),))
    )
    assert ref.chat_id == "alice"
    assert screen(frontend) == "🔔 For alice:\nBob followed you\n  [1] Thank\n\n"
    await frontend.handle_line("1")  # Bob has no buttons: pressing is refused
    assert "There is no button 1" in screen(frontend)
    await frontend.handle_line("/as Alice")
    await frontend.handle_line("1")  # Alice presses the notification's button
    assert [(i.user_id, i.button) for i in router.seen] == [("alice", "/thank bob")]


async def test_an_invoice_shows_as_text_and_says_it_is_for_telegram() -> None:
    frontend = console(StubRouter())
    await frontend.handle_line("/buy")
    shown = screen(frontend)
    assert "💳 Pay for 10 ALICE." in shown
    assert "[invoice: 10 ALICE tokens — 250 XTR]" in shown
    assert "This payment works on Telegram only." in shown


async def test_a_push_while_the_prompt_waits_redraws_the_prompt() -> None:
    read, write = os.pipe()
    with os.fdopen(read, "r") as stdin, os.fdopen(write, "w") as typed:
        frontend = console(StubRouter(), stdin, interactive=True)
        running = asyncio.create_task(frontend.run())
        async with asyncio.timeout(5):
            while not screen(frontend).endswith("Bob> "):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await frontend.push("alice", Reply("Bob followed you"))
        assert screen(frontend).endswith("\r\x1b[2K🔔 For alice:\nBob followed you\n\nBob> ")
        typed.close()  # end of input
        await asyncio.wait_for(running, 5)
