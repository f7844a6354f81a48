"""Every statement the hot commands run is an index search on SQLite, never a table scan.

This is what keeps /creator, /follow and /creators as fast with 100k people as with 1k
(bench/core_commands.py measures it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event

from bot.bootstrap import App
from tests.support import Chat

COMMANDS = [
    ("bob", "/start"),
    ("bob", "/creator alice"),
    ("bob", "/creators fitness"),
    ("bob", "/creators"),
    ("bob", "/follow alice"),
    ("bob", "/following"),
    ("bob", "/unfollow alice"),
    ("alice", "/profile"),
    ("alice", "/profile bio New bio"),
    ("alice", "/events"),
    ("carol", "/register Carol | carol@example.com | fitness"),
    ("dave", "/register Dave | alice@example.com | art"),
]


async def test_hot_commands_never_scan_a_table(sqlite_app: App, chat: Chat) -> None:
    await chat("alice", "/register Alice | alice@example.com | fitness, cooking")
    await chat("zed", "/register Zed | zed@example.com | fitness")
    for n in range(5):
        await chat(f"fan{n}", "/follow zed")

    assert sqlite_app.database is not None
    engine = sqlite_app.database.sync_engine
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        for person, line in COMMANDS:
            reply = await chat(person, line)
            assert "Sorry" not in reply.text, line
    finally:
        event.remove(engine, "before_cursor_execute", record)

    queries = [
        (s, p) for s, p in seen if s.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))
    ]
    assert len(queries) > 20

    def explain(conn: Connection) -> list[tuple[str, list[str]]]:
        return [
            (s, [str(r.detail) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + s, p)])
            for s, p in queries
        ]

    for statement, details in await sqlite_app.database.execute(explain):
        scans = [d for d in details if d.startswith("SCAN")]
        assert not scans, f"{statement}\n→ {details}"
