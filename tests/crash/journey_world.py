"""The world of test_journey_kills.py: a creator, fans with a journey step due, and a bot
process whose deliveries are seen from outside it.

``populate`` makes creator Alice (``CreatorService.register``) and ``FANS`` fans who follow
her. The first follow goes through ``FollowService.follow``, which also enrols the fan in her
journey (the hook step is due at once); the other fans' rows are copies of the rows that follow
wrote (entities, identities, connections, events, journey_runs, each row re-pointed at its own
fan), inserted in bulk: 2,000 follows through the service take 8–12 s, their copies well
under one. ``populate`` refuses to copy if the follow wrote a table it does not copy.
The fans' identities are on the platform ``PLATFORM``, which only the bot below serves.

The bot (``python -m tests.crash.journey_world --out FILE [--ready FILE]``, from the
repository root, configured by the ``ONE_BOT__…`` environment as ``one-bot`` is) builds the app
as ``one-bot chat`` does (``bootstrap.build``, then ``bootstrap.servers(app,
chat_frontends=False)``: the journey and outbox jobs, the purchase and settlement jobs, the web
server) with one chat frontend: a push on ``PLATFORM`` that appends ``[chat id, text, time]``
as a JSON line to ``--out`` and puts it on the disk (one ``os.write`` on an ``O_APPEND``
descriptor, then ``fsync``; blocking the loop on purpose) before it reports the message sent.
So the file holds every message the bot delivered, however the process ends. With ``--ready``
it writes that file once built and starts its jobs only on SIGUSR1 (so that a restart can be
built beforehand, and two processes start their work together). SIGTERM or SIGINT stops it
(exit 0); ``kill -9`` stops it anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Table, func, insert, or_, select, update

from adapters.db.schema import (
    connections,
    counters,
    entities,
    events,
    identities,
    journey_runs,
    metadata,
)
from bot import bootstrap
from bot.conversation.messages import MessageRef, Reply
from bot.settings import Settings, load_settings
from core.journey_templates import render
from core.model import Counter, UserRef
from tests.conftest import build_app

FANS = 2000
PLATFORM = "crash"  # the fans' chat platform: only the bot below sends on it
CREATOR = UserRef(PLATFORM, "alice", name="Alice", chat_id="alice")
CREATOR_NAME = "Alice Smith"
# What one follow writes, copied for every other fan; the creator's follower count is set.
COPIED = (identities, connections, events, journey_runs)
COUNTED = (counters,)


def fan(index: int) -> UserRef:
    return UserRef(PLATFORM, f"fan-{index}", name=f"Fan {index}", chat_id=f"fan-{index}")


def hook_text(settings: Settings) -> str:
    """The hook message every fan is owed (Alice has no token: no symbol, no amount)."""
    values = {"name": CREATOR_NAME, "handle": "alice", "symbol": "", "amount": 0, "price": ""}
    return render(settings.journeys.steps["hook"].text, values)


async def populate(settings: Settings, fans: int = FANS) -> None:
    """Alice registers; ``fans`` fans follow her (each one's hook step is then due)."""
    async with AsyncExitStack() as stack:
        app = await build_app(stack, settings)
        database = app.database
        assert database is not None
        creator = await app.services.creators.register(
            CREATOR, CREATOR_NAME, "alice@example.com", ["fitness"]
        )
        before = await database.execute(_row_counts)
        await app.services.follows.follow(fan(0), creator.handle)
        after = await database.execute(_row_counts)
        written = {name for name, count in after.items() if count != before[name]}
        known = {table.name for table in (entities, *COPIED, *COUNTED)}
        assert written <= known, f"a follow now also writes {sorted(written - known)}: copy it"
        await database.execute(partial(_copy_follow, creator.id, fans))


def _row_counts(conn: Connection) -> dict[str, int]:
    return {
        table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
        for table in metadata.tables.values()
    }


def _refers_to_person(column: Column[Any]) -> bool:
    return any(key.column is entities.c.id for key in column.foreign_keys)


def _copy_follow(creator_id: int, fans: int, conn: Connection) -> None:
    """Fans 1 … fans-1 follow too: fan 0's rows, each re-pointed at its own fan."""
    first = fan(0)
    fan0 = conn.execute(
        select(identities.c.user_id).where(
            identities.c.platform == PLATFORM,
            identities.c.platform_user_id == first.platform_user_id,
        )
    ).scalar_one()
    person = dict(conn.execute(select(entities).where(entities.c.id == fan0)).mappings().one())
    people = [_as_fan(entities, person, fan0, index, None) for index in range(1, fans)]
    made = conn.execute(
        insert(entities).returning(entities.c.id, sort_by_parameter_order=True), people
    )
    ids = list(made.scalars())
    for table in COPIED:
        # Its rows about fan 0: events also those fan 0 acted in (a follow, on the creator).
        about = or_(*(column == fan0 for column in table.columns if _refers_to_person(column)))
        rows = [dict(row) for row in conn.execute(select(table).where(about)).mappings()]
        copies = [
            _as_fan(table, row, fan0, index, new_id)
            for index, new_id in enumerate(ids, start=1)
            for row in rows
        ]
        if copies:
            conn.execute(insert(table), copies)
    conn.execute(
        update(counters)
        .where(counters.c.entity_id == creator_id, counters.c.name == Counter.FOLLOWERS.value)
        .values(value=fans)
    )


def _as_fan(
    table: Table, row: Mapping[str, Any], fan0: int, index: int, new_id: int | None
) -> dict[str, Any]:
    """Fan 0's ``row`` as fan ``index``'s: their names, chat and id in place of fan 0's."""
    names = {fan(0).platform_user_id: fan(index).platform_user_id, "Fan 0": f"Fan {index}"}
    copy: dict[str, Any] = {}
    for column in table.columns:
        value = row[column.name]
        if column.primary_key and column.autoincrement is True:
            continue  # a new row: a new id
        if _refers_to_person(column) and value == fan0:
            value = new_id
        elif isinstance(value, str):
            value = names.get(value, value)
        copy[column.name] = value
    return copy


# --- the bot process ---------------------------------------------------------------------------


class FilePush:
    """The push of ``PLATFORM``: each message, as a JSON line, on the disk before it counts."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._count = 0

    async def __call__(self, chat_id: str, reply: Reply) -> MessageRef:
        line = json.dumps([chat_id, reply.text, time.time()], ensure_ascii=False) + "\n"
        os.write(self._fd, line.encode("utf-8"))
        os.fsync(self._fd)
        self._count += 1
        return MessageRef(chat_id, str(self._count))

    def close(self) -> None:
        os.close(self._fd)


def deliveries(path: Path) -> list[tuple[str, str]]:
    """What a bot process delivered: (chat id, text), in order (lines also hold the time)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(chat, text) for chat, text, _ in map(json.loads, lines)]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="journey_world", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="the deliveries file")
    parser.add_argument(
        "--ready", type=Path, help="written once the app is built; the jobs then wait for SIGUSR1"
    )
    return parser


async def serve(settings: Settings, out: Path, ready: Path | None) -> None:
    stop, go = asyncio.Event(), asyncio.Event()

    def stop_now() -> None:
        stop.set()
        go.set()  # also while it waits to start

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_now)
    loop.add_signal_handler(signal.SIGUSR1, go.set)
    async with AsyncExitStack() as stack:
        app = await bootstrap.build(settings, stack)
        push = FilePush(out)
        stack.callback(push.close)
        app.notifier.register(PLATFORM, push)
        if ready is not None:
            await asyncio.to_thread(ready.write_text, str(os.getpid()), encoding="utf-8")
            await go.wait()
        async with asyncio.TaskGroup() as tasks:
            for server in bootstrap.servers(app, chat_frontends=False):
                tasks.create_task(server(stop))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("PTB_TIMEDELTA", "true")  # as bot/cli.py sets it
    args = _parser().parse_args(argv)
    settings = load_settings()  # the ONE_BOT__… environment, over config.yaml
    logging.basicConfig(
        level=settings.logging.level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Ticks every 0.1 s while a tick performs a backlog: APScheduler warns of each one it skips.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    asyncio.run(serve(settings, args.out, args.ready))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
