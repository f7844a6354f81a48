"""Creator tokens and the ledger, on fakes through the real bootstrap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.conversation.context import Services
from core.errors import (
    ChainError,
    InsufficientTokens,
    InvalidInput,
    NotACreator,
    NoWalletChallenge,
    Reason,
    SymbolTaken,
    TokenAlreadyCreated,
    WalletSignatureInvalid,
)
from core.model import Token
from core.services.ledger import move_tokens
from core.services.reconciliation import Drift, reconcile
from core.services.tokens import replay_onto_fresh_chain
from tests.fakes import FakeClock, FakeStore, FakeTokenChain, FakeUnitOfWork, FakeWallets
from tests.services_support import ALICE, BOB, CAROL, register, user_id_of


async def test_a_creator_creates_a_token(
    services: Services, store: FakeStore, chain: FakeTokenChain
) -> None:
    await register(services, ALICE)
    token = await services.tokens.create(ALICE, "$alice", "1.50")
    assert (token.symbol, token.price_cents) == ("ALICE", 150)
    assert chain.deployed[token.address] == ("Alice", "ALICE")
    kinds = [e.type for e in store.events.values()]
    assert "token_created" in kinds


@pytest.mark.parametrize(
    ("symbol", "price", "reason"),
    [
        ("A", "1", Reason.SYMBOL_INVALID),
        ("TOOLONGSYM", "1", Reason.SYMBOL_INVALID),
        ("AL1CE", "1", Reason.SYMBOL_INVALID),
        ("ALICE", "0", Reason.PRICE_INVALID),
        ("ALICE", "-1", Reason.PRICE_INVALID),
        ("ALICE", "1.005", Reason.PRICE_INVALID),
        ("ALICE", "abc", Reason.PRICE_INVALID),
        ("ALICE", "NaN", Reason.PRICE_INVALID),
        ("ALICE", "Infinity", Reason.PRICE_INVALID),
        ("ALICE", "1e9", Reason.PRICE_INVALID),
        ("ALICE", "sNaN", Reason.PRICE_INVALID),
        ("ALICE", "1e999999", Reason.PRICE_INVALID),
        ("ALICE", "0.0100000000000000000000000000001", Reason.PRICE_INVALID),
        ("ALICE", "10000.01", Reason.PRICE_INVALID),
    ],
)
async def test_bad_symbols_and_prices_deploy_nothing(
    services: Services,
    store: FakeStore,
    chain: FakeTokenChain,
    symbol: str,
    price: str,
    reason: Reason,
) -> None:
    await register(services, ALICE)
    before = store.snapshot()
    with pytest.raises(InvalidInput) as refused:
        await services.tokens.create(ALICE, symbol, price)
    assert refused.value.reason == reason
    assert chain.deployed == {}
    assert store.snapshot() == before


async def test_only_creators_one_token_each_unique_symbols(
    services: Services, chain: FakeTokenChain
) -> None:
    with pytest.raises(NotACreator):
        await services.tokens.create(BOB, "BOB", "1")
    await register(services, ALICE)
    await register(services, CAROL)
    await services.tokens.create(ALICE, "ALICE", "2")
    with pytest.raises(TokenAlreadyCreated):
        await services.tokens.create(ALICE, "OTHER", "2")
    with pytest.raises(SymbolTaken):
        await services.tokens.create(CAROL, "alice", "2")
    assert len(chain.deployed) == 1


async def test_a_failed_deployment_stores_nothing(
    services: Services, store: FakeStore, chain: FakeTokenChain
) -> None:
    await register(services, ALICE)
    chain.fail_next.append("deploy")
    before = store.snapshot()
    with pytest.raises(ChainError):
        await services.tokens.create(ALICE, "ALICE", "1")
    assert store.snapshot() == before
    assert (await services.tokens.create(ALICE, "ALICE", "1")).symbol == "ALICE"


async def test_ledger_moves_once_per_reference_and_never_below_zero(
    services: Services, store: FakeStore, clock: FakeClock, chain: FakeTokenChain
) -> None:
    await register(services, ALICE)
    token = await services.tokens.create(ALICE, "ALICE", "1.50")
    await services.identities.ensure_user(BOB)
    bob = user_id_of(store, BOB)

    async def move(amount: int, reference: str) -> bool:
        async with FakeUnitOfWork(store) as uow:
            moved = await move_tokens(
                uow,
                clock,
                token_id=token.id,
                holder_id=bob,
                amount=amount,
                kind="test",
                reference=reference,
            )
            await uow.commit()
        return moved

    assert await move(100, "purchase:1")
    assert not await move(100, "purchase:1")  # a replay changes nothing
    assert await move(-30, "cost:1")
    with pytest.raises(InsufficientTokens):
        await move(-71, "cost:2")
    assert "cost:2" not in store.ledger  # the refused debit left no entry behind
    assert store.holdings[bob, token.id] == 70

    wallet = await services.wallets.show(BOB)
    chain.balances[token.address, wallet.custodial] = 70
    [holding] = await services.tokens.holdings(BOB)
    assert (holding.amount, holding.value_cents, holding.on_chain) == (70, 105 * 100, 70)
    assert holding.creator_handle == "alice"
    chain.fail_next.append("balance")
    [holding] = await services.tokens.holdings(BOB)
    assert holding.on_chain is None


async def test_wallets_are_per_person_and_stable(services: Services) -> None:
    first = await services.wallets.show(BOB)
    assert (await services.wallets.show(BOB)).custodial == first.custodial
    assert (await services.wallets.show(CAROL)).custodial != first.custodial
    assert first.linked is None


async def bob_holds_40_alice(
    services: Services, store: FakeStore, clock: FakeClock
) -> tuple[Token, int]:
    """Alice issues $ALICE; the ledger credits Bob 40 (no mint: the chain does not know)."""
    await register(services, ALICE)
    token = await services.tokens.create(ALICE, "ALICE", "1")
    await services.identities.ensure_user(BOB)
    bob = user_id_of(store, BOB)
    async with FakeUnitOfWork(store) as uow:
        await move_tokens(
            uow, clock, token_id=token.id, holder_id=bob, amount=40, kind="test", reference="r1"
        )
        await uow.commit()
    return token, bob


async def test_a_fresh_chain_is_rebuilt_from_the_ledger(
    services: Services, store: FakeStore, clock: FakeClock, chain: FakeTokenChain
) -> None:
    token, bob = await bob_holds_40_alice(services, store, clock)

    fresh = FakeTokenChain()  # what a restart of the embedded chain leaves
    wallets = FakeWallets()
    tokens, mints = await replay_onto_fresh_chain(
        lambda: FakeUnitOfWork(store), clock, fresh, wallets
    )
    assert (tokens, mints) == (1, 1)
    [address] = fresh.deployed
    assert store.entities[token.id].properties["address"] == address
    assert fresh.balances == {(address, wallets.custodial_address(bob)): 40}


async def test_linking_a_wallet_needs_its_signature_over_the_challenge(
    services: Services, clock: FakeClock, store: FakeStore
) -> None:
    mine = "0x" + "ab" * 20
    with pytest.raises(NoWalletChallenge):
        await services.wallets.link(BOB, mine, f"signed:{mine}:anything")
    message = await services.wallets.challenge(BOB, mine)
    assert mine in message
    with pytest.raises(WalletSignatureInvalid):  # signed by someone else
        await services.wallets.link(BOB, mine, f"signed:0x{'cd' * 20}:{message}")
    with pytest.raises(WalletSignatureInvalid):  # another message
        await services.wallets.link(BOB, mine, f"signed:{mine}:hello")
    with pytest.raises(InvalidInput):
        await services.wallets.challenge(BOB, "0xnothex")
    wallet = await services.wallets.link(
        BOB, mine.upper().replace("0X", "0x"), f"signed:{mine}:{message}"
    )
    assert wallet.linked == mine
    assert (await services.wallets.show(BOB)).linked == mine
    assert "wallet_linked" in [e.type for e in store.events.values()]

    other = "0x" + "12" * 20
    message = await services.wallets.challenge(BOB, other)
    clock.advance(timedelta(minutes=16))
    with pytest.raises(NoWalletChallenge):  # expired
        await services.wallets.link(BOB, other, f"signed:{other}:{message}")


async def test_reconciliation_reports_drift_between_ledger_and_chain(
    services: Services, store: FakeStore, clock: FakeClock, chain: FakeTokenChain
) -> None:
    token, bob = await bob_holds_40_alice(services, store, clock)
    wallets = FakeWallets()
    report = await reconcile(lambda: FakeUnitOfWork(store), chain, wallets)
    assert report.checked == 1
    assert report.drifts == [Drift(bob, "ALICE", ledger=40, chain=0)]
    await chain.mint(token.address, wallets.custodial_address(bob), 40, "test:bob")
    assert (await reconcile(lambda: FakeUnitOfWork(store), chain, wallets)).drifts == []
