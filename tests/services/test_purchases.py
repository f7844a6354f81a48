"""Buying tokens on fakes: /buy's checks, payments in, and the saga to every outcome."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.conversation.context import Services
from core.errors import (
    AmountNotPayable,
    ChainError,
    CreatorNotFound,
    InvalidInput,
    NoToken,
    PaymentUnavailable,
    PurchaseNotFound,
    PurchaseNotPayable,
    Reason,
)
from core.purchases import Money, PaymentReceived, PaymentReversed, PurchaseState
from tests.fakes import FakeStore, FakeTokenChain, FakeWallets
from tests.fakes.payments import FakeNotifier, FakePaymentGateway
from tests.services_support import ALICE, BOB, CAROL, register, user_id_of

State = PurchaseState


async def alice_token(services: Services) -> None:
    await register(services, ALICE)
    await services.tokens.create(ALICE, "ALICE", "1.50")


def paid(purchase_id: int, cents: int, event: str = "evt_1", ref: str = "pi_1") -> PaymentReceived:
    return PaymentReceived("card", event, purchase_id, ref, Money("usd", cents))


async def paid_purchase(services: Services, amount: int) -> int:
    """Bob's purchase of ``amount`` ALICE ($1.50 each), paid by card, not yet advanced."""
    checkout = await services.purchases.start(BOB, "alice", str(amount), "test")
    await services.purchases.payment_received(paid(checkout.purchase.id, 150 * amount))
    return checkout.purchase.id


async def bought(services: Services, amount: int = 100, event: str = "evt_1") -> int:
    """Bob buys ``amount`` ALICE by card and the saga runs; the purchase id."""
    checkout = await services.purchases.start(BOB, "alice", str(amount), "test")
    purchase = checkout.purchase
    outcome = await services.purchases.payment_received(
        paid(purchase.id, purchase.price_cents, event, f"pi_{purchase.id}")
    )
    assert outcome.outcome == "recorded"
    await services.saga.advance(purchase.id)
    return purchase.id


def on_chain(chain: FakeTokenChain, store: FakeStore, who_id: int) -> int:
    [token] = [e for e in store.entities.values() if e.type == "token"]
    return chain.balances.get(
        (token.properties["address"], FakeWallets().custodial_address(who_id)), 0
    )


def held(store: FakeStore, who_id: int) -> int:
    return sum(b for (h, _), b in store.holdings.items() if h == who_id)


@pytest.mark.parametrize(
    "amount", ["0", "-5", "1.5", "abc", "10001", "1e3", "", "٣", "99999999999999999999", "+5"]
)
async def test_bad_amounts_record_nothing(
    services: Services, store: FakeStore, amount: str
) -> None:
    await alice_token(services)
    with pytest.raises(InvalidInput) as refused:
        await services.purchases.start(BOB, "alice", amount, "test")
    assert refused.value.reason is Reason.AMOUNT_INVALID
    assert refused.value.params["maximum"] == 10_000
    assert store.purchases == {}


async def test_unknown_creator_no_token_and_no_rail_are_refused(
    services: Services, store: FakeStore
) -> None:
    with pytest.raises(CreatorNotFound):
        await services.purchases.start(BOB, "nobody", "5", "test")
    await register(services, ALICE)
    with pytest.raises(NoToken):
        await services.purchases.start(BOB, "alice", "5", "test")
    await services.tokens.create(ALICE, "ALICE", "1.50")
    assert store.purchases == {}


async def test_a_purchase_offers_each_rail_of_the_platform(
    services: Services, card: FakePaymentGateway, stars: FakePaymentGateway
) -> None:
    await alice_token(services)
    on_test = await services.purchases.start(BOB, "@Alice", "1,000", "test")
    assert [r.rail for r in on_test.requests] == ["card"]
    assert on_test.purchase.price_cents == 150_000
    assert on_test.title == "1000 $ALICE · @alice"
    on_telegram = await services.purchases.start(BOB, "alice", "3", "telegram")
    assert [(r.rail, r.price) for r in on_telegram.requests] == [
        ("card", Money("usd", 450)),
        ("stars", Money("XTR", 225)),
    ]
    card.fail_requests = 1  # a provider down: its rail is left out
    degraded = await services.purchases.start(BOB, "alice", "3", "telegram")
    assert [r.rail for r in degraded.requests] == ["stars"]
    card.fail_requests = 1
    with pytest.raises(PaymentUnavailable):
        await services.purchases.start(BOB, "alice", "3", "test")


async def test_a_paid_purchase_is_minted_credited_and_told_once(
    services: Services, store: FakeStore, chain: FakeTokenChain, notifier: FakeNotifier
) -> None:
    await alice_token(services)
    purchase_id = await bought(services, 100)
    bob = user_id_of(store, BOB)
    assert store.purchases[purchase_id].state is State.COMPLETED
    assert held(store, bob) == 100 == on_chain(chain, store, bob)
    assert notifier.keys(bob) == ["purchase.completed"]
    assert [r for r in store.ledger] == [f"purchase:{purchase_id}"]
    await services.saga.advance(purchase_id)
    assert await services.saga.resume() == 0
    assert notifier.keys(bob) == ["purchase.completed"]


async def test_each_webhook_counts_once_however_often_it_comes(
    services: Services, store: FakeStore, chain: FakeTokenChain
) -> None:
    await alice_token(services)
    checkout = await services.purchases.start(BOB, "alice", "10", "test")
    purchase = checkout.purchase
    event = paid(purchase.id, purchase.price_cents)
    outcomes = [await services.purchases.payment_received(event) for _ in range(3)]
    assert [o.outcome for o in outcomes] == ["recorded", "duplicate", "duplicate"]
    again = paid(purchase.id, purchase.price_cents, event="evt_other")  # same payment, new event
    assert (await services.purchases.payment_received(again)).outcome == "duplicate"
    for _ in range(3):
        await services.saga.advance(purchase.id)
    bob = user_id_of(store, BOB)
    assert held(store, bob) == 10 == on_chain(chain, store, bob)


async def test_a_second_payment_of_a_paid_purchase_is_given_back(
    services: Services, store: FakeStore, card: FakePaymentGateway
) -> None:
    await alice_token(services)
    purchase_id = await bought(services, 10)
    second = paid(purchase_id, 1500, event="evt_2", ref="pi_second")
    assert (await services.purchases.payment_received(second)).outcome == "returned"
    assert card.refunds == {"pi_second": "re_1"}
    unknown = paid(999, 1500, event="evt_3", ref="pi_unknown")
    assert (await services.purchases.payment_received(unknown)).outcome == "returned"
    assert "pi_unknown" in card.refunds
    assert held(store, user_id_of(store, BOB)) == 10


async def test_a_wrong_amount_is_refunded_not_fulfilled(
    services: Services, store: FakeStore, card: FakePaymentGateway, notifier: FakeNotifier
) -> None:
    await alice_token(services)
    checkout = await services.purchases.start(BOB, "alice", "10", "test")
    purchase_id = checkout.purchase.id
    await services.purchases.payment_received(paid(purchase_id, 1))  # 1 cent for $15
    await services.saga.advance(purchase_id)
    bob = user_id_of(store, BOB)
    assert store.purchases[purchase_id].state is State.REFUNDED
    assert card.refunds == {"pi_1": "re_1"}
    assert held(store, bob) == 0
    assert notifier.keys(bob) == ["purchase.refunded"]


async def test_a_mint_refused_for_good_is_refunded(
    services: Services,
    store: FakeStore,
    chain: FakeTokenChain,
    card: FakePaymentGateway,
    notifier: FakeNotifier,
) -> None:
    await alice_token(services)
    chain.reject_next.append("mint")
    card.fail_refunds = 1  # and the provider is down at first
    purchase_id = await bought(services, 10)
    assert store.purchases[purchase_id].state is State.REFUNDING
    assert await services.saga.resume() == 1
    bob = user_id_of(store, BOB)
    assert store.purchases[purchase_id].state is State.REFUNDED
    assert card.refund_calls == 2
    assert len(card.refunds) == 1
    assert held(store, bob) == 0 == on_chain(chain, store, bob)
    assert notifier.keys(bob) == ["purchase.refunded"]


async def test_a_chain_outage_is_retried_then_refunded_after_max_attempts(
    services: Services, store: FakeStore, chain: FakeTokenChain
) -> None:
    await alice_token(services)
    chain.fail_next.append("mint")
    first = await bought(services, 10)
    assert store.purchases[first].state is State.PAID
    assert store.purchases[first].attempts == 1
    await services.saga.resume()
    assert store.purchases[first].state is State.COMPLETED
    chain.fail_next.extend(["mint"] * 10)
    second = await bought(services, 5, event="evt_2")
    for _ in range(9):
        await services.saga.resume()
    assert store.purchases[second].state is State.REFUNDED
    assert store.purchases[second].attempts == 10
    assert held(store, user_id_of(store, BOB)) == 10


async def test_a_provider_refund_claws_the_tokens_back(
    services: Services, store: FakeStore, chain: FakeTokenChain, notifier: FakeNotifier
) -> None:
    await alice_token(services)
    purchase_id = await bought(services, 100)
    reversal = PaymentReversed("card", "evt_r", f"pi_{purchase_id}", "dispute")
    for _ in range(3):
        advanced = await services.purchases.payment_reversed(reversal)
        if advanced is not None:
            await services.saga.advance(advanced)
    bob = user_id_of(store, BOB)
    assert store.purchases[purchase_id].state is State.CLAWED_BACK
    assert held(store, bob) == 0 == on_chain(chain, store, bob)
    assert notifier.keys(bob) == ["purchase.completed", "purchase.clawed_back"]
    assert sorted(store.ledger) == [f"clawback:{purchase_id}", f"purchase:{purchase_id}"]


async def test_a_refund_before_the_mint_takes_back_what_is_minted(
    services: Services, store: FakeStore, chain: FakeTokenChain, notifier: FakeNotifier
) -> None:
    await alice_token(services)
    purchase_id = await paid_purchase(services, 10)
    # Out of order: the refund's webhook is handled before the saga ran.
    await services.purchases.payment_reversed(PaymentReversed("card", "evt_r", "pi_1", "refund"))
    await services.saga.advance(purchase_id)
    bob = user_id_of(store, BOB)
    assert store.purchases[purchase_id].state is State.CLAWED_BACK
    assert held(store, bob) == 0 == on_chain(chain, store, bob)
    assert notifier.keys(bob) == ["purchase.clawed_back"]  # never told "they are yours"


async def test_a_refund_that_overtakes_its_payment_is_held_for_it(
    services: Services, store: FakeStore, chain: FakeTokenChain, notifier: FakeNotifier
) -> None:
    await alice_token(services)
    checkout = await services.purchases.start(BOB, "alice", "10", "test")
    purchase_id = checkout.purchase.id
    reversal = PaymentReversed("card", "evt_r", "pi_1", "dispute")
    assert await services.purchases.payment_reversed(reversal) is None  # no payment yet
    await services.purchases.payment_received(paid(purchase_id, 1500))
    await services.saga.advance(purchase_id)
    bob = user_id_of(store, BOB)
    assert store.purchases[purchase_id].reversal == "dispute"
    assert store.purchases[purchase_id].state is State.CLAWED_BACK
    assert held(store, bob) == 0 == on_chain(chain, store, bob)
    assert notifier.keys(bob) == ["purchase.clawed_back"]


async def test_an_unknown_outcome_on_the_last_attempt_is_not_refunded_if_it_landed(
    services: Services, store: FakeStore, chain: FakeTokenChain, card: FakePaymentGateway
) -> None:
    await alice_token(services)
    chain.fail_next.extend(["mint"] * 9)
    purchase_id = await bought(services, 10)
    for _ in range(8):
        await services.saga.resume()
    assert store.purchases[purchase_id].attempts == 9
    # The 10th attempt: sent and mined, but its receipt never came back.
    real_mint = chain.mint

    async def mined_then_lost(token: str, to: str, amount: int, reference: str) -> str | None:
        await real_mint(token, to, amount, reference)
        raise ChainError("no receipt in time (scripted)")

    chain.mint = mined_then_lost  # type: ignore[method-assign]
    await services.saga.resume()
    bob = user_id_of(store, BOB)
    assert store.purchases[purchase_id].state is State.COMPLETED
    assert card.refunds == {}
    assert held(store, bob) == 10 == on_chain(chain, store, bob)


async def test_a_refund_after_an_unrecorded_mint_still_claws_it_back(
    services: Services, store: FakeStore, chain: FakeTokenChain
) -> None:
    await alice_token(services)
    checkout = await services.purchases.start(BOB, "alice", "10", "test")
    purchase = checkout.purchase
    await services.purchases.payment_received(paid(purchase.id, 1500))
    # A crash right after the mint: on chain, not in the ledger.
    [token] = [e for e in store.entities.values() if e.type == "token"]
    bob = user_id_of(store, BOB)
    address = FakeWallets().custodial_address(bob)
    await chain.mint(token.properties["address"], address, 10, f"purchase:{purchase.id}")
    await services.purchases.payment_reversed(PaymentReversed("card", "evt_r", "pi_1", "refund"))
    await services.saga.advance(purchase.id)
    assert store.purchases[purchase.id].state is State.CLAWED_BACK
    assert held(store, bob) == 0 == on_chain(chain, store, bob)


async def test_pre_checkout_refuses_what_cannot_be_paid(services: Services) -> None:
    await alice_token(services)
    checkout = await services.purchases.start(BOB, "alice", "2", "telegram")
    payload = f"purchase:{checkout.purchase.id}"
    await services.purchases.check_payable(BOB, "stars", payload, Money("XTR", 150))
    with pytest.raises(PurchaseNotPayable):  # someone else's purchase
        await services.purchases.check_payable(CAROL, "stars", payload, Money("XTR", 150))
    with pytest.raises(PurchaseNotPayable):  # not the quoted price
        await services.purchases.check_payable(BOB, "stars", payload, Money("XTR", 1))
    for bad in ("purchase:999", "purchase:abc", "other:1", ""):
        with pytest.raises(PurchaseNotFound):
            await services.purchases.check_payable(BOB, "stars", bad, Money("XTR", 150))
    await services.purchases.payment_received(
        PaymentReceived("stars", "ch_1", checkout.purchase.id, "ch_1", Money("XTR", 150), "bob")
    )
    with pytest.raises(PurchaseNotPayable):  # paid already
        await services.purchases.check_payable(BOB, "stars", payload, Money("XTR", 150))


async def test_webhooks_that_never_arrived_are_recovered_from_the_provider(
    services: Services, store: FakeStore, card: FakePaymentGateway, chain: FakeTokenChain
) -> None:
    await alice_token(services)
    first = (await services.purchases.start(BOB, "alice", "4", "test")).purchase
    second = (await services.purchases.start(BOB, "alice", "6", "test")).purchase
    # Both were paid, the first one's webhook arrived, the second one's never did; then the
    # first was disputed, and that webhook was lost too.
    card.events = [
        paid(first.id, first.price_cents, "evt_1", "pi_a"),
        paid(second.id, second.price_cents, "evt_2", "pi_b"),
        PaymentReversed("card", "evt_3", "pi_a", "dispute"),
    ]
    await services.purchases.payment_received(card.events[0])  # type: ignore[arg-type]
    await services.saga.advance(first.id)
    for _ in range(2):  # the job runs again: nothing twice
        for purchase_id in await services.purchases.recover(timedelta(days=3)):
            await services.saga.advance(purchase_id)
    bob = user_id_of(store, BOB)
    assert store.purchases[first.id].state is State.CLAWED_BACK
    assert store.purchases[second.id].state is State.COMPLETED
    assert held(store, bob) == 6 == on_chain(chain, store, bob)


async def test_one_purchase_is_advanced_by_one_caller_at_a_time(
    services: Services, store: FakeStore, chain: FakeTokenChain, notifier: FakeNotifier
) -> None:
    await alice_token(services)
    purchase_id = await paid_purchase(services, 10)
    inside, most = 0, 0
    real_mint = chain.mint

    async def watched(token: str, to: str, amount: int, reference: str) -> str | None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.01)
        inside -= 1
        return await real_mint(token, to, amount, reference)

    chain.mint = watched  # type: ignore[method-assign]
    await asyncio.gather(*(services.saga.advance(purchase_id) for _ in range(5)))
    assert most == 1
    assert notifier.keys(user_id_of(store, BOB)) == ["purchase.completed"]


async def test_totals_a_rail_cannot_take_are_not_offered_on_it(
    services: Services, store: FakeStore, card: FakePaymentGateway, stars: FakePaymentGateway
) -> None:
    await alice_token(services)  # $1.50 a token
    stars.largest_cents = 20_000  # e.g. 10,000 Stars at 50 per dollar
    card.smallest_cents = 50
    big = await services.purchases.start(BOB, "alice", "200", "telegram")  # $300
    assert [r.rail for r in big.requests] == ["card"]
    with pytest.raises(AmountNotPayable):  # its Stars button, pressed anyway
        await services.purchases.request(BOB, big.purchase.id, "stars", "telegram")
    card.largest_cents = 1_000
    with pytest.raises(AmountNotPayable) as refused:
        await services.purchases.start(BOB, "alice", "700", "telegram")  # $1,050
    assert refused.value.params == {"least": 1, "most": 133}
    assert [p.amount for p in store.purchases.values()] == [200]
    with pytest.raises(PaymentUnavailable):  # Stars only exist on Telegram
        await services.purchases.request(BOB, big.purchase.id, "stars", "test")


async def test_a_crash_after_voiding_still_refunds_and_never_credits(
    services: Services, store: FakeStore, chain: FakeTokenChain, card: FakePaymentGateway
) -> None:
    await alice_token(services)
    checkout = await services.purchases.start(BOB, "alice", "3", "test")
    purchase = checkout.purchase
    await services.purchases.payment_received(paid(purchase.id, 450))
    # The last run voided the reference (its mint failed for good), then died before storing
    # REFUNDING: the purchase is still PAID.
    [token] = [e for e in store.entities.values() if e.type == "token"]
    assert await chain.void(token.properties["address"], f"purchase:{purchase.id}")
    await services.saga.advance(purchase.id)
    bob = user_id_of(store, BOB)
    assert store.purchases[purchase.id].state is State.REFUNDED
    assert card.refunds == {"pi_1": "re_1"}
    assert held(store, bob) == 0 == on_chain(chain, store, bob)
