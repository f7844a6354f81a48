"""Never a journey step twice (issue 6): ``kill -9`` mid-delivery, and two processes at once.

Both tests run real bot processes (``python -m tests.crash.journey_world``: the app built as
``one-bot chat`` builds it, its jobs run by ``bootstrap.servers``) over a database where 2,000
fans of one creator each have their journey's hook step due. The fans' platform is served by a
push that writes each message to a file and fsyncs it before reporting it sent, so what was
delivered is known from outside the process, whenever it dies (see journey_world.py).

1. ``kill -9`` (SQLite, and PostgreSQL where ``ONE_BOT_TEST_POSTGRES_URL`` is set): a bot is
   killed (SIGKILL) after a random number of deliveries, its restart likewise, then a third
   runs until every step is delivered. (Each restart is started while its predecessor works,
   builds its app, and starts its jobs right after the kill: the restart minus the seconds a
   process takes to start.) Then every fan got their hook message, and every run moved on
   from the hook exactly once: all at step 1, one ``journey_step`` event and one outbox row
   (``journey:<run>:hook``, sent) each.

   Duplicates: a step is performed once (its message and the run's move commit together, the
   message under a unique key), but a message is *sent* at least once: the outbox sender
   claims up to ``journeys.outbox_batch`` messages per drain and records their outcomes in
   small transactions as they finish (bot/outbox.py). A message already pushed when the
   process dies, its "sent" not yet committed, is pending again once its lease runs out and
   is pushed again by the next process. So a kill can repeat at most ``outbox_batch``
   messages (``OUTBOX_BATCH`` = 100, the in-flight window), all among the last
   ``outbox_batch`` the killed process pushed, as the previous drains were recorded before
   the last one claimed. In practice it is what was pushed since the last recording
   committed (outcomes are recorded per 16 or every second, and sends go on while a
   recording is under way): 5 to 25 per kill here. The test asserts the bound, prints what it
   measured, and asserts that no process repeats a message within its own life.
2. Two processes on PostgreSQL (skipped without ``ONE_BOT_TEST_POSTGRES_URL``) drain the same
   2,000 due runs at once, nobody killed: every step is delivered exactly once across both,
   and each delivered some.

A seed for the kill points can be fixed with ``ONE_BOT_TEST_SEED``; it is printed.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from adapters.db.engine import Database, open_database
from adapters.db.schema import events, identities, journey_runs, outbox
from core.journeys import STEPS, OutboxState, RunState
from core.model import EventType
from tests.conftest import settings_for, sqlite_url
from tests.crash.journey_world import FANS, PLATFORM, deliveries, fan, hook_text, populate
from tests.crash.kill_runs import ROOT, environment
from tests.e2e.harness import Process

KILLS = 2  # processes killed before the one that finishes
OUTBOX_BATCH = 100  # journeys.outbox_batch: messages one drain claims, the most a kill repeats
KILL_AFTER = (100, 700)  # a process is killed after this many deliveries (random in between)
LEASE_S = 3  # journeys.lease in the kill test: what a killed process held is free soon after
DEADLINE_S = 90.0  # for any one wait
SETTLE_S = 0.5  # after a kill, before reading what the dead bot left
HOOK = STEPS[0]
SEED_ENV = "ONE_BOT_TEST_SEED"


@pytest.fixture(params=["sqlite", "postgres"])
def journey_database(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> str:
    """An empty database at the schema's head: a SQLite file, or the session's PostgreSQL
    database emptied (skipped without ``ONE_BOT_TEST_POSTGRES_URL``)."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("emptied_postgres")
        return url
    path = tmp_path / "one-bot.db"
    shutil.copyfile(migrated_sqlite, path)
    return sqlite_url(path)


# --- bot processes -----------------------------------------------------------------------------


@dataclass
class Bot:
    """One bot process, the file of what it delivered, and the file it writes once built."""

    process: Process
    out: Path
    ready: Path

    def is_ready(self) -> bool:
        return self.ready.exists()

    def go(self) -> None:
        """Start its jobs (it waits for this once built)."""
        self.process.popen.send_signal(signal.SIGUSR1)

    def delivered(self) -> int:
        return self.out.read_bytes().count(b"\n") if self.out.exists() else 0

    def delivered_at_least(self, count: int) -> bool:
        return self.delivered() >= count

    def kill_9(self) -> int:
        """``kill -9``; how many messages it had delivered."""
        os.kill(self.process.popen.pid, signal.SIGKILL)
        assert self.process.stop() == -signal.SIGKILL
        return self.delivered()


@dataclass
class Bots:
    """Starts bot processes; ``close`` stops those still running."""

    database_url: str
    directory: Path
    settings: dict[str, str]
    started: list[Bot]

    def start(self) -> Bot:
        """A new bot process; it builds the app, then waits for ``go``."""
        n = len(self.started)
        out = self.directory / f"deliveries-{n}.jsonl"
        ready = self.directory / f"ready-{n}"
        env = environment(self.database_url, None) | self.settings  # a free web port each
        args = ["-m", "tests.crash.journey_world", "--out", str(out), "--ready", str(ready)]
        process = Process(
            f"bot {n}",
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            log=self.directory / f"bot-{n}.log",
        )
        bot = Bot(process, out, ready)
        self.started.append(bot)
        return bot

    def check_running(self) -> None:
        for bot in self.started:
            if bot.process.popen.returncode is None:
                bot.process.check_running()

    def close(self) -> None:
        for bot in self.started:
            bot.process.stop()


@pytest.fixture
def bots_for(tmp_path: Path) -> Iterator[Callable[..., Bots]]:
    made: list[Bots] = []

    def make(database_url: str, **settings: Any) -> Bots:
        journeys = {
            "tick_every": 0.1,
            "outbox_every": 0.1,
            "outbox_batch": OUTBOX_BATCH,
            **settings,
        }
        env = {f"ONE_BOT__JOURNEYS__{k.upper()}": str(v) for k, v in journeys.items()}
        made.append(Bots(database_url, tmp_path, env, []))
        return made[-1]

    yield make
    for bots in made:
        bots.close()


async def wait_until(condition: Callable[[], Any], what: str, bots: Bots) -> None:
    """Poll ``condition`` (sync or async) until true; fail if a running bot died."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        bots.check_running()
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {DEADLINE_S:.0f} s waiting for {what}")
        await asyncio.sleep(0.02)


# --- what the database says --------------------------------------------------------------------


async def progress(database: Database) -> dict[str, int]:
    """Runs still at the hook; outbox messages pending and sent."""

    def read(conn: Connection) -> dict[str, int]:
        at_hook = select(func.count()).where(journey_runs.c.step == 0)
        states = select(outbox.c.state, func.count()).group_by(outbox.c.state)
        found = {"at_hook": conn.execute(at_hook).scalar_one()}
        found |= {state: 0 for state in OutboxState}
        found |= {state: int(count) for state, count in conn.execute(states)}
        return found

    return await database.execute(read)


async def all_sent(database: Database, bots: Bots) -> bool:
    if sum(bot.delivered() for bot in bots.started) < FANS:
        return False  # not yet: no need to ask the database
    now = await progress(database)
    return now["at_hook"] == 0 and now[OutboxState.SENT] == FANS


async def check_each_step_performed_once(database: Database) -> None:
    """Every run moved on from the hook once (to step 1: none skipped a step, none went
    further), with one ``journey_step`` event and one outbox message, recorded sent."""

    def read(conn: Connection) -> tuple[list[Any], list[Any], Counter[tuple[int, str]]]:
        runs = conn.execute(select(journey_runs)).mappings().all()
        messages = conn.execute(select(outbox)).mappings().all()
        steps = conn.execute(
            select(events.c.entity_id, events.c.metadata).where(
                events.c.event_type == EventType.JOURNEY_STEP.value
            )
        ).all()
        return list(runs), list(messages), Counter((fan_id, m["step"]) for fan_id, m in steps)

    runs, messages, steps = await database.execute(read)
    assert len(runs) == FANS
    moved = (1, RunState.ACTIVE.value, 0)
    wrong = [dict(r) for r in runs if (r["step"], r["state"], r["attempts"]) != moved]
    assert not wrong, f"{len(wrong)} runs not just past the hook, e.g. {wrong[:3]}"
    run_of = {r["fan_id"]: r["id"] for r in runs}
    assert steps == {(fan_id, HOOK): 1 for fan_id in run_of}, "a run moved twice or never"
    keys = Counter((m["person_id"], m["dedupe_key"], m["state"]) for m in messages)
    expected = {(f, f"journey:{r}:{HOOK}", OutboxState.SENT.value): 1 for f, r in run_of.items()}
    assert keys == expected


def check_delivered(lines: list[tuple[str, str]], text: str) -> Counter[str]:
    """Every fan got the hook message (and nothing else); how often each got it."""
    assert {t for _, t in lines} == {text}
    times = Counter(chat for chat, _ in lines)
    assert set(times) == {fan(i).chat_id for i in range(FANS)}
    return times


async def unrecorded(database: Database, bot: Bot) -> set[str]:
    """The chats ``bot`` pushed a message to whose outbox row is not marked sent."""

    def read(conn: Connection) -> set[str]:
        people = outbox.join(identities, identities.c.user_id == outbox.c.person_id)
        chats = (
            select(identities.c.chat_id)
            .select_from(people)
            .where(identities.c.platform == PLATFORM, outbox.c.state != OutboxState.SENT.value)
        )
        return set(conn.execute(chats).scalars())

    pushed = {chat for chat, _ in deliveries(bot.out)}
    return pushed & await database.execute(read)


def check_repeats(per_bot: list[list[str]], windows: list[set[str]]) -> list[int]:
    """How many messages each kill repeated. No bot sends a message twice itself (a drain
    records what it sent before the next claims); what a later bot sends again of a killed
    bot's messages is exactly its window: pushed, not recorded as sent when it died. A window
    holds at most OUTBOX_BATCH messages, all among the last OUTBOX_BATCH the bot pushed (its
    last drain's claim)."""
    for n, chats in enumerate(per_bot):
        twice = [chat for chat, count in Counter(chats).items() if count > 1]
        assert not twice, f"bot {n} itself sent twice to {twice[:5]}"
    repeated = []
    for n, (chats, window) in enumerate(zip(per_bot[:-1], windows, strict=True)):
        later = {chat for after in per_bot[n + 1 :] for chat in after}
        again = [i for i, chat in enumerate(chats) if chat in later]
        assert {chats[i] for i in again} == window, f"bot {n}: repeated ≠ its window"
        assert len(again) <= OUTBOX_BATCH, (n, len(again))
        assert all(i >= len(chats) - OUTBOX_BATCH for i in again), (n, again, len(chats))
        repeated.append(len(again))
    return repeated


# --- the tests ----------------------------------------------------------------------------------


async def test_kill_9_mid_delivery_then_restart_delivers_every_step_once(
    journey_database: str, bots_for: Callable[..., Bots]
) -> None:
    started = time.monotonic()
    settings = settings_for(journey_database)
    await populate(settings)
    seed = int(os.environ.get(SEED_ENV) or random.randrange(2**32))
    rng = random.Random(seed)
    bots = bots_for(journey_database, lease=LEASE_S)
    database = open_database(journey_database)
    kills: list[str] = []
    windows: list[set[str]] = []  # per kill: pushed, not recorded as sent
    try:
        bot = bots.start()
        await wait_until(bot.is_ready, "the bot to start", bots)
        bot.go()
        for _ in range(KILLS):
            # The restart, built while this one works, takes over the moment it dies.
            restart = bots.start()
            after = rng.randint(*KILL_AFTER)
            await wait_until(partial(bot.delivered_at_least, after), f"{after} sent", bots)
            sent = bot.kill_9()
            killed = time.monotonic()
            await wait_until(restart.is_ready, "the restart to start", bots)
            # What the dead bot left, once a COMMIT it sent just before dying has surely landed
            # (PostgreSQL finishes a command whose client is gone); the restart is still idle.
            await asyncio.sleep(max(0.0, killed + SETTLE_S - time.monotonic()))
            left = await progress(database)
            windows.append(await unrecorded(database, bot))
            kills.append(
                f"killed after {sent} deliveries ({len(windows[-1])} not yet recorded): "
                f"{left['at_hook']} runs still at the hook, {left[OutboxState.PENDING]} "
                f"messages pending, {left[OutboxState.SENT]} sent"
            )
            restart.go()
            bot = restart
        await wait_until(lambda: all_sent(database, bots), "every message sent", bots)
        assert bot.process.stop() == 0, bot.process.output[-4000:]
        await check_each_step_performed_once(database)
    finally:
        await database.dispose()

    per_bot = [deliveries(bot.out) for bot in bots.started]
    times = check_delivered([line for lines in per_bot for line in lines], hook_text(settings))
    repeated = check_repeats([[chat for chat, _ in lines] for lines in per_bot], windows)
    duplicates = sum(times.values()) - FANS
    assert duplicates == sum(repeated) <= KILLS * OUTBOX_BATCH
    print(
        f"\nseed {seed}; " + "; ".join(kills) + f"; then the rest. {FANS} steps delivered, "
        f"{duplicates} twice (per kill {repeated}; bound {OUTBOX_BATCH} per kill, the "
        f"outbox batch); {time.monotonic() - started:.1f} s"
    )


async def test_two_processes_on_postgresql_never_deliver_a_step_twice(
    emptied_postgres: str, bots_for: Callable[..., Bots]
) -> None:
    started = time.monotonic()
    settings = settings_for(emptied_postgres)
    await populate(settings)
    bots = bots_for(emptied_postgres)  # the configured lease: no process ever waits for one
    pair = [bots.start(), bots.start()]
    database = open_database(emptied_postgres)
    try:
        await wait_until(lambda: all(bot.is_ready() for bot in pair), "both bots built", bots)
        for bot in pair:  # both start their work at once
            bot.go()
        await wait_until(lambda: all_sent(database, bots), "every message sent", bots)
        for bot in pair:
            assert bot.process.stop() == 0, bot.process.output[-4000:]
        await check_each_step_performed_once(database)
    finally:
        await database.dispose()

    per_bot = [deliveries(bot.out) for bot in pair]
    times = check_delivered([line for lines in per_bot for line in lines], hook_text(settings))
    twice = [chat for chat, count in times.items() if count > 1]
    assert not twice, f"{len(twice)} steps delivered twice, e.g. {twice[:5]}"
    shares = [len(lines) for lines in per_bot]
    assert all(shares), f"one process did all the work: {shares}"
    print(
        f"\n{FANS} steps delivered once each by two processes ({shares[0]} + {shares[1]}); "
        f"{time.monotonic() - started:.1f} s"
    )
