"""The kill runs of test_restart_after_kill.py: a bot process killed mid-purchase, then the
real ``one-bot resume`` and ``one-bot reconcile``, then the invariants (see that module).

They run in a background thread from the start of the crash tests (``kill_runs`` in
conftest.py), beside the in-process tests: most of their time is child processes starting.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from adapters.chain import EvmTokenChain, HdWallets, open_token_chain
from adapters.chain.values import reference_key
from adapters.db.engine import Database, open_database
from core.purchases import PurchaseState
from core.services.saga import NOTICES
from tests.conftest import sqlite_url
from tests.crash import invariants
from tests.crash.crashing_bot import GROUPS, PARKED_AT
from tests.crash.faults import KILLED, Faults, FileGateway
from tests.crash.shop import MNEMONIC, open_app, settings_for
from tests.e2e.harness import free_port
from tests.fakes.payments import FakeNotifier

State = PurchaseState
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120
FANS = 2  # per group
OUTCOME = {
    "before-mint": State.COMPLETED,
    "mint-mined": State.COMPLETED,
    "credited": State.COMPLETED,
    "refund": State.REFUNDED,
    "clawback": State.CLAWED_BACK,
    "done": State.COMPLETED,
    "unpaid": State.PENDING,
}
assert set(OUTCOME) == set(GROUPS)


def environment(database_url: str, rpc_url: str | None) -> dict[str, str]:
    """The settings of every process, as environment variables (none of the caller's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONE_BOT__")}
    env |= {
        "ONE_BOT__DATABASE__URL": database_url,
        "ONE_BOT__CHAIN__MNEMONIC": MNEMONIC,
        "ONE_BOT__WEB__PORT": str(free_port()),
        "ONE_BOT__LOGGING__LEVEL": "WARNING",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    if rpc_url:
        env["ONE_BOT__CHAIN__RPC_URL"] = rpc_url
    return env


async def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


# What each group's purchases hold right after the kill. Where the chain outlives the
# process (ganache) also: "used", the purchase's reference is used up on chain (minted, or
# voided before a refund); "held", the fan's balance on chain; "burnt", the clawback's burn.
_NOTHING = {"credited": False, "debited": False, "refunded": False, "told": False}
_OFF_CHAIN = {"used": False, "held": 0, "burnt": False}
LEFT_AS_KILLED = {
    "before-mint": {**_NOTHING, **_OFF_CHAIN, "state": "paid"},
    "mint-mined": {**_NOTHING, **_OFF_CHAIN, "state": "paid", "used": True, "held": "all"},
    "credited": {
        **_NOTHING,
        **_OFF_CHAIN,
        "state": "completed",
        "credited": True,
        "used": True,
        "held": "all",
    },
    "refund": {**_NOTHING, **_OFF_CHAIN, "state": "refunding", "refunded": True, "used": True},
    "clawback": {
        **_NOTHING,
        **_OFF_CHAIN,
        "state": "clawing_back",
        "credited": True,
        "used": True,
        "burnt": True,
    },
    "unpaid": {**_NOTHING, **_OFF_CHAIN, "state": "pending", "told": True},
}


async def check_left_as_killed(
    ids: dict[str, list[int]], database: Database, node: EvmTokenChain | None, card: FileGateway
) -> None:
    """Each stopped purchase holds exactly what its boundary leaves; nothing was settled."""
    rows = await invariants.purchase_rows(database)
    entries = {e["reference"] for e in await invariants.ledger_rows(database)}
    [token] = await invariants.tokens_of(database)
    refunds = card.recorded()
    wallets = HdWallets(MNEMONIC)
    for group, expected in LEFT_AS_KILLED.items():
        for purchase_id in ids[group]:
            row = rows[purchase_id]
            credit, clawback = f"purchase:{purchase_id}", f"clawback:{purchase_id}"
            seen: dict[str, object] = {
                "state": row["state"],
                "credited": credit in entries,
                "debited": clawback in entries,
                "refunded": row["payment_ref"] in refunds,
                "told": row["notified"] == row["state"],
            }
            if node is not None:
                holder = wallets.custodial_address(row["fan_id"])
                held = await node.balance_of(token.address, holder)
                seen["used"] = await node.applied(token.address, credit) or bool(
                    await node._read(token.address, "bool", "voided", reference_key(credit))
                )
                seen["held"] = "all" if held == row["amount"] else held
                seen["burnt"] = await node.applied(token.address, clawback)
            wanted = {key: value for key, value in expected.items() if key in seen}
            assert seen == wanted, (group, PARKED_AT.get(group), row)


async def kill_resume_reconcile(tmp_path: Path, rpc_url: str | None) -> None:
    url = sqlite_url(tmp_path / "one-bot.db")
    env = environment(url, rpc_url)
    card = FileGateway("card", path=tmp_path / "provider.json")
    wallets = HdWallets(MNEMONIC)
    out = tmp_path / "purchases.json"

    args = ["-m", "tests.crash.crashing_bot", "--db", url, "--provider", str(card.path)]
    args += ["--out", str(out), "--fans", str(FANS)]
    args += ["--rpc-url", rpc_url] if rpc_url else []
    killed = await run(args, env)
    assert killed.returncode == KILLED, f"exit {killed.returncode}:\n{killed.stderr}"
    ids: dict[str, list[int]] = json.loads(out.read_text(encoding="utf-8"))
    everyone = {i: OUTCOME[group] for group, group_ids in ids.items() for i in group_ids}

    async with AsyncExitStack() as stack:
        database = open_database(url)
        stack.push_async_callback(database.dispose)
        node = None
        if rpc_url:
            node = await open_token_chain(wallets.owner_account(), rpc_url)
            stack.push_async_callback(node.aclose)
        await check_left_as_killed(ids, database, node, card)

        resumed = await run(["-m", "bot", "resume"], env)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        # The real CLI settled everything but the refunds its own (sandbox) rail cannot make.
        rows = await invariants.purchase_rows(database)
        for purchase_id, outcome in everyone.items():
            now = State(rows[purchase_id]["state"])
            owed = State.REFUNDING if outcome is State.REFUNDED else outcome
            assert now is owed, (purchase_id, now, resumed.stderr)
            if owed is State.REFUNDING:  # tried on the sandbox, which never saw that payment
                assert rows[purchase_id]["attempts"] >= 1, rows[purchase_id]

        # A restart in-process, with the card rail that took the payments and a chat to tell
        # the fans on: it refunds, and sends the notices the chat-less CLI left to the bot.
        settings = settings_for(url, rpc_url)
        chat = FakeNotifier()
        opened = await open_app(stack, settings, Faults(), gateways=[card], notifier=chat)
        await opened.app.services.saga.resume()
        assert await opened.app.services.saga.resume() == 0, "a purchase is still owed a step"
        told = {(person, key) for person, key, _ in chat.sent}
        for purchase_id, outcome in everyone.items():  # whom the CLI could not tell
            if rows[purchase_id]["notified"] != outcome.value and outcome is not State.PENDING:
                assert (rows[purchase_id]["fan_id"], NOTICES[outcome]) in told, purchase_id
        assert card.refund_calls == len(ids["refund"])  # the refunds made before were found

    reconciled = await run(["-m", "bot", "reconcile"], env)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert ", 0 drifting" in reconciled.stdout

    async with AsyncExitStack() as stack:
        database = open_database(url)
        stack.push_async_callback(database.dispose)
        node = None
        if rpc_url:
            node = await open_token_chain(wallets.owner_account(), rpc_url)
            stack.push_async_callback(node.aclose)
        found = await invariants.problems(
            database,
            {i: {outcome} for i, outcome in everyone.items()},
            chain=node,
            wallets=wallets,
            persistent=True,
            refunds=card.recorded(),
        )
    assert not found, "\n".join(found)
