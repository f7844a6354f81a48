"""Chain settlement for real: a SQLite file (and PostgreSQL when configured) and the embedded
EVM. After a mix of credits and debits made with ``settle_later``, settling makes the chain
hold exactly what the ledger says, also when two processes settle at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Connection, event, func, select

from adapters.chain import EvmTokenChain, HdWallets, open_token_chain
from adapters.db import migrate
from adapters.db.engine import Database, open_database
from adapters.db.schema import ledger, settlements
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.system_clock import SystemClock
from core.model import EntityType
from core.services.ledger import move_tokens
from core.services.reconciliation import reconcile
from core.services.settlement import ChainSettlement, SettleReport

MNEMONIC = "test test test test test test test test test test test junk"
CLOCK = SystemClock()


@dataclass
class World:
    database: Database
    chain: EvmTokenChain
    wallets: HdWallets
    fans: list[int] = field(default_factory=list)
    tokens: dict[int, str] = field(default_factory=dict)  # id → address
    moves: int = 0

    def uow(self, database: Database | None = None) -> partial[SqlUnitOfWork]:
        return partial(SqlUnitOfWork, database or self.database)

    def settlement(self, database: Database | None = None) -> ChainSettlement:
        return ChainSettlement(self.uow(database), CLOCK, self.chain, self.wallets)

    async def move(self, holder: int, token: int, amount: int, *, later: bool = True) -> None:
        self.moves += 1
        async with self.uow()() as uow:
            await move_tokens(
                uow,
                CLOCK,
                token_id=token,
                holder_id=holder,
                amount=amount,
                kind="chat" if later else "purchase",
                reference=f"move:{self.moves}",
                settle_later=later,
            )
            await uow.commit()

    async def bought(self, holder: int, token: int, amount: int) -> None:
        """The purchase saga's order: the chain first, then the ledger."""
        to = self.wallets.custodial_address(holder)
        await self.chain.mint(self.tokens[token], to, amount, f"buy:{self.moves}")
        await self.move(holder, token, amount, later=False)

    async def chain_agrees(self) -> None:
        """Every ledger balance is on chain, nothing is waiting, and reconcile agrees."""
        async with self.uow()() as uow:
            balances = {(h, t): b for h, t, b in await uow.ledger.all_holdings()}
            assert await uow.ledger.unsettled() == {}
        for holder in self.fans:
            for token, address in self.tokens.items():
                on_chain = await self.chain.balance_of(
                    address, self.wallets.custodial_address(holder)
                )
                assert on_chain == balances.get((holder, token), 0), (holder, token)
        report = await reconcile(self.uow(), self.chain, self.wallets)
        assert report.drifts == []


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    database = open_database(database_url)
    await migrate.upgrade(database)
    wallets = HdWallets(MNEMONIC)
    try:
        async with await open_token_chain(wallets.owner_account()) as chain:
            built = World(database, chain, wallets)
            async with built.uow()() as uow:
                for name in ("bob", "carol", "dave"):
                    fan = await uow.entities.add(EntityType.USER, name, None, {}, CLOCK.now())
                    assert fan is not None
                    built.fans.append(fan)
                for symbol in ("ALICE", "ERIN"):
                    address = await chain.deploy_token(symbol.title(), symbol)
                    properties = {"symbol": symbol, "price_cents": 100, "address": address}
                    token = await uow.entities.add(
                        EntityType.TOKEN, symbol.title(), symbol.lower(), properties, CLOCK.now()
                    )
                    assert token is not None
                    built.tokens[token] = address
                await uow.commit()
            yield built
    finally:
        await database.dispose()


async def chat_a_while(world: World, rounds: int) -> dict[tuple[int, int], int]:
    """Costs and rewards of a few fans in two tokens, never below zero; the ledger balances."""
    balances: dict[tuple[int, int], int] = {}
    tokens = list(world.tokens)
    await world.bought(world.fans[0], tokens[0], 20)
    balances[world.fans[0], tokens[0]] = 20
    for n in range(rounds):
        key = (world.fans[n % len(world.fans)], tokens[n % 2])
        amount = -3 if n % 3 == 2 else 2 + n % 4
        if balances.get(key, 0) + amount < 0:
            amount = -amount
        await world.move(*key, amount)
        balances[key] = balances.get(key, 0) + amount
    return balances


async def test_settling_makes_the_chain_hold_the_ledger(world: World) -> None:
    await chat_a_while(world, 24)
    assert (await reconcile(world.uow(), world.chain, world.wallets)).drifts == []

    report = await world.settlement().settle()

    assert report.made == 6  # three fans × two tokens
    assert report.minted + report.burned + report.netted == 6
    assert report.failed == 0
    await world.chain_agrees()
    assert await world.settlement().settle() == SettleReport()


async def test_a_settlement_repeated_after_a_crash_changes_nothing_on_chain(world: World) -> None:
    bob, alice = world.fans[0], next(iter(world.tokens))
    await world.move(bob, alice, 7)
    async with world.uow()() as uow:
        [made] = await uow.ledger.batch_unsettled(100, CLOCK.now())
        await uow.commit()
    # The mint lands; the process dies before marking the settlement done.
    to = world.wallets.custodial_address(bob)
    assert await world.chain.mint(world.tokens[alice], to, 7, made.reference) is not None

    assert await world.settlement().settle() == SettleReport(minted=1, tokens=7)
    assert await world.chain.balance_of(world.tokens[alice], to) == 7
    await world.chain_agrees()


async def test_two_processes_settling_at_once_apply_each_movement_once(
    world: World, database_url: str
) -> None:
    await chat_a_while(world, 60)
    other = open_database(database_url)  # a second process: its own connections
    try:
        one, two = world.settlement(), world.settlement(other)
        for _ in range(40):
            # Small batches, so that both take movements (and race) in every round.
            reports = await asyncio.gather(one.settle(limit=4), two.settle(limit=4))
            if not any(r.more for r in reports):
                break
        assert await world.settlement().settle() == SettleReport()
    finally:
        await other.dispose()

    await world.chain_agrees()

    def tied(conn: Connection) -> tuple[list[Any], list[Any]]:
        per_settlement = (
            select(ledger.c.settlement_id, func.count(), func.sum(ledger.c.amount))
            .where(ledger.c.settle_later)
            .group_by(ledger.c.settlement_id)
            .order_by(ledger.c.settlement_id)
        )
        recorded = select(settlements.c.id, settlements.c.entries, settlements.c.amount).order_by(
            settlements.c.id
        )
        return list(conn.execute(per_settlement)), list(conn.execute(recorded))

    per_settlement, recorded = await world.database.execute(tied)
    # Every movement went into exactly one settlement, which nets exactly its movements.
    assert [(i, n, int(total)) for i, n, total in per_settlement] == [
        tuple(row) for row in recorded
    ]
    assert None not in [row[0] for row in per_settlement]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite's query plans
async def test_finding_what_to_settle_never_scans_the_ledger(world: World) -> None:
    await chat_a_while(world, 6)
    engine = world.database.sync_engine
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "ledger" in statement or "settlements" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        await world.settlement().settle()
        await reconcile(world.uow(), world.chain, world.wallets)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    queries = [(s, p) for s, p in seen if s.lstrip().upper().startswith(("SELECT", "UPDATE"))]
    assert len(queries) >= 5

    def explain(conn: Connection) -> list[tuple[str, list[str]]]:
        return [
            (s, [str(r.detail) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + s, p)])
            for s, p in queries
        ]

    # Walking a partial index is fine: it holds only what is waiting.
    small = ("USING INDEX ix_ledger_unsettled", "USING INDEX ix_settlements_open")
    for statement, details in await world.database.execute(explain):
        scans = [
            d
            for d in details
            if d.startswith(("SCAN ledger", "SCAN settlements")) and not d.endswith(small)
        ]
        assert not scans, f"{statement}\n→ {details}"
