"""A crash (a raised ``SimulatedCrash``) at every step boundary of the saga, then a restart.

Two fans buy at once; the second passage of the chosen boundary crashes the app, and every
boundary after it crashes too (a dead process takes no further step). Then a NEW app is built
on the same database — as a restarted process — and does what a starting bot does: it
processes the provider's event list (webhooks that were never acknowledged) and resumes the
saga. Afterwards every invariant of :mod:`tests.crash.invariants` must hold.

Backends: ``evm`` — SQLite and the real token contract on the embedded EVM, the same chain
object before and after the restart (as on a JSON-RPC node, where a mint made just before the
crash is still there); ``rebuilt`` — SQLite, and the restarted app opens a fresh embedded chain
rebuilt from the ledger (as ``one-bot`` does without ``chain.rpc_url``); ``fake-postgres`` —
PostgreSQL (when ``ONE_BOT_TEST_POSTGRES_URL`` is set) with the fake chain, kept across.
"""

from __future__ import annotations

from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from bot import bootstrap
from core.purchases import PaymentReceived, PaymentReversed, Purchase, PurchaseState
from core.services.saga import NOTICES
from tests.crash import invariants
from tests.crash.faults import Faults
from tests.crash.shop import (
    Backend,
    Opened,
    all_at_once,
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
FANS = 2
NTH = 2  # crash at the second passage: one purchase is further on, one behind


@dataclass(frozen=True)
class Scenario:
    """What the fans do once the crash is armed, and how their purchases must end."""

    act: str  # "pay", "reverse" (completed purchases are reversed), "pay_twice", "pay_reversed"
    points: tuple[str, ...]
    outcomes: frozenset[State]
    rejected: bool = False  # the chain refuses every mint for good: each is refunded


SCENARIOS = {
    "buy": Scenario(
        "pay",
        (
            "commit:paid:before",
            "commit:paid:after",
            "mint:before",
            "mint:after",
            "commit:completed:before",
            "commit:completed:after",
            "notify:before",
            "notify:after",
            "commit:notified:before",
            "commit:notified:after",
        ),
        frozenset({State.COMPLETED}),
    ),
    "refund": Scenario(
        "pay",
        (
            "mint:before",
            "void:before",
            "void:after",
            "commit:refunding:before",
            "commit:refunding:after",
            "refund:before",
            "refund:after",
            "commit:refunded:before",
            "commit:refunded:after",
            "notify:after",
        ),
        frozenset({State.REFUNDED}),
        rejected=True,
    ),
    "clawback": Scenario(
        "reverse",
        (
            "commit:reversal:before",
            "commit:reversal:after",
            "commit:clawing_back:before",
            "commit:clawing_back:after",
            "burn:before",
            "burn:after",
            "commit:clawed_back:before",
            "commit:clawed_back:after",
            "notify:after",
        ),
        frozenset({State.CLAWED_BACK}),
    ),
    # Paid, then reversed before the saga minted anything: minted, credited, clawed back.
    "reversed_before_mint": Scenario(
        "pay_reversed",
        (
            "commit:reversal:before",
            "commit:reversal:after",
            "mint:after",
            "commit:completed:after",
            "commit:clawing_back:after",
            "burn:after",
            "notify:after",
        ),
        frozenset({State.CLAWED_BACK}),
    ),
    # A second payment of a completed purchase pays nothing: it is given back.
    "returned": Scenario(
        "pay_twice", ("refund:before", "refund:after"), frozenset({State.COMPLETED})
    ),
}
# Crashed mid-purchase, and the payments were reversed while the bot was down: the restarted
# bot mints (or finds the mint already there), credits, then claws back.
DOWN_THEN_REVERSED = Scenario(
    "pay",
    ("mint:after", "commit:completed:after"),
    frozenset({State.CLAWED_BACK}),
)
EVERY_POINT = [(name, point) for name, s in SCENARIOS.items() for point in s.points] + [
    ("down_then_reversed", point) for point in DOWN_THEN_REVERSED.points
]
# Where a restart on a fresh embedded chain differs from one on a chain that kept everything:
# a mint or burn made by the dead process and not yet in the ledger.
CHAIN_WRITTEN = [
    ("buy", "mint:after"),
    ("buy", "commit:completed:before"),
    ("clawback", "burn:after"),
    ("clawback", "commit:clawed_back:before"),
    *[("down_then_reversed", point) for point in DOWN_THEN_REVERSED.points],
]
# A crash after a failed mint's reference is voided and before REFUNDING is stored (these
# boundaries, or one purchase's crash while another is between the two): the restarted saga's
# mint reverts on the used reference, is taken for "minted already", and credited — tokens in
# the ledger that the chain never minted, and no refund. On a chain that survives the crash.


def cases(backend: str, chosen: list[tuple[str, str]], persistent: bool) -> list[Any]:
    return [
        pytest.param(
            backend,
            *case,
            id=f"{backend}-{case[0]}-{case[1]}",
        )
        for case in chosen
    ]


CASES = [
    *cases("evm", EVERY_POINT, persistent=True),
    *cases("rebuilt", CHAIN_WRITTEN, persistent=False),
    *cases("fake-postgres", EVERY_POINT, persistent=True),
]


def provider_events(
    scenario: Scenario, bought: list[Purchase]
) -> list[PaymentReceived | PaymentReversed]:
    """Everything the provider reported, oldest first (its list of recent events)."""
    events: list[PaymentReceived | PaymentReversed] = [payment(p) for p in bought]
    if scenario.act == "pay_twice":
        events += [payment(p, ref=f"pi_{p.id}_again") for p in bought]
    if scenario.act in ("reverse", "pay_reversed") or scenario is DOWN_THEN_REVERSED:
        events += [reversal(p) for p in bought]
    return events


async def crash_then_recover(backend: Backend, scenario: Scenario, point: str) -> None:
    settings = settings_for(backend.url)
    faults = Faults(point, NTH, armed=False)
    rejected = (lambda reference: True) if scenario.rejected else (lambda reference: False)

    def process(stack: AsyncExitStack, faults: Faults) -> Awaitable[Opened]:
        return open_app(
            stack,
            settings,
            faults,
            gateways=[backend.card],
            notifier=backend.notifier,
            chain=backend.chain,
            wallets=backend.wallets,
            reject=rejected,
        )

    async with AsyncExitStack() as stack:  # the process that crashes
        first = await process(stack, faults)
        services = first.app.services
        await ensure_token(services)
        bought = await start_purchases(services, "fan", FANS)
        if scenario.act in ("reverse", "pay_twice"):  # completed before the crash is armed
            for p in bought:
                await on_paid(services, payment(p))
        if scenario.act == "pay_reversed":
            for p in bought:
                await services.purchases.payment_received(payment(p))
        faults.armed = True
        if scenario.act == "pay":
            await all_at_once(*(on_paid(services, payment(p)) for p in bought))
        elif scenario.act == "pay_twice":
            again = (on_paid(services, payment(p, ref=f"pi_{p.id}_again")) for p in bought)
            await all_at_once(*again)
        else:
            await all_at_once(*(on_reversed(services, reversal(p)) for p in bought))
        assert faults.crashed_at == point, f"never reached {point}: passed {faults.passed}"

    backend.card.events = provider_events(scenario, bought)
    async with AsyncExitStack() as stack:  # the restarted process
        second = await process(stack, Faults())
        services = second.app.services
        await bootstrap.recover_and_advance(services)
        await services.saga.resume()
        assert await services.saga.resume() == 0, "a purchase is still owed a step"
        returned = [f"pi_{p.id}_again" for p in bought] if scenario.act == "pay_twice" else []
        found = await invariants.problems(
            second.database,
            {p.id: scenario.outcomes for p in bought},
            chain=second.chain,
            wallets=second.wallets,
            persistent=backend.chain is not None,
            refunds=backend.card.refunds,
            returned=returned,
        )
        rows = await invariants.purchase_rows(second.database)
    told = {(person, key) for person, key, _ in backend.notifier.sent}
    for row in rows.values():
        if (row["fan_id"], NOTICES[State(row["state"])]) not in told:
            found.append(f"purchase {row['id']}: the fan was never told it is {row['state']}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("backend_database", "scenario", "point"), CASES, indirect=["backend_database"]
)
async def test_a_crash_at_each_boundary_is_recovered(
    backend: Backend, scenario: str, point: str
) -> None:
    chosen = DOWN_THEN_REVERSED if scenario == "down_then_reversed" else SCENARIOS[scenario]
    await crash_then_recover(backend, chosen, point)
