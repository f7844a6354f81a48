"""Journey steps from due to delivered: our engine and outbox against APScheduler's job store.

One run sets both sides up, then measures each in a child process of its own (so that their
memory and event loops are theirs alone), on the same number of fans (100k; ``--quick``: 10k):

- **ours**: the bot as ``one-bot run`` builds it (``bot.bootstrap.build``: SQLite in a temp dir,
  fakes for the chain, wallets and knowledge store, no payment rails). One creator registered
  through the router, one fan following them through the router (its rows are the pattern),
  then the other fans bulk-inserted as copies of that fan's rows (the user entity, the identity
  with a chat id, the ``user_created``, ``user_engaged`` and ``journey_started`` events, the
  following connection and the run at step 0), every run due now. Measured: the journey timer's
  ticks (``JourneyJobs.tick``: the engine, batch after batch) until no run is due, then the
  outbox timer's ticks (``OutboxJobs.tick``: ``OutboxSender.drain`` through
  ``ChatNotifier.deliver``) until the outbox is empty: every step from due to pushed.
- **baselines**: APScheduler 3.11's ``AsyncIOScheduler`` with a ``SQLAlchemyJobStore`` on a
  SQLite file (the same pragmas as ours: WAL, synchronous=NORMAL), one date job per fan, all due
  now (``misfire_grace_time=None``, ``coalesce=False``: every job runs, however late), each job
  rendering the same hook message and pushing it. Two of them, each in its own file:
  - **same work** (``keep``; the targets are against this one): before it pushes, each job does
    what ours does besides: records the step in the app's tables beside the job store (the
    fan's run row moved on and a ``journey_step`` event, one transaction) and schedules the
    fan's next step (a date job a day later: with APScheduler the job store is the schedule);
  - **push only**: nothing written, nothing scheduled: APScheduler's floor, shown beside.
  Measured: from ``scheduler.start()`` until every job has pushed (counted; missed or failed
  jobs are counted too). Adding the jobs (``add_job`` one by one, as an application would) is
  setup. The jobs name their function ``__main__:baseline_job``: this script must run them.

Both push into the same kind of recording push (no network): it keeps each chat id and the texts
seen. Figures: steps per second (ours also engine-only and sender-only), the longest
event-loop stall (a task sleeping 5 ms in a loop, its worst lateness; with the longest garbage
collection, which stalls the loop as much, and the worst stalls' phase), and memory: the peak RSS
growth of the child during the measured part (VmHWM, reset through /proc/self/clear_refs when
the measurement starts, minus VmRSS then), beside the child's whole peak RSS.
Targets: ours stalls ≤ 50 ms, grows ≤ a third of the same-work baseline's memory, dispatches
≥ 5× its rate (the ratios against the push-only baseline are printed beside).
Run: .venv/bin/python bench/journeys.py [--quick] [--fans N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# The fakes live with the tests; the repository root makes them importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# What both sides use while measured is imported before: the push, the message rendering.
from bot.conversation.messages import MessageRef, Reply
from bot.outbox import render as render_reply
from core.journey_templates import render

PLATFORM = "bench"
CREATOR, HANDLE, SYMBOL, PRICE_CENTS = "Alice", "alice", "ALICE", 150
STALL_TARGET_MS = 50.0
MEMORY_TARGET = 1 / 3  # ours ≤ this share of the baseline's
RATE_TARGET = 5.0  # ours ≥ this many times the baseline's
TICK_S = 0.005  # the stall monitor's sleep
BULK = 5_000  # rows per INSERT in the setup
RESULT = "RESULT "  # the line a child reports on


# --- what both sides share -----------------------------------------------------------------


class Recorder:
    """A platform's push that sends nothing: keeps the chat ids and the texts it was given."""

    def __init__(self, expected: int) -> None:
        self.chats: list[str] = []
        self.texts: set[str] = set()
        self.expected = expected
        self.done = asyncio.Event()

    async def push(self, chat_id: str, reply: Reply) -> MessageRef:
        self.chats.append(chat_id)
        self.texts.add(reply.text)
        if len(self.chats) >= self.expected:
            self.done.set()
        return MessageRef(chat_id, str(len(self.chats)))


class StallMonitor:
    """Sleeps TICK_S in a loop and notes how late it wakes up (the loop's stalls); also notes
    the garbage collector's pauses (which stall the loop too), to tell what a stall was."""

    def __init__(self) -> None:
        self.stalls: list[tuple[float, float, str]] = []  # (lateness s, at s, phase)
        self.phase = ""
        self.gc_pauses: list[tuple[float, int]] = []  # (seconds, generation)
        self._gc_started = 0.0
        self._started = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._started = time.perf_counter()
        gc.callbacks.append(self._gc)
        self._task = asyncio.create_task(self._watch())
        await asyncio.sleep(0)

    async def stop(self) -> dict[str, Any]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
        gc.callbacks.remove(self._gc)
        worst = sorted(self.stalls, reverse=True)[:3]
        gc_worst = max(self.gc_pauses, default=(0.0, 0))
        return {
            "stall_ms": worst[0][0] * 1000 if worst else 0.0,
            "worst_stalls": [
                f"{late * 1000:.1f} ms at {at:.1f} s ({phase})" for late, at, phase in worst
            ],
            "gc_pause_ms": gc_worst[0] * 1000,
            "gc_pause_generation": gc_worst[1],
            "gc_full_collections": sum(1 for _, generation in self.gc_pauses if generation == 2),
        }

    async def _watch(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(TICK_S)
            late = time.perf_counter() - started - TICK_S
            if late > 0.002:
                self.stalls.append((late, started - self._started, self.phase))

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_pauses.append((time.perf_counter() - self._gc_started, info["generation"]))


def _status_kib(name: str) -> int:
    found = re.search(rf"^{name}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(found.group(1)) if found else 0


@dataclass
class Memory:
    """RSS from the start of the measurement: VmHWM is reset then (Linux ≥ 4.0)."""

    start_kib: int = 0
    reset: bool = False

    def begin(self) -> None:
        gc.collect()
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.reset = True
        except OSError:
            self.reset = False  # VmHWM then includes the setup: said in the report
        self.start_kib = _status_kib("VmRSS")

    def figures(self) -> dict[str, Any]:
        peak = _status_kib("VmHWM")
        return {
            "rss_start_mib": self.start_kib / 1024,
            "peak_rss_mib": peak / 1024,
            "growth_mib": (peak - self.start_kib) / 1024,
            "peak_reset": self.reset,
        }


def hook() -> tuple[str, dict[str, Any]]:
    """The first step's text as configured (config.yaml ``journeys.steps.hook``), and the values
    the engine fills it with for the creator (core/services/journey_engine.py ``_values``)."""
    from bot.settings import load_settings

    step = load_settings(environ={}).journeys.steps["hook"]
    amount = -(-step.amount_usd * 100 // PRICE_CENTS)
    price = f"${step.amount_usd:,}"
    values = {"name": CREATOR, "handle": HANDLE, "symbol": SYMBOL, "amount": amount, "price": price}
    return step.text, values


def report(figures: Mapping[str, Any]) -> None:
    print(RESULT + json.dumps(figures), flush=True)


def log(text: str) -> None:
    print(text, flush=True)


# --- ours ----------------------------------------------------------------------------------


class Quiet:
    """The router's responder for the setup's commands."""

    stream_every = 0.0

    def __init__(self) -> None:
        self.replies: list[Reply] = []

    async def typing(self) -> None:
        return None

    async def send(self, reply: Reply) -> MessageRef:
        self.replies.append(reply)
        return MessageRef("setup", str(len(self.replies)))

    async def edit(self, ref: MessageRef, reply: Reply) -> None:
        return None

    async def answer_payment(self, ok: bool, error: str | None = None) -> None:
        return None

    async def download(self, attachment: Any) -> bytes:
        raise RuntimeError("no files here")


def _settings(db: Path) -> Any:
    from bot.settings import load_settings

    return load_settings(
        environ={
            "ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{db}",
            "ONE_BOT__LOGGING__LEVEL": "WARNING",
        }
    )


async def _build(db: Path, stack: AsyncExitStack) -> Any:
    from bot.bootstrap import build
    from tests.fakes import FakeTokenChain, FakeWallets
    from tests.fakes.ai import FakeKnowledgeStore

    return await build(
        _settings(db),
        stack,
        chain=FakeTokenChain(),
        wallets=FakeWallets(),
        gateways=[],
        knowledge_store=FakeKnowledgeStore(),
    )


async def setup_ours(db: Path, fans: int) -> None:
    """The creator and fan 0 through the router; fans 1… as copies of fan 0's rows."""
    from sqlalchemy import Connection, func, insert, select, update

    from adapters.db.schema import (
        connections,
        counters,
        entities,
        events,
        identities,
        journey_runs,
    )
    from adapters.db.sql import to_millis
    from bot.conversation import Incoming

    async with AsyncExitStack() as stack:
        app = await _build(db, stack)
        quiet = Quiet()
        for who, text in (
            (HANDLE, f"/register {CREATOR} | {HANDLE}@example.com | fitness"),
            (HANDLE, f"/token {SYMBOL} {PRICE_CENTS / 100:.2f}"),
            ("fan0", f"/follow {HANDLE}"),
        ):
            await app.router.dispatch(Incoming(PLATFORM, who, who, name=who, text=text), quiet)
        if "You now follow" not in quiet.replies[-1].text:
            raise RuntimeError(f"the setup's follow failed: {quiet.replies[-1].text}")

        def fill(conn: Connection) -> None:
            def one(query: Any) -> dict[str, Any]:
                return dict(conn.execute(query).mappings().one())

            person = one(select(identities).where(identities.c.platform_user_id == "fan0"))
            fan0 = person["user_id"]
            entity = one(select(entities).where(entities.c.id == fan0))
            following = one(select(connections).where(connections.c.from_entity_id == fan0))
            run = one(select(journey_runs).where(journey_runs.c.fan_id == fan0))
            told = conn.execute(
                select(events)
                .where((events.c.entity_id == fan0) | (events.c.actor_id == fan0))
                .order_by(events.c.id)
            ).mappings()
            pattern = [dict(row) for row in told]
            if sorted(e["event_type"] for e in pattern) != [
                "journey_started",
                "user_created",
                "user_engaged",
            ]:
                raise RuntimeError(f"a follow wrote other events: {pattern}")
            first = int(conn.execute(select(func.max(entities.c.id))).scalar_one()) + 1
            now = to_millis(datetime.now(UTC))

            def put(table: Any, make: Callable[[int, str], dict[str, Any]]) -> None:
                """Fan i (1 …) is entity ``first + i - 1``, platform user and chat ``fan{i}``."""
                for start in range(1, fans, BULK):
                    chunk = range(start, min(fans, start + BULK))
                    conn.execute(insert(table), [make(first + i - 1, f"fan{i}") for i in chunk])

            def copy(row: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
                return {**{k: v for k, v in row.items() if k != "id"}, **changes}

            def user(me: int, who: str) -> dict[str, Any]:
                return copy(entity, id=me, name=who, created_at=now, updated_at=now)

            def identity(me: int, who: str) -> dict[str, Any]:
                return copy(person, platform_user_id=who, user_id=me, chat_id=who, created_at=now)

            def told_about(event: Mapping[str, Any]) -> Callable[[int, str], dict[str, Any]]:
                def make(me: int, who: str) -> dict[str, Any]:
                    about, actor = event["entity_id"], event["actor_id"]
                    return copy(
                        event,
                        entity_id=me if about == fan0 else about,
                        actor_id=me if actor == fan0 else actor,
                        timestamp=now,
                    )

                return make

            def follows(me: int, who: str) -> dict[str, Any]:
                return copy(following, from_entity_id=me, created_at=now, updated_at=now)

            def journey(me: int, who: str) -> dict[str, Any]:
                return copy(run, fan_id=me, next_run_at=now, created_at=now, updated_at=now)

            put(entities, user)  # first: the other rows refer to them
            put(identities, identity)
            for event in pattern:
                put(events, told_about(event))
            put(connections, follows)
            put(journey_runs, journey)
            # Fan 0's run is due as theirs are; the creator has them all as followers.
            conn.execute(update(journey_runs).values(next_run_at=now))
            conn.execute(
                update(counters)
                .where(counters.c.entity_id == following["to_entity_id"])
                .where(counters.c.name == "followers")
                .values(value=fans)
            )

        started = time.perf_counter()
        await app.database.execute(fill)
        due = await app.database.execute(
            lambda c: c.execute(select(func.count()).select_from(journey_runs)).scalar_one()
        )
        if due != fans:
            raise RuntimeError(f"{due} runs set up, {fans} wanted")
        log(f"  ours: {fans:,} fans inserted in {time.perf_counter() - started:.1f} s")


async def run_ours(db: Path, fans: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from adapters.db.schema import journey_runs, outbox
    from jobs.journeys import JourneyJobs
    from jobs.outbox import OutboxJobs

    recorder = Recorder(fans)
    async with AsyncExitStack() as stack:
        app = await _build(db, stack)
        app.notifier.register(PLATFORM, recorder.push)
        settings = app.settings.journeys
        timer = JourneyJobs(app.services.journey_engine, batch=settings.batch)
        sender = OutboxJobs(app.outbox)
        memory, monitor = Memory(), StallMonitor()
        memory.begin()
        await monitor.start()
        started = time.perf_counter()
        performed = 0
        monitor.phase = "engine"
        while done := await timer.tick():
            performed += done
        engine_done = time.perf_counter()
        monitor.phase = "sender"
        while True:
            drained = await sender.tick()
            if drained is None:
                raise RuntimeError("a drain failed (see the log)")
            if not drained.claimed:
                break
        ended = time.perf_counter()
        stalls = await monitor.stop()
        figures = memory.figures()

        def tally(conn: Any) -> dict[str, int]:
            sent = select(func.count()).where(outbox.c.state == "sent")
            moved = select(func.count()).where(journey_runs.c.step == 1)
            return {
                "outbox_sent": conn.execute(sent).scalar_one(),
                "runs_at_step_1": conn.execute(moved).scalar_one(),
            }

        counts = await app.database.execute(tally)
    return {
        "side": "ours",
        "fans": fans,
        "performed": performed,
        "delivered": len(recorder.chats),
        "distinct_chats": len(set(recorder.chats)),
        "texts": sorted(recorder.texts),
        **counts,
        "seconds": ended - started,
        "engine_seconds": engine_done - started,
        "sender_seconds": ended - engine_done,
        **stalls,
        "engine_batch": settings.batch,
        "outbox_batch": settings.outbox_batch,
        **figures,
    }


# --- baseline ------------------------------------------------------------------------------


@dataclass
class _Baseline:
    recorder: Recorder
    text: str
    link: Callable[[str, str], str]
    keep: Any = None  # "keep": the engine of the app's tables; None: push only
    scheduler: Any = None
    missed: list[str] = field(default_factory=list)


_BASELINE: _Baseline | None = None
KINDS = ("push", "keep")  # the baselines: jobs that only push, jobs that also keep the journey
NEXT_STEP_S = 86_400  # the gift is due a day after the hook
_KEEP_MOVE = "UPDATE runs SET step = 1, next_run_at = :next, updated_at = :at WHERE id = :fan"
_KEEP_EVENT = (
    "INSERT INTO events (fan, type, at, metadata) VALUES (:fan, 'journey_step', :at, :meta)"
)


async def baseline_job(chat_id: str, values: dict[str, Any], fan: int = -1) -> None:
    """One fan's hook as an APScheduler job: render the message and push it. In the "keep"
    baseline it first does what ours does besides: records the step (the fan's run row moved
    on, an event, in one transaction of the app's database) and schedules the fan's next step
    (a date job a day later: with APScheduler the job store is the schedule)."""
    state = _BASELINE
    if state is None:
        raise RuntimeError("the baseline runs in its own child process")
    message = {"text": render(state.text, values), "buttons": []}
    reply = render_reply(message, PLATFORM, state.link)
    if state.keep is not None:
        from sqlalchemy import text

        now = datetime.now(UTC)
        at = int(now.timestamp() * 1000)
        with state.keep.begin() as conn:
            conn.execute(
                text(_KEEP_MOVE),
                {"next": at + NEXT_STEP_S * 1000, "at": at, "fan": fan},
            )
            conn.execute(
                text(_KEEP_EVENT),
                {"fan": fan, "at": at, "meta": json.dumps({"step": "hook", "state": "active"})},
            )
        state.scheduler.add_job(
            baseline_job,
            "date",
            run_date=now + timedelta(seconds=NEXT_STEP_S),
            args=[chat_id, values, fan],
            id=f"journey:{fan}:gift",
        )
    await state.recorder.push(chat_id, reply)


def _engine(path: Path) -> Any:
    from sqlalchemy import create_engine, event

    engine = create_engine(f"sqlite:///{path}")

    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    event.listen(engine, "connect", pragmas)
    return engine


def _job_store(path: Path) -> Any:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    return SQLAlchemyJobStore(engine=_engine(path))


def _scheduler(path: Path) -> Any:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    return AsyncIOScheduler(
        timezone="UTC",
        jobstores={"default": _job_store(path)},
        job_defaults={"misfire_grace_time": None, "coalesce": False, "max_instances": 1},
    )


_KEEP_SCHEMA = (
    "CREATE TABLE runs (id INTEGER PRIMARY KEY, step INTEGER NOT NULL, next_run_at BIGINT,"
    " updated_at BIGINT NOT NULL)",
    "CREATE TABLE events (id INTEGER PRIMARY KEY, fan INTEGER NOT NULL, type TEXT NOT NULL,"
    " at BIGINT NOT NULL, metadata TEXT NOT NULL)",
    "CREATE INDEX events_fan ON events (fan, at)",
)


async def setup_baseline(path: Path, fans: int, kind: str) -> float:
    """One date job per fan, due now, added one by one; the seconds it took. "keep": the
    app's tables too (a run row per fan; events), beside the job store in the same file."""
    from sqlalchemy import text

    _, values = hook()
    if kind == "keep":
        engine = _engine(path)
        with engine.begin() as conn:
            for statement in _KEEP_SCHEMA:
                conn.execute(text(statement))
            conn.execute(
                text("INSERT INTO runs (id, step, next_run_at, updated_at) VALUES (:i, 0, 0, 0)"),
                [{"i": i} for i in range(fans)],
            )
        engine.dispose()
    scheduler = _scheduler(path)
    scheduler.start(paused=True)  # the job store takes the jobs; nothing runs
    now = datetime.now(UTC)
    started = time.perf_counter()
    for i in range(fans):
        args = [f"fan{i}", values, i] if kind == "keep" else [f"fan{i}", values]
        scheduler.add_job(baseline_job, "date", run_date=now, args=args, id=f"journey:{i}:hook")
    took = time.perf_counter() - started
    scheduler.shutdown(wait=False)
    await asyncio.sleep(0.1)
    log(f"  baseline ({kind}): {fans:,} jobs added in {took:.1f} s")
    return took


async def run_baseline(path: Path, fans: int, limit_s: float, kind: str) -> dict[str, Any]:
    global _BASELINE
    # Imported before the clock runs: the executor start() makes, the stored jobs' trigger.
    for module in ("apscheduler.executors.asyncio", "apscheduler.triggers.date"):
        importlib.import_module(module)
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
    from sqlalchemy import text

    from bot.notifications import command_link

    recorder = Recorder(fans)
    scheduler = _scheduler(path)
    state = _BASELINE = _Baseline(
        recorder,
        hook()[0],
        lambda _p, payload: command_link(payload),
        keep=_engine(path) if kind == "keep" else None,
        scheduler=scheduler,
    )
    scheduler.add_listener(
        lambda event: state.missed.append(str(event.code)), EVENT_JOB_ERROR | EVENT_JOB_MISSED
    )
    memory, monitor = Memory(), StallMonitor()
    memory.begin()
    await monitor.start()
    started = time.perf_counter()
    monitor.phase = "scheduler"
    scheduler.start()
    finished = True
    try:
        await asyncio.wait_for(recorder.done.wait(), limit_s)
    except TimeoutError:
        finished = False
    ended = time.perf_counter()
    await asyncio.sleep(2 * TICK_S)  # the monitor notes the stall it woke up from
    stalls = await monitor.stop()
    figures = memory.figures()
    scheduler.shutdown(wait=False)
    await asyncio.sleep(0.1)
    engine = _engine(path)
    with engine.connect() as conn:
        left = conn.execute(text("select count(*) from apscheduler_jobs")).scalar_one()
        kept = {"runs_at_step_1": 0, "events": 0}
        if kind == "keep":
            kept = {
                "runs_at_step_1": conn.execute(
                    text("select count(*) from runs where step = 1")
                ).scalar_one(),
                "events": conn.execute(text("select count(*) from events")).scalar_one(),
            }
    engine.dispose()
    return {
        "side": f"baseline-{kind}",
        "kind": kind,
        "fans": fans,
        "finished": finished,
        "delivered": len(recorder.chats),
        "distinct_chats": len(set(recorder.chats)),
        "texts": sorted(recorder.texts),
        "missed_or_failed": len(state.missed),
        "jobs_left_in_store": left,
        **kept,
        "seconds": ended - started,
        **stalls,
        **figures,
    }


# --- the parent: setup, both children, the table --------------------------------------------


def child(side: str, fans: int, directory: Path, limit_s: float) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--side",
        side,
        "--fans",
        str(fans),
        "--dir",
        str(directory),
        "--limit",
        str(limit_s),
    ]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"the {side} side failed (exit {done.returncode})")
    figures: dict[str, Any] = json.loads(lines[-1][len(RESULT) :])
    return figures


def _ms(value: float) -> str:
    return f"{value:,.1f} ms"


def _rate(side: Mapping[str, Any]) -> float:
    return float(side["delivered"]) / float(side["seconds"])


def _table(sides: Sequence[Mapping[str, Any]], setup: Mapping[str, float]) -> None:
    ours, *bases = sides
    n = ours["fans"]

    def each(show: Callable[[Mapping[str, Any]], str]) -> list[str]:
        return [show(side) for side in sides]

    rows: list[tuple[str, list[str]]] = [
        ("steps / jobs", each(lambda s: f"{s['fans']:,}")),
        (
            "setup (not measured)",
            [f"{setup['ours']:.1f} s build+SQL"]
            + [f"{setup[b['side']]:.1f} s add_job ×{b['fans']:,}" for b in bases],
        ),
        ("due → all pushed", each(lambda s: f"{s['seconds']:.2f} s")),
        ("steps/s end to end", each(lambda s: f"{_rate(s):,.0f}")),
        (
            "  engine only",
            [f"{n / ours['engine_seconds']:,.0f} ({ours['engine_seconds']:.2f} s)"]
            + [""] * len(bases),
        ),
        (
            "  sender only",
            [f"{n / ours['sender_seconds']:,.0f} ({ours['sender_seconds']:.2f} s)"]
            + [""] * len(bases),
        ),
        ("longest loop stall", each(lambda s: _ms(s["stall_ms"]))),
        (
            "  longest GC pause",
            each(lambda s: f"{_ms(s['gc_pause_ms'])} (gen {s['gc_pause_generation']})"),
        ),
        ("  full collections", each(lambda s: f"{s['gc_full_collections']}")),
        ("peak RSS growth", each(lambda s: f"{s['growth_mib']:,.1f} MiB")),
        ("child's peak RSS", each(lambda s: f"{s['peak_rss_mib']:,.1f} MiB")),
        (
            "pushed (distinct chats)",
            each(lambda s: f"{s['delivered']:,} ({s['distinct_chats']:,})"),
        ),
    ]
    width = max(len(cell) for _, cells in rows for cell in cells) + 3
    names = ["ours", "APScheduler, push only", "APScheduler, same work"]
    header = f"{'':<25}" + "".join(f"{name:<{width}}" for name in names[: len(sides)])
    print(f"\n{header}\n{'-' * len(header)}")
    for label, cells in rows:
        print(f"{label:<25}" + "".join(f"{cell:<{width}}" for cell in cells))


def _problems(fans: int, ours: Mapping[str, Any], bases: Sequence[Mapping[str, Any]]) -> list[str]:
    problems = []
    if (ours["delivered"], ours["distinct_chats"], ours["outbox_sent"]) != (fans,) * 3:
        problems.append("ours did not push every step exactly once")
    if ours["runs_at_step_1"] != fans:
        problems.append(f"ours moved {ours['runs_at_step_1']:,} runs on, not {fans:,}")
    for base in bases:
        name = base["side"]
        if not base["finished"] or base["distinct_chats"] != fans:
            problems.append(f"{name} ran {base['delivered']:,} jobs of {fans:,}")
        # "keep" leaves each fan's next step in the store; "push" leaves nothing.
        expected_left = fans if base["kind"] == "keep" else 0
        if base["missed_or_failed"] or base["jobs_left_in_store"] != expected_left:
            problems.append(
                f"{name} missed or failed {base['missed_or_failed']} jobs, "
                f"left {base['jobs_left_in_store']} in its store ({expected_left} expected)"
            )
        if base["kind"] == "keep" and (base["runs_at_step_1"], base["events"]) != (fans, fans):
            problems.append(f"{name} kept {base['runs_at_step_1']} runs, {base['events']} events")
        if ours["texts"] != base["texts"] or len(ours["texts"]) != 1:
            problems.append(f"the messages differ: {ours['texts']} vs {base['texts']}")
    return problems


async def parent(fans: int, limit_s: float) -> int:
    print(
        f"Journey steps from due to delivered, {fans:,} fans · Python "
        f"{platform.python_version()} · {os.cpu_count()} CPUs",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        log("Setup …")
        started = time.perf_counter()
        await setup_ours(directory / "ours.db", fans)
        setup = {"ours": time.perf_counter() - started}
        for kind in KINDS:
            took = await setup_baseline(directory / f"jobs-{kind}.db", fans, kind)
            setup[f"baseline-{kind}"] = took
        sides: list[dict[str, Any]] = []
        for side in ("ours", *(f"baseline-{kind}" for kind in KINDS)):
            log(f"Measuring {side} …")
            sides.append(child(side, fans, directory, limit_s))
            log(f"  {sides[-1]['seconds']:.1f} s")
    _table(sides, setup)
    ours, push, keep = sides
    problems = _problems(fans, ours, [push, keep])
    for figures in sides:
        stalls = "; ".join(figures["worst_stalls"]) or "—"
        print(f"{figures['side']}'s worst stalls: {stalls}")
    for problem in problems:
        print(f"! {problem}")
    if not all(figures["peak_reset"] for figures in sides):
        print("! VmHWM could not be reset: the peaks include the children's start-up")

    # The targets are against the baseline doing the same work (the words); the
    # push-only baseline (nothing kept, no next step scheduled) is shown beside.
    print("\nTargets (against APScheduler doing the same work; push only in brackets)")
    memory = ours["growth_mib"] / keep["growth_mib"]
    rate = _rate(ours) / _rate(keep)
    targets = [
        (
            f"loop stall ≤ {STALL_TARGET_MS:.0f} ms (ours)",
            _ms(ours["stall_ms"]),
            ours["stall_ms"] <= STALL_TARGET_MS,
        ),
        (
            "memory ≤ 1/3 of the baseline's",
            f"{memory:.2f}× ({ours['growth_mib']:.1f} vs {keep['growth_mib']:.1f} MiB)"
            f" [{ours['growth_mib'] / push['growth_mib']:.2f}×]",
            memory <= MEMORY_TARGET,
        ),
        (
            f"dispatch ≥ {RATE_TARGET:.0f}× the baseline's rate",
            f"{rate:.2f}× [{_rate(ours) / _rate(push):.2f}×]",
            rate >= RATE_TARGET,
        ),
    ]
    for name, value, met in targets:
        print(f"  {name:<38}{value:<46}{'MET' if met else 'MISSED'}")
    print("\n" + json.dumps({"sides": sides, "setup_s": setup}, indent=2))
    return 0 if all(met for *_, met in targets) and not problems else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k fans instead of 100k")
    parser.add_argument("--fans", type=int, help="how many fans (overrides --quick)")
    parser.add_argument("--limit", type=float, default=900.0, help="seconds a baseline may take")
    sides = ("ours", *(f"baseline-{kind}" for kind in KINDS))
    parser.add_argument("--side", choices=sides, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    fans = args.fans or (10_000 if args.quick else 100_000)
    if args.side == "ours":
        report(asyncio.run(run_ours(args.dir / "ours.db", fans)))
        return 0
    if args.side is not None:
        kind = args.side.removeprefix("baseline-")
        path = args.dir / f"jobs-{kind}.db"
        report(asyncio.run(run_baseline(path, fans, args.limit, kind)))
        return 0
    return asyncio.run(parent(fans, args.limit))


if __name__ == "__main__":
    sys.exit(main())
