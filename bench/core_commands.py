"""Commands per second for /creator, /creators NICHE and /follow: conversation → core → SQLite.

Per scale a fresh SQLite file is migrated by ``bot.bootstrap.build``; creators register through
the router; N users with identities, follows, events and counters are bulk-inserted as the
services write them. Replies are checked after timing; each /follow is new (undone after a run).
Rounds alternate between the scales; medians are reported; exit status 1 when a target is missed.
Run: .venv/bin/python bench/core_commands.py [--quick]    (1k vs 100k users; --quick: 10k)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Connection, Table, bindparam, delete, event, func, insert, select, update

from adapters.db.engine import Database
from adapters.db.schema import connections, counters, entities, events, identities
from bot.bootstrap import build
from bot.conversation import Attachment, Incoming, MessageRef, Reply, Router
from bot.conversation.texts import t
from bot.settings import load_settings

PLATFORM, CREATORS, BATCH, WARMUP = "bench", 100, 20_000, 200
NICHES = ("fitness", "cooking", "music", "gaming", "travel", "art", "tech", "fashion")
MODES = ("sequential", "concurrent")  # one command at a time; --concurrency asyncio tasks
KINDS = {"creator": "/creator HANDLE", "creators": "/creators NICHE", "follow": "/follow HANDLE"}
TARGET_PER_S, TARGET_RATIO = 1000.0, 1.5
SIZE = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"  # bytes
FOLLOWING = connections.c.relationship_type == "following"
FOLLOWERS = counters.c.name == "followers"
SET_FOLLOWERS = (
    update(counters)
    .where(counters.c.entity_id == bindparam("cid"), FOLLOWERS)
    .values(value=bindparam("n"))
)


class KeepingResponder:
    """A ``Responder`` that only keeps the replies, to be checked after timing."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []

    async def typing(self) -> None: ...

    async def send(self, reply: Reply) -> MessageRef:
        self.replies.append(reply)
        return MessageRef("bench", str(len(self.replies)))

    async def edit(self, ref: MessageRef, reply: Reply) -> None:
        raise AssertionError(f"unexpected edit: {reply.text!r}")

    async def answer_payment(self, ok: bool, error: str | None = None) -> None:
        raise AssertionError("unexpected payment")

    stream_every = 0.0

    async def download(self, attachment: Attachment) -> bytes:
        raise AssertionError("unexpected download")


Job = tuple[Incoming, str, str]  # a command; its success reply starts with …, contains …


def job(user: str, text: str, expect_start: str, expect_contains: str = "") -> Job:
    who = Incoming(PLATFORM, user_id=user, chat_id=user, name="Bench user", text=text)
    return who, expect_start, expect_contains


async def run_jobs(router: Router, jobs: Sequence[Job]) -> list[Reply]:
    responder = KeepingResponder()
    for incoming, _, _ in jobs:
        await router.dispatch(incoming, responder)
    return responder.replies


def check_replies(jobs: Sequence[Job], replies: Sequence[Reply]) -> None:
    for (incoming, start, part), reply in zip(jobs, replies, strict=True):
        if not reply.text.startswith(start) or part not in reply.text:
            raise RuntimeError(f"{incoming.text!r} got an unexpected reply:\n{reply.text}")


@dataclass
class Scale:
    label: str
    users: int
    router: Router
    db: Database
    rng: random.Random
    creators: list[tuple[int, str, str, tuple[str, ...]]] = field(default_factory=list)
    followed: list[int] = field(default_factory=list)  # [u] = index of the creator u follows
    followers: dict[int, int] = field(default_factory=dict)  # creator id → seeded followers
    first: int = 0  # entity id of the first seeded user
    max_ids: tuple[int, int] = (0, 0)  # highest connections.id, events.id after seeding
    rounds: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # s per command
    scans: list[str] = field(default_factory=list)  # full scans in the query plans

    def per_second(self, kind: str, mode: str) -> float:
        return 1 / statistics.median(self.rounds[kind, mode])


def niches_of(i: int) -> tuple[str, ...]:
    return tuple(dict.fromkeys((NICHES[i % 8], NICHES[(i * 3 + 1) % 8])))


async def seed(scale: Scale) -> None:
    for i in range(CREATORS):  # registered as people do, so all the service writes is there
        name, handle = f"Creator {i:03d}", f"creator{i:03d}"
        line = f"/register {name} | {handle}@bench.example | {', '.join(niches_of(i))}"
        jobs = [job(f"owner{i}", line, t("register.done", name=name, handle=handle))]
        check_replies(jobs, await run_jobs(scale.router, jobs))
    scale.followed = [scale.rng.randrange(CREATORS) for _ in range(scale.users)]
    made, engaged = {"platform": PLATFORM}, {"action": "followed"}

    def fill(conn: Connection) -> None:  # user u: entity first + u, platform user f"u{first + u}"
        query = select(entities.c.id, entities.c.handle, entities.c.name).order_by("handle")
        found = conn.execute(query.where(entities.c.type == "creator")).all()
        scale.creators = [(r.id, r.handle, r.name, niches_of(i)) for i, r in enumerate(found)]
        cids = [c[0] for c in scale.creators]
        first = scale.first = int(conn.execute(select(func.max(entities.c.id))).scalar_one()) + 1
        now = int(time.time() * 1000) - scale.users * 10

        def put(table: Table, row: Callable[[int, int, int], tuple[Any, ...]]) -> None:
            keys = table.c.keys()  # rows fill the leading columns; later ones keep defaults
            for start in range(0, scale.users, BATCH):
                batch = range(start, min(scale.users, start + BATCH))
                rows = [row(first + u, cids[scale.followed[u]], now + 10 * u) for u in batch]
                conn.execute(insert(table), [dict(zip(keys, r, strict=False)) for r in rows])

        put(entities, lambda me, to, at: (me, "user", None, "Bench user", {}, "active", at, at))
        put(identities, lambda me, to, at: (PLATFORM, f"u{me}", me, f"u{me}", at))
        put(events, lambda me, to, at: (None, me, "user_created", at, "system", None, made))
        put(events, lambda me, to, at: (None, to, "user_engaged", at + 5, "user", me, engaged))
        put(connections, lambda me, to, at: (None, me, to, "following", {}, at + 5, at + 5))
        counts = Counter(cids[c] for c in scale.followed)
        scale.followers = {cid: counts[cid] for cid in cids}
        conn.execute(SET_FOLLOWERS, [{"cid": c, "n": n} for c, n in scale.followers.items()])
        top = [select(func.max(connections.c.id)), select(func.max(events.c.id))]
        scale.max_ids = (conn.execute(top[0]).scalar_one(), conn.execute(top[1]).scalar_one())

    await scale.db.execute(fill)
    await check_consistency(scale, follows=scale.users)


async def check_consistency(scale: Scale, follows: int) -> None:
    """Followers counters equal the following connections; all people are there."""
    n = select(func.count()).where(connections.c.to_entity_id == counters.c.entity_id, FOLLOWING)
    checks = (
        select(func.count()).where(FOLLOWING),
        select(func.count()).where(identities.c.platform == PLATFORM),
        select(func.count()).where(FOLLOWERS, counters.c.value != n.scalar_subquery()),
    )
    got = await scale.db.execute(lambda c: tuple(c.execute(q).scalar_one() for q in checks))
    if got != (follows, scale.users + CREATORS, 0):
        raise RuntimeError(f"inconsistent (follows, people, wrong counters): {got}")


async def reset_follows(scale: Scale) -> None:
    """Remove what measured /follow commands added, so the next run starts from the seed."""

    def reset(conn: Connection) -> None:
        conn.execute(delete(events).where(events.c.id > scale.max_ids[1]))
        conn.execute(delete(connections).where(connections.c.id > scale.max_ids[0]))
        conn.execute(SET_FOLLOWERS, [{"cid": c, "n": n} for c, n in scale.followers.items()])

    await scale.db.execute(reset)


def make_jobs(scale: Scale, kind: str, count: int) -> list[Job]:
    if kind == "follow" and count > scale.users * (CREATORS - 1):
        raise ValueError(f"not enough creators for {count} new follows")
    jobs, order = [], scale.rng.sample(range(scale.users), scale.users)
    for k in range(count):
        u = order[k % scale.users]
        user = f"u{scale.first + u}"
        if kind == "creator":
            _, handle, name, niches = scale.rng.choice(scale.creators)
            niche_line = t("profile.niches", niches=", ".join(niches))
            header = t("profile.header", name=name, handle=handle)
            jobs.append(job(user, f"/creator {handle}", header, niche_line))
        elif kind == "creators":
            niche = NICHES[k % len(NICHES)]
            title = t("creators.title_niche", niche=niche)
            jobs.append(job(user, f"/creators {niche}", title, "(@creator"))
        else:  # a new follow: the k-th pass over the users follows the next creator along
            index = (scale.followed[u] + 1 + k // scale.users) % CREATORS
            _, handle, name, _ = scale.creators[index]
            done = t("follow.done", name=name, handle=handle, followers="\0").split("\0")[0]
            jobs.append(job(user, f"/follow {handle}", done))
    return jobs


async def measure(scale: Scale, kind: str, concurrency: int, count: int) -> float:
    """Seconds per command for ``count`` commands of ``kind``; /follow runs are undone after."""
    jobs = make_jobs(scale, kind, count)
    parts = [jobs[i::concurrency] for i in range(concurrency)]
    gc.collect()
    started = time.perf_counter()
    replies = await asyncio.gather(*(run_jobs(scale.router, part) for part in parts))
    elapsed = time.perf_counter() - started
    for part, got in zip(parts, replies, strict=True):
        check_replies(part, got)
    if kind == "follow":
        await check_consistency(scale, scale.users + count)
        await reset_follows(scale)
    return elapsed / count


async def check_plans(scale: Scale) -> None:
    """EXPLAIN QUERY PLAN each statement of one command of each kind; keep scans and sorts."""
    seen: dict[str, Any] = {}

    def capture(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        if not many and sql.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            seen.setdefault(sql, params)

    event.listen(scale.db.sync_engine, "before_cursor_execute", capture)
    try:
        for kind in KINDS:
            await run_jobs(scale.router, make_jobs(scale, kind, 1))
    finally:
        event.remove(scale.db.sync_engine, "before_cursor_execute", capture)
    await reset_follows(scale)

    plan = "EXPLAIN QUERY PLAN "
    plans = await scale.db.execute(
        lambda c: [(sql, c.exec_driver_sql(plan + sql, p).all()) for sql, p in seen.items()]
    )
    for sql, rows in plans:
        for d in (str(r.detail) for r in rows):  # a full scan or sort grows with the data
            scan = d.startswith("SCAN ") and "CONSTANT ROW" not in d
            if scan or ("TEMP B-TREE" in d and "RIGHT PART" not in d):
                scale.scans.append(f"{d}  ← {' '.join(sql.split())[:72]}…")
    found = f"{len(scale.scans)} full scans or sorts" if scale.scans else "no full scans"
    print(f"Query plans at {scale.label}: {len(seen)} statements, {found}")
    print("".join(f"  ! {line}\n" for line in scale.scans), end="")


async def run(args: argparse.Namespace) -> bool:
    total = (500, 500, 300) if args.quick else (3000, 3000, 2000)
    counts = {kind: max(1, n // args.rounds) for kind, n in zip(KINDS, total, strict=True)}
    print(
        f"one-bot core commands benchmark\nPython {platform.python_version()} · SQLite "
        f"{sqlite3.sqlite_version} · SQLAlchemy {sqlalchemy.__version__} · {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs\nPer scale and mode: "
        + ", ".join(f"{n * args.rounds:,} {KINDS[k]}" for k, n in counts.items())
        + f" in {args.rounds} rounds after {WARMUP} warm-up; {CREATORS} creators in "
        f"{len(NICHES)} niches; concurrent = {args.concurrency} asyncio tasks\n"
    )
    async with AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="one-bot-bench-")))
        scales = []
        for users in (1_000, 10_000 if args.quick else 100_000):
            env = {"ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{tmp}/bench-{users}.db"}
            app = await build(load_settings(environ=env), stack)
            assert app.database is not None
            rng = random.Random(args.seed)
            scales.append(Scale(f"{users // 1000}k", users, app.router, app.database, rng))
            print(f"Seeding {users:,} users …", end="", flush=True)
            started = time.perf_counter()
            await seed(scales[-1])
            mib = await app.database.execute(lambda c: c.exec_driver_sql(SIZE).scalar_one()) / 2**20
            print(f" {time.perf_counter() - started:.1f} s, {mib:.1f} MiB", flush=True)
        s, lg = scales[0].label, scales[1].label
        print(f"\nCommands per second (median of {args.rounds} rounds alternating between scales)")
        header = f"{'command':<17}{'mode':<12}{s + ' /s':>10}{lg + ' /s':>11}   ratio {lg}/{s}"
        print(f"{header}\n{'-' * len(header)}")
        ratios = []
        for kind, name in KINDS.items():
            for mode, concurrency in zip(MODES, (1, args.concurrency), strict=True):
                for scale in scales:
                    await measure(scale, kind, concurrency, WARMUP)
                for n in range(args.rounds):
                    for scale in scales if n % 2 == 0 else scales[::-1]:
                        per = await measure(scale, kind, concurrency, counts[kind])
                        scale.rounds.setdefault((kind, mode), []).append(per)
                a, b = (scale.per_second(kind, mode) for scale in scales)
                ratios.append((a / b, name, mode))
                print(f"{name:<17}{mode:<12}{a:>10,.0f}{b:>11,.0f}   {a / b:>5.2f}", flush=True)
        print("(ratio = time per command at the large scale / at the small one; > 1 is slower)\n")
        for scale in scales:
            await check_plans(scale)
    return verdict(scales, ratios)


def verdict(scales: list[Scale], ratios: list[tuple[float, str, str]]) -> bool:
    lowest = min((sc.per_second("creator", m), m, sc.label) for sc in scales for m in MODES)
    worst, scans = max(ratios), sum(len(scale.scans) for scale in scales)
    rate_ok, ratio_ok = lowest[0] >= TARGET_PER_S, worst[0] <= TARGET_RATIO
    print(
        f"\nTarget ≥ {TARGET_PER_S:,.0f} /creator per second: {'MET' if rate_ok else 'MISSED'} "
        f"(lowest {lowest[0]:,.0f}/s, {lowest[1]} at {lowest[2]})\n"
        f"Target {scales[1].label} within {TARGET_RATIO}× of {scales[0].label}: "
        f"{'MET' if ratio_ok else 'MISSED'} (worst ratio {worst[0]:.2f}, {worst[1]} {worst[2]})\n"
        f"No full scans in the commands' query plans: {'MET' if not scans else 'MISSED'}"
    )
    return rate_ok and ratio_ok and not scans


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k users, not 100k; fewer runs")
    parser.add_argument("--concurrency", type=int, default=8, help="tasks in concurrent runs")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per command and mode")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    args = parser.parse_args(argv)
    if min(args.concurrency, args.rounds) < 1:
        parser.error("--concurrency and --rounds must be at least 1")
    started = time.perf_counter()
    met = asyncio.run(run(args))
    print(f"\nTotal runtime {time.perf_counter() - started:.0f} s")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
