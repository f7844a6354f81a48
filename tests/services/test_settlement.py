"""Chain settlement on the fakes: ledger movements made with ``settle_later`` reach the chain
once, netted per holder and token, whatever fails or crashes in between."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from bot.conversation.context import Services
from core.errors import InsufficientTokens
from core.model import Token, UserRef
from core.ports import TokenChain
from core.services.ledger import move_tokens
from core.services.reconciliation import Drift, expected_on_chain, reconcile
from core.services.settlement import ChainSettlement, SettleReport
from tests.fakes import FakeClock, FakeStore, FakeTokenChain, FakeUnitOfWork, FakeWallets
from tests.services_support import ALICE, BOB, CAROL, DAVE, register, user_id_of

WALLETS = FakeWallets()


@dataclass
class World:
    store: FakeStore
    clock: FakeClock
    chain: FakeTokenChain
    alice: Token
    carol: Token
    bob: int
    dave: int
    moves: int = 0

    def settlement(self, chain: TokenChain | None = None) -> ChainSettlement:
        return ChainSettlement(
            lambda: FakeUnitOfWork(self.store), self.clock, chain or self.chain, WALLETS
        )

    async def move(self, holder: int, token: Token, amount: int, *, later: bool = True) -> None:
        self.moves += 1
        async with FakeUnitOfWork(self.store) as uow:
            await move_tokens(
                uow,
                self.clock,
                token_id=token.id,
                holder_id=holder,
                amount=amount,
                kind="chat" if later else "purchase",
                reference=f"move:{self.moves}",
                settle_later=later,
            )
            await uow.commit()

    async def bought(self, holder: int, token: Token, amount: int) -> None:
        """What the purchase saga does: mint first, then the ledger (nothing to settle)."""
        to = WALLETS.custodial_address(holder)
        await self.chain.mint(token.address, to, amount, f"buy:{self.moves}")
        await self.move(holder, token, amount, later=False)

    def on_chain(self, holder: int, token: Token) -> int:
        return self.chain.balances.get((token.address, WALLETS.custodial_address(holder)), 0)

    async def drifts(self) -> list[Drift]:
        report = await reconcile(lambda: FakeUnitOfWork(self.store), self.chain, WALLETS)
        return report.drifts


@pytest.fixture
async def world(
    services: Services, store: FakeStore, clock: FakeClock, chain: FakeTokenChain
) -> World:
    """Alice and Carol issue $ALICE and $CAROL; Bob and Dave are fans."""
    await register(services, ALICE)
    await register(services, CAROL)
    alice = await services.tokens.create(ALICE, "ALICE", "1")
    carol = await services.tokens.create(CAROL, "CAROL", "2")
    ids = []
    for who in (BOB, DAVE):
        await services.identities.ensure_user(who)
        ids.append(user_id_of(store, who))
    return World(store, clock, chain, alice, carol, *ids)


def person_id(world: World, who: UserRef) -> int:
    return user_id_of(world.store, who)


async def test_movements_are_netted_per_holder_and_token(world: World) -> None:
    carol_id = person_id(world, CAROL)
    await world.bought(world.dave, world.alice, 20)
    for amount in (10, 5, -3):  # Bob: +12 $ALICE
        await world.move(world.bob, world.alice, amount)
    await world.move(world.bob, world.carol, 6)  # Bob: +6 $CAROL
    await world.move(carol_id, world.alice, 4)  # Carol: +4 -4 $ALICE, nothing to move
    await world.move(carol_id, world.alice, -4)
    await world.move(world.dave, world.alice, -7)  # Dave: 20 bought, -7 spent

    assert await world.drifts() == []  # waiting for settlement is not drift
    report = await world.settlement().settle()

    assert report == SettleReport(made=4, minted=2, burned=1, netted=1, tokens=25)
    assert world.on_chain(world.bob, world.alice) == 12
    assert world.on_chain(world.bob, world.carol) == 6
    assert world.on_chain(world.dave, world.alice) == 13
    assert world.on_chain(carol_id, world.alice) == 0
    rows = {(r.holder_id, r.token_id): (i, r) for i, r in world.store.settlements.items()}
    carol_settlement, netted = rows[carol_id, world.alice.id]
    assert (netted.amount, netted.entries, netted.state) == (0, 2, "done")
    applied = {ref for _, ref in world.chain.applied_references}
    assert f"settle:{carol_settlement}" not in applied  # a net of 0 sends nothing
    assert {f"settle:{i}" for i, r in rows.values() if r.amount} <= applied
    assert rows[world.bob, world.alice.id][1].entries == 3
    assert all(r.state == "done" for r in world.store.settlements.values())
    assert all(r.settlement_id for r in world.store.ledger.values() if r.settle_later)
    assert await world.drifts() == []
    assert await world.settlement().settle() == SettleReport()  # nothing left


async def test_a_chain_failure_leaves_the_settlement_open_for_a_later_run(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await world.move(world.bob, world.alice, 10)
    world.chain.fail_next.append("mint")

    report = await world.settlement().settle()

    assert report == SettleReport(made=1, failed=1)
    assert "left open for the next run" in caplog.text
    assert world.on_chain(world.bob, world.alice) == 0
    [row] = world.store.settlements.values()
    assert (row.state, row.attempts) == ("open", 1)
    assert row.last_error is not None
    assert "scripted" in row.last_error
    assert await world.drifts() == []  # an open settlement is not drift either

    assert await world.settlement().settle() == SettleReport(minted=1, tokens=10)
    assert world.on_chain(world.bob, world.alice) == 10
    assert [r.state for r in world.store.settlements.values()] == ["done"]


async def test_a_burn_that_needs_an_open_mint_lands_after_it(world: World) -> None:
    await world.move(world.bob, world.alice, 10)
    world.chain.fail_next.append("mint")
    await world.settlement().settle()  # the +10 stays open
    await world.move(world.bob, world.alice, -4)

    world.chain.fail_next.append("mint")  # the +10 fails again: the chain refuses the -4
    assert await world.settlement().settle() == SettleReport(made=1, failed=2)
    assert world.on_chain(world.bob, world.alice) == 0

    report = await world.settlement().settle()  # mints before burns: +10, then -4

    assert report == SettleReport(minted=1, burned=1, tokens=14)
    assert world.on_chain(world.bob, world.alice) == 6
    attempts = [r.attempts for r in world.store.settlements.values()]
    assert attempts == [2, 1]


class CrashAfterChain(Exception):
    """The process dies after the chain took the write, before the database heard of it."""


class CrashingChain(FakeTokenChain):
    def __init__(self, inner: FakeTokenChain) -> None:
        super().__init__()
        self.inner = inner

    async def mint(self, token: str, to: str, amount: int, reference: str) -> str | None:
        await self.inner.mint(token, to, amount, reference)
        raise CrashAfterChain(reference)

    async def burn(self, token: str, holder: str, amount: int, reference: str) -> str | None:
        await self.inner.burn(token, holder, amount, reference)
        raise CrashAfterChain(reference)


async def test_a_crash_between_chain_and_database_is_finished_once(world: World) -> None:
    await world.bought(world.dave, world.alice, 20)
    await world.move(world.bob, world.alice, 10)
    await world.move(world.dave, world.alice, -5)

    with pytest.raises(CrashAfterChain):
        await world.settlement(CrashingChain(world.chain)).settle()
    # The mint landed (and the burn never started: mints go first); both are still open.
    assert world.on_chain(world.bob, world.alice) == 10
    assert {r.state for r in world.store.settlements.values()} == {"open"}

    report = await world.settlement().settle()  # the next run, in a new process

    assert report == SettleReport(minted=1, burned=1, tokens=15)
    assert world.on_chain(world.bob, world.alice) == 10  # not minted twice
    assert world.on_chain(world.dave, world.alice) == 15
    assert await world.drifts() == []


class MovingChain(FakeTokenChain):
    """Fans keep chatting while the settlement's mint is on its way."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world

    async def mint(self, token: str, to: str, amount: int, reference: str) -> str | None:
        await self.world.move(self.world.bob, self.world.alice, 3)
        return await self.world.chain.mint(token, to, amount, reference)


async def test_movements_made_while_a_settlement_is_open_go_into_the_next(world: World) -> None:
    await world.move(world.bob, world.alice, 10)

    assert await world.settlement(MovingChain(world)).settle() == SettleReport(
        made=1, minted=1, tokens=10
    )
    assert world.on_chain(world.bob, world.alice) == 10
    [first] = world.store.settlements.values()
    assert (first.amount, first.entries) == (10, 1)
    assert await world.drifts() == []  # the +3 waits

    assert await world.settlement().settle() == SettleReport(made=1, minted=1, tokens=3)
    assert world.on_chain(world.bob, world.alice) == 13
    assert [r.amount for r in world.store.settlements.values()] == [10, 3]


async def test_two_runs_at_once_settle_each_movement_once(world: World) -> None:
    for n in range(6):
        await world.move(world.bob, world.alice, n + 1)
        await world.move(world.dave, world.carol, 2)

    reports = await asyncio.gather(world.settlement().settle(), world.settlement().settle())

    assert sum(r.made for r in reports) == 2
    assert sum(r.minted for r in reports) == 2
    assert world.on_chain(world.bob, world.alice) == 21
    assert world.on_chain(world.dave, world.carol) == 12
    assert await world.drifts() == []

    await world.move(world.bob, world.alice, 4)
    same = world.settlement()  # one process: its runs take turns
    first, second = await asyncio.gather(same.settle(), same.settle())
    assert (first, second) == (SettleReport(made=1, minted=1, tokens=4), SettleReport())
    assert world.on_chain(world.bob, world.alice) == 25


async def test_a_run_takes_at_most_its_limit_and_says_more_is_waiting(world: World) -> None:
    for _ in range(3):
        await world.move(world.bob, world.alice, 1)
    await world.move(world.dave, world.alice, 1)

    first = await world.settlement().settle(limit=2)

    assert (first.made, first.minted, first.more) == (1, 1, True)  # two of Bob's three
    assert world.on_chain(world.bob, world.alice) == 2
    assert await world.drifts() == []
    second = await world.settlement().settle(limit=2)
    assert (second.made, second.minted, second.tokens) == (2, 2, 2)
    assert world.on_chain(world.bob, world.alice) == 3
    assert world.on_chain(world.dave, world.alice) == 1


async def test_reconcile_tells_late_from_wrong(world: World) -> None:
    await world.bought(world.dave, world.alice, 5)
    await world.move(world.dave, world.alice, -5)  # spent it all: the ledger says 0
    await world.move(world.bob, world.alice, 8)

    report = await reconcile(lambda: FakeUnitOfWork(world.store), world.chain, WALLETS)
    assert (report.checked, report.drifts) == (2, [])  # Dave still holds 5 on chain: right
    async with FakeUnitOfWork(world.store) as uow:
        assert await expected_on_chain(uow) == [(world.dave, world.alice.id, 5)]

    # A mint the ledger knows nothing about is drift, pending movements or not.
    bob = WALLETS.custodial_address(world.bob)
    await world.chain.mint(world.alice.address, bob, 1, "rogue")
    drift = Drift(world.bob, "ALICE", ledger=8, chain=1, unsettled=8)
    assert await world.drifts() == [drift]
    assert drift.expected == 0

    await world.settlement().settle()
    assert await world.drifts() == [Drift(world.bob, "ALICE", ledger=8, chain=9)]
    assert world.on_chain(world.dave, world.alice) == 0


async def test_a_refused_debit_leaves_nothing_to_settle(world: World) -> None:
    await world.move(world.bob, world.alice, 3)
    async with FakeUnitOfWork(world.store) as uow:
        with pytest.raises(InsufficientTokens):
            await move_tokens(
                uow,
                world.clock,
                token_id=world.alice.id,
                holder_id=world.bob,
                amount=-5,
                kind="chat",
                reference="too-much",
                settle_later=True,
            )
        await uow.commit()  # the caller goes on (a clone turn is kept, uncharged)

    assert "too-much" not in world.store.ledger
    assert world.store.holdings[world.bob, world.alice.id] == 3
    await world.settlement().settle()
    assert world.on_chain(world.bob, world.alice) == 3
    assert await world.drifts() == []


async def test_a_replayed_movement_changes_nothing(world: World) -> None:
    await world.move(world.bob, world.alice, 5)

    async def replay(amount: int, reference: str) -> bool:
        async with FakeUnitOfWork(world.store) as uow:
            moved = await move_tokens(
                uow,
                world.clock,
                token_id=world.alice.id,
                holder_id=world.bob,
                amount=amount,
                kind="chat",
                reference=reference,
                settle_later=True,
            )
            await uow.commit()
        return moved

    assert await replay(-5, "spent") is True
    assert await replay(-5, "spent") is False  # not "insufficient": it happened already
    assert await replay(5, "move:1") is False
    assert world.store.holdings[world.bob, world.alice.id] == 0
    assert len(world.store.ledger) == 2


async def test_a_settlement_the_chain_keeps_refusing_does_not_hold_up_newer_ones(
    world: World,
) -> None:
    # Bob's ledger says 5, but his chain balance was burned behind the ledger's back.
    await world.bought(world.bob, world.alice, 5)
    await world.chain.burn(world.alice.address, WALLETS.custodial_address(world.bob), 5, "gone")
    await world.move(world.bob, world.alice, -5)  # a burn that can never land
    for _ in range(3):
        await world.settlement().settle(limit=1)
    await world.move(world.dave, world.alice, 7)  # a later settlement that can
    await world.settlement().settle(limit=1)
    assert world.on_chain(world.dave, world.alice) == 7
    states = sorted((row.state, row.attempts) for row in world.store.settlements.values())
    assert states == [("done", 0), ("open", 3)]
