"""30 fans buy at once; the provider's webhooks arrive 0, 1 or 3 times, concurrently, and late.

Each purchase gets one delivery pattern (by its index, in a shuffled order): unpaid; paid and
the webhook delivered once, three times at once, or never (found again in the provider's event
list by ``recover``); paid the wrong amount (refunded); paid twice (the second payment is
given back); reversed (refunded or disputed at the provider) while its saga runs, with the
reversal delivered once, three times, or never — or delivered BEFORE its payment. Every
delivery does what the webhook route does: record, then advance the purchase. Then
``recover`` and ``resume`` run, as a starting bot's jobs do, and the invariants must hold:
paid ⇒ minted and credited exactly once, or clawed back when reversed (even before the saga
minted it), or refunded when the amount was wrong; unpaid ⇒ never minted; ledger = chain.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest

from bot import bootstrap
from core.purchases import Money, PaymentReceived, PaymentReversed, Purchase, PurchaseState
from tests.crash import invariants
from tests.crash.faults import Faults
from tests.crash.shop import (
    Backend,
    ensure_token,
    on_paid,
    on_reversed,
    open_app,
    payment,
    reversal,
    settings_for,
    start_purchases,
)

State = PurchaseState
FANS = 30
REVERSED = frozenset({State.CLAWED_BACK})


@dataclass(frozen=True)
class Pattern:
    pays: int  # deliveries of the payment webhook (0: only in the provider's event list)
    outcome: frozenset[State]
    reversals: int | None = None  # deliveries of a reversal, if the payment is reversed
    wrong_amount: bool = False
    paid_twice: bool = False
    reversal_first: bool = False  # the reversal's webhook comes before the payment's


PATTERNS = (
    Pattern(0, frozenset({State.PENDING})),  # never paid: nothing in the provider's list
    Pattern(1, frozenset({State.COMPLETED})),
    Pattern(3, frozenset({State.COMPLETED})),
    Pattern(0, frozenset({State.COMPLETED})),
    Pattern(1, REVERSED, reversals=1),
    Pattern(3, REVERSED, reversals=3),
    Pattern(0, REVERSED, reversals=0),
    Pattern(1, frozenset({State.REFUNDED}), wrong_amount=True),
    Pattern(3, frozenset({State.COMPLETED}), paid_twice=True),
    Pattern(1, REVERSED, reversals=0),
    Pattern(1, REVERSED, reversals=1, reversal_first=True),
    Pattern(0, REVERSED, reversals=3, reversal_first=True),
)


def paid_event(p: Purchase, pattern: Pattern) -> PaymentReceived:
    event = payment(p)
    if pattern.wrong_amount:
        return PaymentReceived(
            event.rail, event.event_id, p.id, event.payment_ref, Money("usd", p.price_cents - 1)
        )
    return event


def second_payment(p: Purchase) -> PaymentReceived:
    return payment(p, ref=f"pi_{p.id}_again")


@pytest.mark.parametrize("backend_database", ["evm", "fake-postgres"], indirect=True)
async def test_webhooks_0_1_3_times_concurrent_and_late(backend: Backend) -> None:
    shuffle = random.Random(20260301).shuffle
    settings = settings_for(backend.url)
    history: list[PaymentReceived | PaymentReversed] = []  # what the provider lists
    async with AsyncExitStack() as stack:
        opened = await open_app(
            stack,
            settings,
            Faults(),
            gateways=[backend.card],
            notifier=backend.notifier,
            chain=backend.chain,
            wallets=backend.wallets,
        )
        services = opened.app.services
        await ensure_token(services)
        bought = await start_purchases(services, "fan", FANS)
        plan = {p.id: PATTERNS[i % len(PATTERNS)] for i, p in enumerate(bought)}

        async def deliver_paid(
            event: PaymentReceived, first: asyncio.Event | None, done: asyncio.Event
        ) -> None:
            if first is not None:
                await first.wait()
            outcome = await services.purchases.payment_received(event)
            done.set()
            if outcome.outcome == "recorded" and outcome.purchase_id is not None:
                await services.saga.advance(outcome.purchase_id, outcome.purchase)

        async def deliver_reversal(
            event: PaymentReversed, first: asyncio.Event | None, done: asyncio.Event
        ) -> None:
            if first is not None:
                await first.wait()  # after the payment was recorded: its saga may be minting
            await on_reversed(services, event)
            done.set()

        deliveries: list[Awaitable[None]] = []
        for p in bought:
            pattern = plan[p.id]
            if pattern.outcome == {State.PENDING}:
                continue
            paid, recorded, reversed_ = paid_event(p, pattern), asyncio.Event(), asyncio.Event()
            history.append(paid)
            paid_after = reversed_ if pattern.reversal_first else None
            deliveries += [deliver_paid(paid, paid_after, recorded) for _ in range(pattern.pays)]
            if pattern.paid_twice:
                history.append(second_payment(p))
                deliveries.append(on_paid(services, second_payment(p)))
            if pattern.reversals is not None:
                event = reversal(p, "dispute" if p.id % 2 else "refunded")
                history.append(event)
                # A payment never delivered has its reversal found in the list with it.
                reversal_after = None if pattern.reversal_first else recorded
                if pattern.pays or pattern.reversal_first:
                    deliveries += [
                        deliver_reversal(event, reversal_after, reversed_)
                        for _ in range(pattern.reversals)
                    ]
        shuffle(deliveries)
        async with asyncio.timeout(60):
            await asyncio.gather(*deliveries)

        # The bot restarts its jobs: webhooks that never came are found in the provider's list.
        backend.card.events = history
        await bootstrap.recover_and_advance(services)
        await services.saga.resume()
        assert await services.saga.resume() == 0, "a purchase is still owed a step"

        rows = await invariants.purchase_rows(opened.database)
        # Whichever of the two payments came second paid nothing, and is given back.
        returned = [
            ref
            for p in bought
            if plan[p.id].paid_twice
            for ref in (f"pi_{p.id}", f"pi_{p.id}_again")
            if ref != rows[p.id]["payment_ref"]
        ]
        found = await invariants.problems(
            opened.database,
            {p.id: plan[p.id].outcome for p in bought},
            chain=opened.chain,
            wallets=opened.wallets,
            persistent=True,
            refunds=backend.card.refunds,
            returned=returned,
        )
    assert not found, "\n".join(found)
    ended = {State(row["state"]) for row in rows.values()}
    assert ended >= {State.PENDING, State.COMPLETED, State.REFUNDED, State.CLAWED_BACK}
