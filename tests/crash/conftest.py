"""Fixtures of the crash tests: a JSON-RPC node (ganache) that outlives the bot's processes,
and databases already at the schema's head (a SQLite file to copy, one PostgreSQL database)."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from adapters.chain import HdWallets, open_token_chain
from adapters.db import migrate
from adapters.db.engine import open_database
from adapters.db.schema import metadata
from tests.chain.dev_node import node_executable, start_ganache
from tests.conftest import POSTGRES_ENV, _admin_execute, sqlite_url
from tests.crash.kill_runs import kill_resume_reconcile
from tests.crash.shop import MNEMONIC, Backend
from tests.fakes import FakeTokenChain, FakeWallets

RPC_ENV = "ONE_BOT_TEST_RPC_URL"


@pytest.fixture(scope="session")
def crash_rpc_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A node whose accounts come from ``MNEMONIC``: ``ONE_BOT_TEST_RPC_URL``, or ganache.

    Without Node.js the tests using it skip, except under CI (tests/node_packages.py).
    """
    given = os.environ.get(RPC_ENV)
    if given:
        yield given
        return
    node = node_executable()
    log = tmp_path_factory.mktemp("ganache-crash") / "ganache.log"
    process, url = start_ganache(node, MNEMONIC, log)
    try:
        yield url
    finally:
        process.stop(timeout=5)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the schema's head, for each test to copy (migrating takes ~0.1 s)."""
    path = tmp_path_factory.mktemp("template") / "one-bot.db"

    async def make() -> None:
        database = open_database(sqlite_url(path))
        try:
            await migrate.upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(make())
    return path


@pytest.fixture(scope="session")
def postgres_for_crashes() -> Iterator[str]:
    """One PostgreSQL database at the schema's head for the session (skips when not set)."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.skip(f"{POSTGRES_ENV} is not set (CI sets it; see .ci/run)")
    name = f"one_bot_crash_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

        async def make() -> None:
            database = open_database(url)
            try:
                await migrate.upgrade(database)
            finally:
                await database.dispose()

        asyncio.run(make())
        yield url
    finally:
        asyncio.run(_admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def emptied_postgres(postgres_for_crashes: str) -> str:
    """The session's PostgreSQL database with every row deleted (faster than a new one, and
    than TRUNCATE; ids go on counting, so no id is used twice in the session)."""

    def delete_all(connection: Connection) -> None:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())

    async def empty() -> None:
        database = open_database(postgres_for_crashes)
        try:
            await database.execute(delete_all)
        finally:
            await database.dispose()

    asyncio.run(empty())
    return postgres_for_crashes


@pytest.fixture
def backend_database(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path
) -> tuple[str, str]:
    """A backend's name (the parameter: evm, rebuilt, fake-postgres) and its empty database."""
    name: str = request.param
    if name == "fake-postgres":
        url: str = request.getfixturevalue("emptied_postgres")
        return name, url
    path = tmp_path / "one-bot.db"
    shutil.copyfile(migrated_sqlite, path)
    return name, sqlite_url(path)


@pytest.fixture
async def backend(backend_database: tuple[str, str]) -> AsyncIterator[Backend]:
    """``evm``: SQLite, and the token contract on an embedded EVM that outlives every "process"
    of the test (as a JSON-RPC node would); ``rebuilt``: SQLite, each process opening a fresh
    embedded chain rebuilt from the ledger (as ``one-bot`` does without ``chain.rpc_url``);
    ``fake-postgres``: PostgreSQL and the fake chain (only where ``ONE_BOT_TEST_POSTGRES_URL``
    is set)."""
    name, url = backend_database
    if name == "fake-postgres":
        yield Backend(name, url, FakeTokenChain(), FakeWallets())
    elif name == "rebuilt":
        yield Backend(name, url, None, None)
    else:
        wallets = HdWallets(MNEMONIC)
        async with await open_token_chain(wallets.owner_account()) as chain:
            yield Backend(name, url, chain, wallets)


KILL_TESTS = "test_restart_after_kill.py"


@pytest.fixture(scope="session", autouse=True)
def kill_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[None]]]:
    """The kill runs (kill_runs.py) of the selected tests of test_restart_after_kill.py, started
    in one background thread as the first crash test starts: they mostly wait for child
    processes, so they go on beside the in-process tests instead of after them."""
    chosen = {
        chain
        for item in request.session.items
        if item.path.name == KILL_TESTS
        for chain in ("embedded", "ganache")
        if chain in item.name
    }
    runs: dict[str, Future[None]] = {chain: Future() for chain in ("embedded", "ganache")}
    rpc_url: str | None = None
    if "ganache" in chosen:
        try:
            rpc_url = request.getfixturevalue("crash_rpc_url")
        except BaseException as e:  # skipped without Node.js (failed, under CI): said there
            runs["ganache"].set_exception(e)
            chosen.discard("ganache")

    def work() -> None:
        for chain in ("embedded", "ganache"):
            if chain not in chosen:
                continue
            path = tmp_path_factory.mktemp(f"kill-{chain}")
            try:
                asyncio.run(kill_resume_reconcile(path, rpc_url if chain == "ganache" else None))
            except BaseException as e:
                runs[chain].set_exception(e)
            else:
                runs[chain].set_result(None)

    thread = threading.Thread(target=work, name="kill-runs", daemon=True)
    thread.start()
    yield runs
    thread.join()
