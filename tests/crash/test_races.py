"""Faults that are not a crash: a receipt lost on the last attempt, two processes advancing one
purchase, a reversal racing its payment, a long outage. Each states the invariant at stake.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest

from bot import bootstrap
from bot.settings import load_settings
from core.errors import ChainError
from core.ports import TokenChain
from core.purchases import PurchaseState
from tests.crash import invariants
from tests.crash.faults import Faults
from tests.crash.shop import (
    MNEMONIC,
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
EVM = pytest.mark.parametrize("backend_database", ["evm"], indirect=True)
HANG_S = 2
POSTGRES = pytest.mark.parametrize("backend_database", ["fake-postgres"], indirect=True)


async def assert_invariants(backend: Backend, expected: dict[int, State]) -> None:
    """Checked by a freshly started app, as an operator's ``one-bot reconcile`` would."""
    async with AsyncExitStack() as stack:
        opened = await open_app(
            stack,
            settings_for(backend.url),
            Faults(),
            gateways=[backend.card],
            notifier=backend.notifier,
            chain=backend.chain,
            wallets=backend.wallets,
        )
        found = await invariants.problems(
            opened.database,
            {purchase_id: {state} for purchase_id, state in expected.items()},
            chain=opened.chain,
            wallets=opened.wallets,
            persistent=True,
            refunds=backend.card.refunds,
        )
    assert not found, "\n".join(found)


class FlakyMints:
    """A chain whose node is unreachable for the first ``down`` mints (nothing is sent); after
    that each mint is mined but, with ``lost_receipts``, its receipt never comes
    (``ChainError``: outcome unknown)."""

    def __init__(self, inner: TokenChain, down: int, *, lost_receipts: bool) -> None:
        self.inner = inner
        self._down = down
        self._lost_receipts = lost_receipts

    async def deploy_token(self, name: str, symbol: str) -> str:
        return await self.inner.deploy_token(name, symbol)

    async def mint(self, token: str, to: str, amount: int, reference: str) -> str | None:
        if self._down:
            self._down -= 1
            raise ChainError("the chain does not answer (scripted)")
        tx = await self.inner.mint(token, to, amount, reference)
        if self._lost_receipts:
            raise ChainError(f"mint ({reference}): no receipt after 60 s (it may still be mined)")
        return tx

    async def burn(self, token: str, holder: str, amount: int, reference: str) -> str | None:
        return await self.inner.burn(token, holder, amount, reference)

    async def void(self, token: str, reference: str) -> bool:
        return await self.inner.void(token, reference)

    async def balance_of(self, token: str, holder: str) -> int:
        return await self.inner.balance_of(token, holder)

    async def applied(self, token: str, reference: str) -> bool:
        return await self.inner.applied(token, reference)


@EVM
async def test_a_mint_mined_on_the_last_attempt_is_credited_not_refunded(
    backend: Backend,
) -> None:
    assert backend.chain is not None
    attempts = 10  # the saga's max_attempts
    async with AsyncExitStack() as stack:
        opened = await open_app(
            stack,
            settings_for(backend.url),
            Faults(),
            gateways=[backend.card],
            notifier=backend.notifier,
            chain=FlakyMints(backend.chain, down=attempts - 1, lost_receipts=True),
            wallets=backend.wallets,
        )
        services = opened.app.services
        await ensure_token(services)
        [p] = await start_purchases(services, "fan", 1)
        await on_paid(services, payment(p))  # the first attempt
        for _ in range(attempts - 1):  # the resume job, every 30 s
            await services.saga.resume()
    # Paid and minted on chain: it must end credited, not refunded with the tokens kept.
    await assert_invariants(backend, {p.id: State.COMPLETED})


@EVM
async def test_one_bot_resume_beside_the_running_bot_as_a_reversal_arrives(
    backend: Backend,
) -> None:
    """Two processes on one database: ``one-bot resume`` is about to mint a paid purchase when
    the running bot records its reversal and advances it (mint, credit, clawback) first."""
    gate = asyncio.Event()
    beside = Faults(gates={"mint:before": gate})
    settings = settings_for(backend.url)
    async with AsyncExitStack() as stack:
        bot, resume = [
            await open_app(
                stack,
                settings,
                faults,
                gateways=[backend.card],
                notifier=backend.notifier,
                chain=backend.chain,
                wallets=backend.wallets,
            )
            for faults in (Faults(), beside)
        ]
        await ensure_token(bot.app.services)
        [p] = await start_purchases(bot.app.services, "fan", 1)
        await bot.app.services.purchases.payment_received(payment(p))
        minting = asyncio.create_task(resume.app.services.saga.advance(p.id))
        async with asyncio.timeout(10):
            await beside.arrived("mint:before").wait()
        await on_reversed(bot.app.services, reversal(p))
        gate.set()
        try:
            async with asyncio.timeout(HANG_S):
                await minting
                await resume.app.services.saga.resume()
        except TimeoutError:
            pytest.fail(f"one-bot resume hung: its advance did not return in {HANG_S} s")
    await assert_invariants(backend, {p.id: State.CLAWED_BACK})


@POSTGRES
async def test_a_reversal_racing_its_payment(backend: Backend) -> None:
    gate = asyncio.Event()
    faults = Faults(gates={"commit:paid:before": gate})
    async with AsyncExitStack() as stack:
        opened = await open_app(
            stack,
            settings_for(backend.url),
            faults,
            gateways=[backend.card],
            notifier=backend.notifier,
            chain=backend.chain,
            wallets=backend.wallets,
        )
        services = opened.app.services
        await ensure_token(services)
        [p] = await start_purchases(services, "fan", 1)
        # The payment's webhook is being recorded (its transaction not committed yet) …
        paying = asyncio.create_task(on_paid(services, payment(p)))
        async with asyncio.timeout(10):
            await faults.arrived("commit:paid:before").wait()
        # … when the refund's webhook comes, on another connection, and commits.
        await on_reversed(services, reversal(p))
        gate.set()
        await paying
        backend.card.events = [payment(p), reversal(p)]
        await bootstrap.recover_and_advance(services)
        await services.saga.resume()
    await assert_invariants(backend, {p.id: State.CLAWED_BACK})


@EVM
async def test_the_configured_mint_attempts_end_an_outage_in_a_refund(backend: Backend) -> None:
    assert backend.chain is not None
    settings = load_settings(
        environ={
            "ONE_BOT__DATABASE__URL": backend.url,
            "ONE_BOT__CHAIN__MNEMONIC": MNEMONIC,
            "ONE_BOT__PAYMENTS__MINT_ATTEMPTS": "2",
        }
    )
    async with AsyncExitStack() as stack:
        opened = await open_app(
            stack,
            settings,
            Faults(),
            gateways=[backend.card],
            notifier=backend.notifier,
            chain=FlakyMints(backend.chain, down=100, lost_receipts=False),
            wallets=backend.wallets,
        )
        services = opened.app.services
        await ensure_token(services)
        [p] = await start_purchases(services, "fan", 1)
        await on_paid(services, payment(p))  # attempt 1
        await services.saga.resume()  # attempt 2 of 2: refunded
    await assert_invariants(backend, {p.id: State.REFUNDED})
